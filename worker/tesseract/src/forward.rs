//! The int8 forward pass, arithmetic for arithmetic as libtesseract runs it: int8 activations with
//! an implicit scale of 1/127, exact i32 sums of int8 products, float32 gates from interpolated
//! lookup tables, and the pseudo-random values the convolution reads beyond the image's edges.

use std::sync::{Mutex, OnceLock, RwLock};

use rayon::prelude::*;

use crate::kernels::{Operand, PackedRows};
use crate::lockstep;
use crate::network::{LineLstm, Network, WeightMatrix};

/// A line's network input: `height × width` int8 pixels, row-major (dark ink near −127).
pub(crate) struct NetworkInput {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) pixels: Vec<i8>,
}

/// The network's output for a line: per timestep (one per 3 pixels of the scaled line), a
/// probability for each class, the CTC blank included.
#[derive(Debug, Clone, PartialEq)]
pub struct Probabilities {
    pub(crate) timesteps: usize,
    pub(crate) classes: usize,
    pub(crate) values: Vec<f32>,
}

impl Probabilities {
    pub fn timesteps(&self) -> usize {
        self.timesteps
    }

    /// Each class's probability at timestep `t`.
    pub fn row(&self, t: usize) -> &[f32] {
        &self.values[t * self.classes..(t + 1) * self.classes]
    }

    /// The most probable class at `t` among those `allowed`; the first of equals, as Tesseract
    /// picks it.
    pub(crate) fn best(&self, t: usize, allowed: impl Fn(usize) -> bool) -> (usize, f32) {
        let mut best = (0, f32::MIN);
        for (class, &p) in self.row(t).iter().enumerate() {
            if p > best.1 && allowed(class) {
                best = (class, p);
            }
        }
        best
    }
}

/// A fully connected layer as the forward pass runs it: its rows packed for the kernels, the bias
/// times 127 (libtesseract's bias input is 1.0 as int8, 127), and each row's scale.
#[derive(Debug, Clone)]
pub(crate) struct Dense {
    pub(crate) outputs: usize,
    pub(crate) inputs: usize,
    rows: PackedRows,
    bias: Vec<i32>,
    scales: Vec<f32>,
}

impl Dense {
    pub(crate) fn new(matrix: &WeightMatrix) -> Dense {
        Dense {
            outputs: matrix.rows,
            inputs: matrix.inputs,
            rows: PackedRows::new(
                matrix.inputs,
                matrix.rows,
                (0..matrix.rows).map(|row| &matrix.row(row)[..matrix.inputs]),
            ),
            bias: (0..matrix.rows).map(|row| i32::from(matrix.row(row)[matrix.inputs]) * 127).collect(),
            scales: matrix.scales.clone(),
        }
    }

    /// `output[i] = f32(Σ_j w_ij·x_j + 127·bias_i) · scale_i`, as libtesseract's int8 kernels compute it;
    /// `sums` is scratch, as long as the padded rows.
    fn apply(&self, input: &Operand, sums: &mut [i32], output: &mut [f32]) {
        self.rows.sums(0, input, sums);
        for (((out, &sum), &bias), &scale) in output.iter_mut().zip(sums.iter()).zip(&self.bias).zip(&self.scales) {
            *out = (sum + bias) as f32 * scale;
        }
    }

    fn scratch(&self) -> (Operand, Vec<i32>, Vec<f32>) {
        (Operand::new(self.inputs), vec![0; self.rows.padded_rows()], vec![0.0; self.outputs])
    }
}

/// An LSTM's four gates as the forward pass runs them. The rows are interleaved by cell (cell
/// input, input gate, forget gate and output gate of cell 0, then of cell 1, …), so one kernel
/// call's four rows are one cell's gates, and a range of cells is a range of rows. Each row is
/// split in two: the part over the layer's input, which with the bias can be summed for every step
/// at once, and the part over the layer's own previous output, which cannot. Their i32 sums add to
/// the file's row sum exactly.
#[derive(Debug, Clone)]
pub(crate) struct LstmGates {
    pub(crate) inputs: usize,
    pub(crate) cells: usize,
    input: PackedRows,
    recurrent: PackedRows,
    bias: Vec<i32>,
    scales: Vec<f32>,
}

impl LstmGates {
    /// From the file's four gate matrices, in its order: cell input, input, forget, output.
    pub(crate) fn new(inputs: usize, cells: usize, gates: [&WeightMatrix; GATES]) -> LstmGates {
        let rows = || (0..cells).flat_map(move |cell| gates.map(|gate| gate.row(cell)));
        LstmGates {
            inputs,
            cells,
            input: PackedRows::new(inputs, GATES * cells, rows().map(|row| &row[..inputs])),
            recurrent: PackedRows::new(cells, GATES * cells, rows().map(|row| &row[inputs..inputs + cells])),
            bias: rows().map(|row| i32::from(row[inputs + cells]) * 127).collect(),
            scales: (0..cells).flat_map(|cell| gates.iter().map(move |gate| gate.scales[cell])).collect(),
        }
    }

    /// Every row's sum over the layer's input, with its bias: the half of a timestep's sums that
    /// does not depend on the previous step.
    fn input_sums(&self, input: &Operand, sums: &mut [i32]) {
        self.input.sums(0, input, sums);
        for (sum, &bias) in sums.iter_mut().zip(&self.bias) {
            *sum += bias;
        }
    }
}

/// Gates per LSTM cell.
pub(crate) const GATES: usize = 4;

/// Tesseract's `IntCastRounded` on a float: halves round away from zero.
fn round_half_away(x: f32) -> i32 {
    if x >= 0.0 { (x + 0.5) as i32 } else { -((-x + 0.5) as i32) }
}

/// A float activation in −1..1 as the int8 the next layer reads.
fn quantise(x: f32) -> i8 {
    round_half_away(x * 127.0).clamp(-127, 127) as i8
}

/// Entries in each lookup table, at steps of 1/256: inputs at or beyond 4095/256 saturate.
const TABLE_SIZE: usize = 4096;
const TABLE_SCALE: f32 = 256.0;

/// Fixed-size tables: an index checked against `TABLE_SIZE` needs no further bounds check. The
/// lookups are a quarter of a line's time natively (perf, English), so they are inlined.
struct Tables {
    tanh: Box<[f32; TABLE_SIZE]>,
    logistic: Box<[f32; TABLE_SIZE]>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let step = |i: usize| i as f64 / TABLE_SCALE as f64;
        Tables {
            tanh: Box::new(std::array::from_fn(|i| step(i).tanh() as f32)),
            logistic: Box::new(std::array::from_fn(|i| (1.0 / (1.0 + (-step(i)).exp())) as f32)),
        }
    })
}

/// Linear interpolation in a table for x ≥ 0.
#[inline(always)]
fn interpolate(table: &[f32; TABLE_SIZE], x: f32) -> f32 {
    let x = x * TABLE_SCALE;
    let index = x as usize;
    if index >= TABLE_SIZE - 1 {
        return 1.0;
    }
    let (low, high) = (table[index], table[index + 1]);
    low + (high - low) * (x - index as f32)
}

impl Tables {
    #[inline(always)]
    fn tanh(&self, x: f32) -> f32 {
        // Looked up before the sign is tested, so the test can be a select rather than a branch
        // (the signs are random: a branch was mispredicted).
        let magnitude = interpolate(&self.tanh, x.abs());
        if x < 0.0 { -magnitude } else { magnitude }
    }

    #[inline(always)]
    fn logistic(&self, x: f32) -> f32 {
        let magnitude = interpolate(&self.logistic, x.abs());
        if x < 0.0 { 1.0 - magnitude } else { magnitude }
    }
}

/// `std::minstd_rand` as Tesseract seeds it for each line: the values beyond the image's edges are
/// part of the model's arithmetic (zeros instead changed probabilities by up to 0.67).
struct BorderNoise {
    state: u64,
}

impl BorderNoise {
    const MODULUS: u64 = 2_147_483_647;

    fn new(sample_iteration: i32) -> BorderNoise {
        // `sample_iteration · 0x10000001` in 64 bits, reduced modulo 2³¹−1 without first being cut
        // to 32 bits (the engine's state type is 64-bit on x86-64 glibc); then one draw is discarded.
        let seed = i64::from(sample_iteration).wrapping_mul(0x1000_0001) as u64 % Self::MODULUS;
        let mut noise = BorderNoise { state: if seed == 0 { 1 } else { seed } };
        noise.draw();
        noise
    }

    fn draw(&mut self) -> u64 {
        self.state = self.state * 48271 % Self::MODULUS;
        self.state
    }

    /// `IntCastRounded(SignedRand(127))`: uniform in −127..127, computed in double.
    fn value(&mut self) -> i8 {
        let x = 127.0 * 2.0 * self.draw() as f64 / f64::from(i32::MAX) - 127.0;
        (if x >= 0.0 { (x + 0.5) as i32 } else { -((-x + 0.5) as i32) }) as i8
    }
}

/// Pixels per parallel task in the convolution, and timesteps per task in the output layer: big
/// enough that a task outweighs handing it to another thread.
const PIXELS_PER_TASK: usize = 512;
const TIMESTEPS_PER_TASK: usize = 16;

/// Multiply-adds per timestep (over the recurrent part) from which an LSTM's timesteps are split
/// across threads. Published models' line LSTMs have 96 cells or more, 36,864 multiply-adds a step:
/// in lockstep on 2 threads, such a layer took 1.04 ms of an English line natively instead of 1.40.
/// Smaller layers, which no published model has, stay on one thread.
const LOCKSTEP_WORK: usize = 1 << 15;

/// The convolution's window around each pixel, fed to its tanh layer. Out-of-image neighbours take
/// the next noise values in output-raster order, a whole out-of-image column of the window at once,
/// so the windows are gathered in that order first; the tanh layer then runs on them in parallel.
fn convolve(network: &Network, input: &NetworkInput) -> Vec<i8> {
    let (width, height) = (input.width, input.height);
    let (half_x, half_y) = (network.conv_half_x as isize, network.conv_half_y as isize);
    let layer = &network.conv_tanh;
    let mut noise = BorderNoise::new(network.sample_iteration);
    let mut windows = vec![0i8; width * height * layer.inputs];
    let mut pixel_windows = windows.chunks_exact_mut(layer.inputs);
    for y in 0..height as isize {
        let rows_inside = y >= half_y && y + half_y < height as isize;
        for x in 0..width as isize {
            let window = pixel_windows.next().expect("a window per pixel");
            let offsets = (-half_x..=half_x).flat_map(|dx| (-half_y..=half_y).map(move |dy| (dx, dy)));
            if rows_inside && x >= half_x && x + half_x < width as isize {
                // Most pixels: the whole window is inside, and no noise is drawn.
                for (value, (dx, dy)) in window.iter_mut().zip(offsets) {
                    *value = input.pixels[(y + dy) as usize * width + (x + dx) as usize];
                }
                continue;
            }
            for (value, (dx, dy)) in window.iter_mut().zip(offsets) {
                let (column, row) = (x + dx, y + dy);
                let inside = (0..width as isize).contains(&column) && (0..height as isize).contains(&row);
                *value = if inside { input.pixels[row as usize * width + column as usize] } else { noise.value() };
            }
        }
    }
    let features = layer.outputs;
    let mut output = vec![0i8; width * height * features];
    output
        .par_chunks_mut(PIXELS_PER_TASK * features)
        .zip(windows.par_chunks(PIXELS_PER_TASK * layer.inputs))
        .for_each_init(
            || layer.scratch(),
            |(operand, sums, activations), (output, windows)| {
                let tables = tables();
                for (output, window) in output.chunks_exact_mut(features).zip(windows.chunks_exact(layer.inputs)) {
                    operand.set(window);
                    layer.apply(operand, sums, activations);
                    for (out, &a) in output.iter_mut().zip(activations.iter()) {
                        *out = quantise(tables.tanh(a));
                    }
                }
            },
        );
    output
}

/// Max over each `pool_x × pool_y` block; a partial block at the right or bottom edge is dropped.
/// The result is column by column (`(x · height + y) · features`), the order the column LSTM reads.
fn max_pool(network: &Network, map: &[i8], width: usize, height: usize) -> (Vec<i8>, usize, usize) {
    let features = network.conv_tanh.outputs;
    let (pooled_width, pooled_height) = (width / network.pool_x, height / network.pool_y);
    let mut pooled = vec![i8::MIN; pooled_width * pooled_height * features];
    for x in 0..pooled_width {
        for y in 0..pooled_height {
            let out = &mut pooled[(x * pooled_height + y) * features..][..features];
            for source_y in y * network.pool_y..(y + 1) * network.pool_y {
                for source_x in x * network.pool_x..(x + 1) * network.pool_x {
                    let source = &map[(source_y * width + source_x) * features..][..features];
                    for (o, &s) in out.iter_mut().zip(source) {
                        *o = (*o).max(s);
                    }
                }
            }
        }
    }
    (pooled, pooled_width, pooled_height)
}

/// One cell range's update at one timestep, given its gates' sums over the input (bias included)
/// and over the previous output, four per cell.
fn update_cells(
    gates: &LstmGates,
    first_cell: usize,
    input_sums: &[i32],
    recurrent_sums: &[i32],
    cell: &mut [f32],
    output: &mut [i8],
) {
    let scales = &gates.scales[first_cell * GATES..];
    let tables = tables();
    let gates = input_sums.chunks_exact(GATES).zip(recurrent_sums.chunks_exact(GATES)).zip(scales.chunks_exact(GATES));
    for ((c, out), ((input, recurrent), scales)) in cell.iter_mut().zip(output).zip(gates) {
        let gate = |g: usize| (input[g] + recurrent[g]) as f32 * scales[g];
        let ci = tables.tanh(gate(0));
        let gi = tables.logistic(gate(1));
        let gf = tables.logistic(gate(2));
        let go = tables.logistic(gate(3));
        // The state stays float and is clipped to ±100, as libtesseract does.
        let mut state = *c * gf;
        state += ci * gi;
        state = state.clamp(-100.0, 100.0);
        *c = state;
        *out = quantise(tables.tanh(state) * go);
    }
}

/// One LSTM's state while it runs over a sequence, one timestep after another on this thread.
struct LstmRun<'a> {
    gates: &'a LstmGates,
    input: Operand,
    recurrent: Operand,
    input_sums: Vec<i32>,
    recurrent_sums: Vec<i32>,
    cell: Vec<f32>,
    output: Vec<i8>,
}

impl<'a> LstmRun<'a> {
    fn new(gates: &'a LstmGates) -> LstmRun<'a> {
        let rows = GATES * gates.cells;
        LstmRun {
            gates,
            input: Operand::new(gates.inputs),
            recurrent: Operand::new(gates.cells),
            input_sums: vec![0; rows],
            recurrent_sums: vec![0; rows],
            cell: vec![0.0; gates.cells],
            output: vec![0; gates.cells],
        }
    }

    /// Zero state and output, as at the start of every sequence.
    fn reset(&mut self) {
        self.cell.fill(0.0);
        self.output.fill(0);
    }

    /// One timestep; returns the int8 output, which is also the next step's recurrent input.
    fn step(&mut self, input: &[i8]) -> &[i8] {
        let gates = self.gates;
        self.input.set(input);
        gates.input_sums(&self.input, &mut self.input_sums);
        self.recurrent.set(&self.output);
        gates.recurrent.sums(0, &self.recurrent, &mut self.recurrent_sums);
        update_cells(gates, 0, &self.input_sums, &self.recurrent_sums, &mut self.cell, &mut self.output);
        &self.output
    }
}

/// The column LSTM down every column of the pooled map (stored column by column), keeping each
/// column's last output: the columns are independent, so they run in parallel.
fn summarise_columns(gates: &LstmGates, pooled: &[i8], width: usize, height: usize) -> Vec<i8> {
    let mut summaries = vec![0i8; width * gates.cells];
    summaries.par_chunks_mut(gates.cells).zip(pooled.par_chunks(height * gates.inputs)).for_each_init(
        || LstmRun::new(gates),
        |run, (summary, column)| {
            run.reset();
            for input in column.chunks_exact(gates.inputs) {
                run.step(input);
            }
            summary.copy_from_slice(&run.output);
        },
    );
    summaries
}

/// An LSTM along the line. The input part of every timestep's sums is computed first, in parallel;
/// then the timesteps run in order, each split across threads by cells when it is big enough.
fn run_along_line(layer: &LineLstm, inputs: &[i8], timesteps: usize) -> Vec<i8> {
    let gates = &layer.lstm.gates;
    let rows = GATES * gates.cells;
    let mut input_sums = vec![0i32; timesteps * rows];
    input_sums.par_chunks_mut(rows).zip(inputs.par_chunks(gates.inputs)).for_each_init(
        || Operand::new(gates.inputs),
        |operand, (sums, input)| {
            operand.set(input);
            gates.input_sums(operand, sums);
        },
    );
    let order = |step: usize| if layer.right_to_left { timesteps - 1 - step } else { step };
    let threads = rayon::current_num_threads();
    if threads > 1 && gates.recurrent.multiply_adds() >= LOCKSTEP_WORK {
        recur_in_lockstep(gates, &input_sums, timesteps, order, threads)
    } else {
        recur(gates, &input_sums, timesteps, order)
    }
}

/// The recurrence on this thread alone.
fn recur(gates: &LstmGates, input_sums: &[i32], timesteps: usize, order: impl Fn(usize) -> usize) -> Vec<i8> {
    let (cells, rows) = (gates.cells, GATES * gates.cells);
    let mut output = vec![0i8; timesteps * cells];
    let mut cell = vec![0f32; cells];
    let mut previous = vec![0i8; cells];
    let mut operand = Operand::new(cells);
    let mut sums = vec![0i32; rows];
    for step in 0..timesteps {
        let t = order(step);
        operand.set(&previous);
        gates.recurrent.sums(0, &operand, &mut sums);
        update_cells(gates, 0, &input_sums[t * rows..], &sums, &mut cell, &mut previous);
        output[t * cells..(t + 1) * cells].copy_from_slice(&previous);
    }
    output
}

/// A range of cells, with its state, as one thread at a time updates it.
struct CellChunk {
    first: usize,
    cell: Vec<f32>,
    sums: Vec<i32>,
    output: Vec<i8>,
}

/// The recurrence with each timestep's cells shared among the pool's threads (see `lockstep`).
fn recur_in_lockstep(
    gates: &LstmGates,
    input_sums: &[i32],
    timesteps: usize,
    order: impl Fn(usize) -> usize + Sync,
    threads: usize,
) -> Vec<i8> {
    let (cells, rows) = (gates.cells, GATES * gates.cells);
    // Two chunks per thread evens out threads that start late; at least 8 cells each, so that a
    // chunk (8 cells are 32 rows) outweighs claiming it.
    let chunk_cells = cells.div_ceil(2 * threads).max(8);
    let chunks: Vec<Mutex<CellChunk>> = (0..cells)
        .step_by(chunk_cells)
        .map(|first| {
            let len = chunk_cells.min(cells - first);
            Mutex::new(CellChunk { first, cell: vec![0.0; len], sums: vec![0; GATES * len], output: vec![0; len] })
        })
        .collect();
    let operand = RwLock::new(Operand::new(cells));
    let mut output = vec![0i8; timesteps * cells];
    // Gathers the last step's outputs: into the layer's output and into the operand of the next.
    let mut previous = vec![0i8; cells];
    let gather = |step: usize, previous: &mut [i8], output: &mut [i8]| {
        let t = order(step);
        for chunk in &chunks {
            let chunk = chunk.lock().expect("a cell chunk's task panicked");
            previous[chunk.first..chunk.first + chunk.output.len()].copy_from_slice(&chunk.output);
        }
        output[t * cells..(t + 1) * cells].copy_from_slice(previous);
    };
    lockstep::run(
        timesteps,
        chunks.len(),
        (threads - 1).min(chunks.len() - 1),
        |step| {
            if step > 0 {
                gather(step - 1, &mut previous, &mut output);
            }
            operand.write().expect("no task holds the operand between steps").set(&previous);
        },
        |step, chunk| {
            let t = order(step);
            let operand = operand.read().expect("the operand is written only between steps");
            let mut chunk = chunks[chunk].lock().expect("each chunk is claimed by one thread a step");
            let CellChunk { first, cell, sums, output } = &mut *chunk;
            gates.recurrent.sums(*first * GATES, &operand, sums);
            update_cells(gates, *first, &input_sums[t * rows + *first * GATES..], sums, cell, output);
        },
    );
    if timesteps > 0 {
        gather(timesteps - 1, &mut previous, &mut output);
    }
    output
}

/// The softmax over one timestep's logits, in place: inputs more than 86 below the maximum are
/// raised to that limit before `exp`, so no probability is zero.
fn softmax(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::MIN, f32::max);
    let mut total = 0.0f32;
    for value in values.iter_mut() {
        *value = (*value - max).clamp(-86.0, 0.0).exp();
        total += *value;
    }
    if total > 0.0 {
        for value in values.iter_mut() {
            *value /= total;
        }
    }
}

/// Runs the network on one line; `input.height` must be the network's input height. The work runs
/// on the rayon pool (moved there if the caller is not one of its threads), split within the line.
pub(crate) fn forward(network: &Network, input: &NetworkInput) -> Probabilities {
    debug_assert_eq!(input.height, network.input_height);
    rayon::scope(|_| forward_on_pool(network, input))
}

fn forward_on_pool(network: &Network, input: &NetworkInput) -> Probabilities {
    let conv = convolve(network, input);
    let (pooled, width, height) = max_pool(network, &conv, input.width, input.height);
    let mut sequence = summarise_columns(&network.column_summary.gates, &pooled, width, height);
    for layer in &network.line_lstms {
        sequence = run_along_line(layer, &sequence, width);
    }

    let layer = &network.output;
    let classes = layer.outputs;
    let mut values = vec![0f32; width * classes];
    values
        .par_chunks_mut(TIMESTEPS_PER_TASK * classes)
        .zip(sequence.par_chunks(TIMESTEPS_PER_TASK * layer.inputs))
        .for_each_init(
            || layer.scratch(),
            |(operand, sums, _), (values, inputs)| {
                for (row, input) in values.chunks_exact_mut(classes).zip(inputs.chunks_exact(layer.inputs)) {
                    operand.set(input);
                    layer.apply(operand, sums, row);
                    softmax(row);
                }
            },
        );
    Probabilities { timesteps: width, classes, values }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantisation_rounds_halves_away_from_zero_and_saturates() {
        assert_eq!(quantise(0.5 / 127.0), 1);
        assert_eq!(quantise(-0.5 / 127.0), -1);
        assert_eq!(quantise(0.49 / 127.0), 0);
        assert_eq!(quantise(2.0), 127);
        assert_eq!(quantise(-2.0), -127);
    }

    #[test]
    fn lookup_tables_follow_tanh_and_logistic_and_saturate() {
        for x in [-3.7f32, -0.3, 0.0, 0.001, 0.5, 2.2, 15.0] {
            assert!((tables().tanh(x) - x.tanh()).abs() < 1e-4, "tanh({x})");
            assert!((tables().logistic(x) - 1.0 / (1.0 + (-x).exp())).abs() < 1e-4, "logistic({x})");
        }
        assert_eq!(tables().tanh(4095.0 / 256.0), 1.0);
        assert_eq!(tables().logistic(-20.0), 0.0);
    }

    #[test]
    fn border_noise_is_minstd_seeded_from_the_sample_iteration() {
        // minstd_rand's 10000th value from the default seed 1 is 399268537 (C++ standard, [rand.predef]).
        let mut noise = BorderNoise { state: 1 };
        for _ in 0..9999 {
            noise.draw();
        }
        assert_eq!(noise.draw(), 399_268_537);
        // The seed is reduced modulo 2³¹−1 from its full 64-bit product.
        let seeded = BorderNoise::new(1_000_000);
        let expected_seed = 1_000_000u64 * 0x1000_0001 % BorderNoise::MODULUS;
        assert_eq!(seeded.state, expected_seed * 48271 % BorderNoise::MODULUS);
        let mut noise = BorderNoise::new(123);
        assert!((0..1000).map(|_| noise.value()).all(|v| (-127..=127).contains(&v)));
    }

    #[test]
    fn matrix_rows_add_the_bias_times_127_before_scaling() {
        let matrix = WeightMatrix { rows: 2, inputs: 2, weights: vec![1, 2, 3, -4, 5, -6], scales: vec![0.5, 0.25] };
        let layer = Dense::new(&matrix);
        let (mut operand, mut sums, mut output) = layer.scratch();
        operand.set(&[10, -20]);
        layer.apply(&operand, &mut sums, &mut output);
        assert_eq!(output, vec![(10 - 40 + 381) as f32 * 0.5, (-40 - 100 - 762) as f32 * 0.25]);
    }

    #[test]
    fn softmax_sums_to_one_and_never_reaches_zero() {
        let mut values = [0.0, 1.0, -500.0];
        softmax(&mut values);
        assert!((values.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(values[2] > 0.0);
    }
}

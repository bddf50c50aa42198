//! The int8 forward pass, arithmetic for arithmetic as libtesseract runs it: int8 activations with
//! an implicit scale of 1/127, exact i32 sums of int8 products, float32 gates from interpolated
//! lookup tables, and the pseudo-random values the convolution reads beyond the image's edges.

use std::sync::OnceLock;

use crate::network::{Lstm, Network, WeightMatrix};

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

/// Σ weights·input over int8 values. Exact in i32 for any order of accumulation (each product is
/// at most 128² = 2¹⁴, so only rows past 2¹⁷ inputs could overflow; the tessdata_best models'
/// longest rows have 704: Lfx512 over 192 inputs), so the SIMD version below reorders it freely
/// and still matches bit for bit.
/// Natively this plain loop is the design: the compiler auto-vectorises it.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub(crate) fn dot_i8(weights: &[i8], input: &[i8]) -> i32 {
    dot_i8_scalar(weights, input)
}

fn dot_i8_scalar(weights: &[i8], input: &[i8]) -> i32 {
    weights.iter().zip(input).map(|(&w, &x)| i32::from(w) * i32::from(x)).sum()
}

/// In wasm LLVM vectorises the plain loop only 4 inputs at a time, and these sums are most of a
/// line's time. Here 16 at a time: widened to i16 (products fit: |i8·i8| ≤ 2¹⁴) and
/// multiplied-added in pairs into i32 lanes (each gains ≤ 2¹⁶ per 16 inputs). Under node 20 this
/// took a 288-input row from 54 to 24 ns and an English line 36 pixels high from 68 to 40 ms.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) fn dot_i8(weights: &[i8], input: &[i8]) -> i32 {
    use core::arch::wasm32::*;
    let n = weights.len().min(input.len());
    let (w_chunks, x_chunks) = (weights[..n].chunks_exact(16), input[..n].chunks_exact(16));
    let tail = n - w_chunks.remainder().len();
    let mut acc = i32x4_splat(0);
    for (w, x) in w_chunks.zip(x_chunks) {
        // SAFETY: each chunk is exactly 16 bytes, and `v128_load` has no alignment requirement.
        let (w, x) = unsafe { (v128_load(w.as_ptr().cast()), v128_load(x.as_ptr().cast())) };
        let low = i32x4_dot_i16x8(i16x8_extend_low_i8x16(w), i16x8_extend_low_i8x16(x));
        let high = i32x4_dot_i16x8(i16x8_extend_high_i8x16(w), i16x8_extend_high_i8x16(x));
        acc = i32x4_add(acc, i32x4_add(low, high));
    }
    let lanes = i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc);
    lanes + dot_i8_scalar(&weights[tail..n], &input[tail..n])
}

impl WeightMatrix {
    /// `output[i] = f32(Σ_j w_ij·x_j + 127·bias_i) · scale_i`, as libtesseract's int8 kernels compute it.
    fn multiply(&self, input: &[i8], output: &mut [f32]) {
        debug_assert_eq!(input.len(), self.inputs);
        let stride = self.inputs + 1;
        for (row, (out, &scale)) in output.iter_mut().zip(&self.scales).enumerate() {
            let weights = &self.weights[row * stride..(row + 1) * stride];
            let sum = dot_i8(&weights[..self.inputs], input) + i32::from(weights[self.inputs]) * 127;
            *out = sum as f32 * scale;
        }
    }
}

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

struct Tables {
    tanh: Vec<f32>,
    logistic: Vec<f32>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let step = |i: usize| i as f64 / TABLE_SCALE as f64;
        Tables {
            tanh: (0..TABLE_SIZE).map(|i| step(i).tanh() as f32).collect(),
            logistic: (0..TABLE_SIZE).map(|i| (1.0 / (1.0 + (-step(i)).exp())) as f32).collect(),
        }
    })
}

/// Linear interpolation in a table for x ≥ 0.
fn interpolate(table: &[f32], x: f32) -> f32 {
    let x = x * TABLE_SCALE;
    let index = x as usize;
    if index >= TABLE_SIZE - 1 {
        return 1.0;
    }
    let (low, high) = (table[index], table[index + 1]);
    low + (high - low) * (x - index as f32)
}

fn tanh(x: f32) -> f32 {
    if x < 0.0 { -interpolate(&tables().tanh, -x) } else { interpolate(&tables().tanh, x) }
}

fn logistic(x: f32) -> f32 {
    if x < 0.0 { 1.0 - interpolate(&tables().logistic, -x) } else { interpolate(&tables().logistic, x) }
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

/// The convolution's window around each pixel, fed to its tanh layer. Out-of-image neighbours take
/// the next noise values in output-raster order, a whole out-of-image column of the window at once.
fn convolve(network: &Network, input: &NetworkInput) -> Vec<i8> {
    let (width, height) = (input.width, input.height);
    let (half_x, half_y) = (network.conv_half_x as isize, network.conv_half_y as isize);
    let features = network.conv_tanh.rows;
    let mut noise = BorderNoise::new(network.sample_iteration);
    let mut window = Vec::with_capacity(network.conv_tanh.inputs);
    let mut activations = vec![0f32; features];
    let mut output = vec![0i8; width * height * features];
    for y in 0..height as isize {
        for x in 0..width as isize {
            window.clear();
            for dx in -half_x..=half_x {
                let column = x + dx;
                for dy in -half_y..=half_y {
                    let row = y + dy;
                    let inside = (0..width as isize).contains(&column) && (0..height as isize).contains(&row);
                    window.push(if inside {
                        input.pixels[row as usize * width + column as usize]
                    } else {
                        noise.value()
                    });
                }
            }
            network.conv_tanh.multiply(&window, &mut activations);
            let t = y as usize * width + x as usize;
            for (out, &a) in output[t * features..(t + 1) * features].iter_mut().zip(&activations) {
                *out = quantise(tanh(a));
            }
        }
    }
    output
}

/// Max over each `pool_x × pool_y` block; a partial block at the right or bottom edge is dropped.
fn max_pool(network: &Network, map: &[i8], width: usize, height: usize) -> (Vec<i8>, usize, usize) {
    let features = network.conv_tanh.rows;
    let (pooled_width, pooled_height) = (width / network.pool_x, height / network.pool_y);
    let mut pooled = vec![i8::MIN; pooled_width * pooled_height * features];
    for y in 0..pooled_height {
        for x in 0..pooled_width {
            let out = &mut pooled[(y * pooled_width + x) * features..][..features];
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

/// One LSTM's state while it runs over a sequence.
struct LstmRun<'a> {
    lstm: &'a Lstm,
    /// `[x_t, h_{t−1}]` as int8, the gates' input.
    source: Vec<i8>,
    cell: Vec<f32>,
    gates: [Vec<f32>; 4],
}

impl<'a> LstmRun<'a> {
    fn new(lstm: &'a Lstm) -> LstmRun<'a> {
        let cells = lstm.cells;
        LstmRun {
            lstm,
            source: vec![0; lstm.inputs + cells],
            cell: vec![0.0; cells],
            gates: std::array::from_fn(|_| vec![0.0; cells]),
        }
    }

    /// Zero state and output, as at the start of every row.
    fn reset(&mut self) {
        self.source.fill(0);
        self.cell.fill(0.0);
    }

    /// One timestep; the int8 output is written to `output` and kept for the next step.
    fn step(&mut self, input: &[i8], output: &mut [i8]) {
        let lstm = self.lstm;
        let inputs = lstm.inputs;
        self.source[..inputs].copy_from_slice(input);
        let [cell_input, input_gate, forget_gate, output_gate] = &mut self.gates;
        lstm.cell_input.multiply(&self.source, cell_input);
        lstm.input_gate.multiply(&self.source, input_gate);
        lstm.forget_gate.multiply(&self.source, forget_gate);
        lstm.output_gate.multiply(&self.source, output_gate);
        for i in 0..lstm.cells {
            let ci = tanh(cell_input[i]);
            let gi = logistic(input_gate[i]);
            let gf = logistic(forget_gate[i]);
            let go = logistic(output_gate[i]);
            // The state stays float and is clipped to ±100, as libtesseract does.
            let mut c = self.cell[i] * gf;
            c += ci * gi;
            c = c.clamp(-100.0, 100.0);
            self.cell[i] = c;
            let h = quantise(tanh(c) * go);
            output[i] = h;
            self.source[inputs + i] = h;
        }
    }
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

/// Runs the network on one line; `input.height` must be the network's input height.
pub(crate) fn forward(network: &Network, input: &NetworkInput) -> Probabilities {
    debug_assert_eq!(input.height, network.input_height);
    let conv = convolve(network, input);
    let (pooled, width, height) = max_pool(network, &conv, input.width, input.height);
    let features = network.conv_tanh.rows;

    // Down each column of the pooled map, keeping only the output after its last row.
    let summary = &network.column_summary;
    let mut run = LstmRun::new(summary);
    let mut sequence = vec![0i8; width * summary.cells];
    let mut scratch = vec![0i8; summary.cells];
    for x in 0..width {
        run.reset();
        for y in 0..height {
            run.step(&pooled[(y * width + x) * features..][..features], &mut scratch);
        }
        sequence[x * summary.cells..(x + 1) * summary.cells].copy_from_slice(&scratch);
    }

    let mut sequence_width = summary.cells;
    for layer in &network.line_lstms {
        let cells = layer.lstm.cells;
        let mut run = LstmRun::new(&layer.lstm);
        let mut next = vec![0i8; width * cells];
        for step in 0..width {
            let t = if layer.right_to_left { width - 1 - step } else { step };
            run.step(&sequence[t * sequence_width..(t + 1) * sequence_width], &mut next[t * cells..(t + 1) * cells]);
        }
        sequence = next;
        sequence_width = cells;
    }

    let classes = network.output.rows;
    let mut values = vec![0f32; width * classes];
    for t in 0..width {
        let row = &mut values[t * classes..(t + 1) * classes];
        network.output.multiply(&sequence[t * sequence_width..(t + 1) * sequence_width], row);
        softmax(row);
    }
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
            assert!((tanh(x) - x.tanh()).abs() < 1e-4, "tanh({x})");
            assert!((logistic(x) - 1.0 / (1.0 + (-x).exp())).abs() < 1e-4, "logistic({x})");
        }
        assert_eq!(tanh(4095.0 / 256.0), 1.0);
        assert_eq!(logistic(-20.0), 0.0);
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
        let mut output = [0.0; 2];
        matrix.multiply(&[10, -20], &mut output);
        assert_eq!(output, [(10 - 40 + 381) as f32 * 0.5, (-40 - 100 - 762) as f32 * 0.25]);
    }

    #[test]
    fn softmax_sums_to_one_and_never_reaches_zero() {
        let mut values = [0.0, 1.0, -500.0];
        softmax(&mut values);
        assert!((values.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(values[2] > 0.0);
    }
}

//! The `lstm` component: Tesseract's serialised network tree, checked against the one template
//! every published LSTM model follows, `[1,H,0,1 Ct3,3,16 Mp3,3 Lfys.. Lfx.. Lrx.. Lfx.. O1c1]`:
//! a 3×3 convolution feeding a tanh layer, a 3×3 max-pool, an LSTM down each column that keeps
//! only its last output, LSTMs along the line (some right to left), and a softmax over the codes.

use crate::bytes::Bytes;
use crate::error::ReadError;
use crate::forward::{Dense, GATES, LstmGates};

/// An int8 weight matrix: `rows` outputs, each with `inputs` weights and a bias, and a per-row scale
/// that turns the integer sum back into a float.
#[derive(Debug, Clone)]
pub(crate) struct WeightMatrix {
    pub(crate) rows: usize,
    /// Inputs per row, not counting the bias.
    pub(crate) inputs: usize,
    /// Row-major, `inputs + 1` per row, the bias last.
    pub(crate) weights: Vec<i8>,
    pub(crate) scales: Vec<f32>,
}

impl WeightMatrix {
    /// A row's weights, its bias last.
    pub(crate) fn row(&self, row: usize) -> &[i8] {
        &self.weights[row * (self.inputs + 1)..(row + 1) * (self.inputs + 1)]
    }
}

/// One LSTM layer (1-D, no softmax inside): four gates over `[input, previous output]`: the cell
/// input (tanh), and the input, forget and output gates (logistic).
#[derive(Debug, Clone)]
pub(crate) struct Lstm {
    pub(crate) inputs: usize,
    /// Cells, which is also the layer's output width.
    pub(crate) cells: usize,
    pub(crate) gates: LstmGates,
}

/// An LSTM that runs along the line, in reading direction or against it.
#[derive(Debug, Clone)]
pub(crate) struct LineLstm {
    pub(crate) lstm: Lstm,
    pub(crate) right_to_left: bool,
}

/// The whole network, in the order it runs.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    /// The line image's height in pixels (36 or 48 in published models).
    pub(crate) input_height: usize,
    /// The convolution's half window: it stacks `(2·x+1)·(2·y+1)` neighbours of each pixel.
    pub(crate) conv_half_x: usize,
    pub(crate) conv_half_y: usize,
    /// The tanh layer on the stacked neighbours.
    pub(crate) conv_tanh: Dense,
    pub(crate) pool_x: usize,
    pub(crate) pool_y: usize,
    /// Runs down each column of the pooled map; its last output per column is the column's summary.
    pub(crate) column_summary: Lstm,
    pub(crate) line_lstms: Vec<LineLstm>,
    /// Logits of each output code; `null_char` (in [`Trailer`]) is the CTC blank.
    pub(crate) output: Dense,
    /// The network's own description, e.g. `[1,36,0,1Ct3,3,16Mp3,3Lfys48Lfx96Lrx96Lfx192O1c1]`.
    pub(crate) spec: String,
    /// Seeds the random values the convolution reads beyond the image's edges.
    pub(crate) sample_iteration: i32,
    /// Index of the CTC blank among the outputs.
    pub(crate) null_char: usize,
}

/// A layer as serialised, before it is checked against the template.
#[derive(Debug)]
enum Layer {
    Input {
        height: i32,
        depth: i32,
    },
    Series(Vec<Layer>),
    Convolve {
        half_x: i32,
        half_y: i32,
        inputs: usize,
    },
    FullyConnected {
        kind: String,
        matrix: WeightMatrix,
    },
    Maxpool {
        x: i32,
        y: i32,
    },
    /// `XYTranspose` or `RTLReversed` around one child.
    Reversed {
        kind: String,
        child: Box<Layer>,
    },
    Lstm {
        kind: String,
        lstm: Box<Lstm>,
    },
    Other(String),
}

/// `Network::network_flags_` bit: a Series carries per-layer learning rates after its children.
const LAYER_SPECIFIC_LEARNING_RATES: i32 = 64;
/// `WeightMatrix` mode bits.
const MODE_INT8: u8 = 1;
const MODE_DOUBLE_SCALES: u8 = 128;
/// `training_flags_` bit: the network runs in int8.
const TRAINING_FLAG_INT_MODE: i32 = 1;
/// Nesting beyond this is damage (the template is three deep).
const MAX_DEPTH: usize = 16;
/// The tallest input this reader runs, in pixels. Published models read lines 36 or 48 pixels
/// high; every line is scaled to this height with its aspect ratio kept, so a damaged height of
/// millions asked for terabytes. At 256 a 40:1 line is 2.6 M pixels, and the convolution's map of
/// 16 features 42 MB.
const MAX_INPUT_HEIGHT: usize = 256;

fn unsupported(reason: impl Into<String>) -> ReadError {
    ReadError::UnsupportedNetwork(reason.into())
}

fn read_matrix(bytes: &mut Bytes) -> Result<WeightMatrix, ReadError> {
    let mode = bytes.u8("a weight matrix's mode")?;
    if mode & MODE_INT8 == 0 {
        return Err(unsupported(
            "its weights are float (a training model); only int8 models such as tessdata_fast run",
        ));
    }
    let rows = bytes.u32("a weight matrix's rows")? as usize;
    let columns = bytes.u32("a weight matrix's columns")? as usize;
    if columns < 2 || rows == 0 {
        return Err(ReadError::Damaged(format!("a weight matrix is {rows}×{columns}")));
    }
    if mode & MODE_DOUBLE_SCALES == 0 {
        // Every published LSTM model stores its scales as doubles (mode 133); how the older float
        // scales were meant is not known here, so such a file is refused rather than misread.
        return Err(unsupported("its weight matrices use the older single-precision scales"));
    }
    bytes.i8("a weight matrix's padding byte")?;
    let size = rows.checked_mul(columns).ok_or_else(|| ReadError::Damaged(format!("a {rows}×{columns} matrix")))?;
    let weights = bytes.take(size, "int8 weights")?.iter().map(|&byte| byte as i8).collect();
    // Models converted to int8 by a SIMD build of Tesseract store scales padded to its block of
    // rows (tessdata_best's int8 eng: 112 scales for 111 rows); the padding is unused.
    let count = bytes.count(8, "the weight scales")?;
    if count < rows {
        return Err(ReadError::Damaged(format!("a matrix of {rows} rows has {count} scales")));
    }
    // The file stores max|w|/127 per row; the sum of int8 products times 127 needs one more /127.
    // Tesseract divides in double and keeps a float, so the same is done here.
    let mut scales = Vec::with_capacity(rows);
    for row in 0..count {
        let stored = bytes.f64("a weight scale")?;
        if row < rows {
            scales.push((stored / 127.0) as f32);
        }
    }
    Ok(WeightMatrix { rows, inputs: columns - 1, weights, scales })
}

fn read_layer(bytes: &mut Bytes, depth: usize) -> Result<Layer, ReadError> {
    if depth > MAX_DEPTH {
        return Err(ReadError::Damaged("layers nest too deeply".into()));
    }
    if bytes.i8("a layer's type marker")? != 0 {
        return Err(unsupported("a layer is stored by number (a Tesseract 3 era file)"));
    }
    let kind = bytes.string("a layer's type")?;
    bytes.i8("a layer's training state")?;
    bytes.i8("a layer's backprop flag")?;
    let flags = bytes.i32("a layer's flags")?;
    let inputs = bytes.i32("a layer's input count")?;
    let _outputs = bytes.i32("a layer's output count")?;
    let _weight_count = bytes.i32("a layer's weight count")?;
    let _name = bytes.string("a layer's name")?;
    let inputs = usize::try_from(inputs).map_err(|_| ReadError::Damaged(format!("a layer has {inputs} inputs")))?;
    Ok(match kind.as_str() {
        "Input" => {
            let _batch = bytes.i32("the input shape")?;
            let height = bytes.i32("the input shape")?;
            let _width = bytes.i32("the input shape")?;
            let depth = bytes.i32("the input shape")?;
            let _loss = bytes.i32("the input shape")?;
            Layer::Input { height, depth }
        }
        "Series" | "XYTranspose" | "RTLReversed" | "TTBReversed" | "Parallel" | "Replicated" | "ParBidiLSTM"
        | "DepParUDLSTM" | "Par2dLSTM" => {
            let count = bytes.count(1, "a layer's child count")?;
            let mut children = Vec::with_capacity(count);
            for _ in 0..count {
                children.push(read_layer(bytes, depth + 1)?);
            }
            if flags & LAYER_SPECIFIC_LEARNING_RATES != 0 {
                let rates = bytes.count(4, "per-layer learning rates")?;
                bytes.take(rates * 4, "per-layer learning rates")?;
            }
            match kind.as_str() {
                "Series" => Layer::Series(children),
                "XYTranspose" | "RTLReversed" if children.len() == 1 => {
                    Layer::Reversed { kind, child: Box::new(children.pop().expect("one child")) }
                }
                _ => Layer::Other(kind),
            }
        }
        "Convolve" => {
            let half_x = bytes.i32("the convolution's half width")?;
            let half_y = bytes.i32("the convolution's half height")?;
            Layer::Convolve { half_x, half_y, inputs }
        }
        "Maxpool" => {
            let x = bytes.i32("the max-pool's width")?;
            let y = bytes.i32("the max-pool's height")?;
            Layer::Maxpool { x, y }
        }
        "Tanh" | "Softmax" | "Logistic" | "Relu" | "Linear" | "SoftmaxNoCTC" | "LinLogistic" | "LinTanh" => {
            Layer::FullyConnected { matrix: read_matrix(bytes)?, kind }
        }
        "LSTM" | "SummLSTM" => {
            let concatenated = bytes.i32("an LSTM's input width")?;
            let gates: [WeightMatrix; GATES] =
                [read_matrix(bytes)?, read_matrix(bytes)?, read_matrix(bytes)?, read_matrix(bytes)?];
            let cells = gates[0].rows;
            // A 2-D LSTM also feeds back the other dimension's output and has a fifth gate.
            if concatenated as usize != inputs + cells {
                return Err(unsupported(format!("`{kind}` is a 2-D LSTM")));
            }
            for gate in &gates {
                if gate.rows != cells || gate.inputs != inputs + cells {
                    return Err(ReadError::Damaged(format!("an LSTM gate is {}×{}", gate.rows, gate.inputs + 1)));
                }
            }
            Layer::Lstm {
                kind,
                lstm: Box::new(Lstm { inputs, cells, gates: LstmGates::new(inputs, cells, gates.each_ref()) }),
            }
        }
        other => Layer::Other(other.to_string()),
    })
}

/// The layer's name for a message saying where the template broke.
fn describe(layer: &Layer) -> String {
    match layer {
        Layer::Input { .. } => "Input".into(),
        Layer::Series(_) => "Series".into(),
        Layer::Convolve { .. } => "Convolve".into(),
        Layer::FullyConnected { kind, .. } | Layer::Reversed { kind, .. } | Layer::Lstm { kind, .. } => kind.clone(),
        Layer::Maxpool { .. } => "Maxpool".into(),
        Layer::Other(kind) => kind.clone(),
    }
}

fn half_window(half: i32) -> Result<usize, ReadError> {
    usize::try_from(half).map_err(|_| unsupported(format!("the convolution's half window is {half}")))
}

fn positive(value: i32, what: &str) -> Result<usize, ReadError> {
    usize::try_from(value).ok().filter(|&value| value > 0).ok_or_else(|| unsupported(format!("{what} is {value}")))
}

impl Network {
    /// Reads the `lstm` component: the network tree, then its spec and training counters.
    pub(crate) fn parse(mut bytes: Bytes) -> Result<Network, ReadError> {
        let root = read_layer(&mut bytes, 0)?;
        let spec = bytes.string("the network's spec")?;
        let training_flags = bytes.i32("the training flags")?;
        let _training_iteration = bytes.i32("the training iteration")?;
        let sample_iteration = bytes.i32("the sample iteration")?;
        let null_char = bytes.i32("the CTC blank's index")?;
        let _adam_beta = bytes.f32("the Adam beta")?;
        let _learning_rate = bytes.f32("the learning rate")?;
        let _momentum = bytes.f32("the momentum")?;
        if training_flags & TRAINING_FLAG_INT_MODE == 0 {
            return Err(unsupported("it is not an int8 model (a training checkpoint?)"));
        }
        // A unicharset and recoder follow here only in files without their own components, which
        // this reader requires; anything left over is damage.
        if bytes.remaining() != 0 {
            return Err(ReadError::Damaged(format!("{} stray bytes after the network", bytes.remaining())));
        }
        Network::from_template(root, spec, sample_iteration, null_char)
    }

    fn from_template(root: Layer, spec: String, sample_iteration: i32, null_char: i32) -> Result<Network, ReadError> {
        let Layer::Series(layers) = root else {
            return Err(unsupported(format!("the top layer is {}", describe(&root))));
        };
        let mut layers = layers.into_iter();
        let mut next = |expected: &str| {
            layers.next().ok_or_else(|| unsupported(format!("the network ends where {expected} should follow")))
        };
        let input_height = match next("the input")? {
            Layer::Input { height, depth: 1 } => match positive(height, "the input height")? {
                height if height > MAX_INPUT_HEIGHT => {
                    return Err(unsupported(format!(
                        "its lines are {height} pixels high; this reader runs up to {MAX_INPUT_HEIGHT}"
                    )));
                }
                height => height,
            },
            Layer::Input { depth, .. } => return Err(unsupported(format!("the input has {depth} channels, not grey"))),
            other => return Err(unsupported(format!("it starts with {} instead of its input", describe(&other)))),
        };
        let (conv_half_x, conv_half_y, conv_inputs, conv_tanh) = match next("the convolution")? {
            Layer::Series(mut pair) if pair.len() == 2 => match (pair.remove(0), pair.remove(0)) {
                (Layer::Convolve { half_x, half_y, inputs }, Layer::FullyConnected { kind, matrix })
                    if kind == "Tanh" =>
                {
                    (half_window(half_x)?, half_window(half_y)?, inputs, matrix)
                }
                (first, second) => {
                    return Err(unsupported(format!(
                        "the first stage is {} then {}",
                        describe(&first),
                        describe(&second)
                    )));
                }
            },
            other => return Err(unsupported(format!("{} where the convolution should be", describe(&other)))),
        };
        // In u64: in wasm's 32-bit usize two half windows near 2³¹ wrap to a product that a small
        // tanh layer can match, and the convolution then loops 2³² times per pixel.
        let window = (2 * conv_half_x as u64 + 1) * (2 * conv_half_y as u64 + 1);
        if conv_inputs != 1 || conv_tanh.inputs as u64 != window {
            return Err(unsupported(format!(
                "the convolution takes {conv_inputs} channels into a {}-input tanh layer",
                conv_tanh.inputs
            )));
        }
        let (pool_x, pool_y) = match next("the max-pool")? {
            Layer::Maxpool { x, y } => (positive(x, "the max-pool's width")?, positive(y, "the max-pool's height")?),
            other => return Err(unsupported(format!("{} where the max-pool should be", describe(&other)))),
        };
        let column_summary = match next("the column LSTM")? {
            Layer::Reversed { kind, child } if kind == "XYTranspose" => match *child {
                Layer::Lstm { kind, lstm } if kind == "SummLSTM" => *lstm,
                other => {
                    return Err(unsupported(format!(
                        "a transposed {} instead of a summarising LSTM",
                        describe(&other)
                    )));
                }
            },
            other => return Err(unsupported(format!("{} where the column LSTM should be", describe(&other)))),
        };
        if column_summary.inputs != conv_tanh.rows {
            return Err(unsupported("the column LSTM's input does not match the convolution's output"));
        }
        let mut line_lstms = Vec::new();
        let mut width = column_summary.cells;
        let output = loop {
            let (lstm, right_to_left) = match next("the softmax output")? {
                Layer::Lstm { kind, lstm } if kind == "LSTM" => (*lstm, false),
                Layer::Reversed { kind, child } if kind == "RTLReversed" => match *child {
                    Layer::Lstm { kind, lstm } if kind == "LSTM" => (*lstm, true),
                    other => return Err(unsupported(format!("a reversed {}", describe(&other)))),
                },
                Layer::FullyConnected { kind, matrix } if kind == "Softmax" => break matrix,
                other => return Err(unsupported(format!("a {} layer along the line", describe(&other)))),
            };
            if lstm.inputs != width {
                return Err(unsupported("an LSTM's input does not match the layer before it"));
            }
            width = lstm.cells;
            line_lstms.push(LineLstm { lstm, right_to_left });
        };
        if let Some(extra) = layers.next() {
            return Err(unsupported(format!("{} follows the softmax output", describe(&extra))));
        }
        if output.inputs != width {
            return Err(unsupported("the softmax's input does not match the last LSTM"));
        }
        let null_char = usize::try_from(null_char)
            .ok()
            .filter(|&index| index < output.rows)
            .ok_or_else(|| ReadError::Damaged(format!("the CTC blank is output {null_char} of {}", output.rows)))?;
        if input_height < pool_y {
            return Err(unsupported(format!("the input is {input_height} pixels high, less than one max-pool")));
        }
        Ok(Network {
            input_height,
            conv_half_x,
            conv_half_y,
            conv_tanh: Dense::new(&conv_tanh),
            pool_x,
            pool_y,
            column_summary,
            line_lstms,
            output: Dense::new(&output),
            spec,
            sample_iteration,
            null_char,
        })
    }

    /// The number of output classes (codes, the blank included).
    pub(crate) fn output_classes(&self) -> usize {
        self.output.outputs
    }
}

//! The plan's operations: ONNX nodes lowered to concrete, backend-neutral parameters.
//! Every attribute is resolved at plan time, so a backend sees only numbers.

use candle_core::DType;

/// An activation fused into the kernel that produces its input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    None,
    Relu,
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    HardSwish,
    Clip {
        min: f32,
        max: f32,
    },
    /// The exact (erf) GELU: x * (1 + erf(x / sqrt 2)) / 2.
    Gelu,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::None => "None",
            Activation::Relu => "Relu",
            Activation::LeakyRelu(_) => "LeakyRelu",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::HardSigmoid { .. } => "HardSigmoid",
            Activation::HardSwish => "HardSwish",
            Activation::Clip { .. } => "Clip",
            Activation::Gelu => "Gelu",
        }
    }

    /// Whether the activation is a clamp, which the conv micro-kernels apply in registers for free.
    pub fn is_clamp(self) -> bool {
        matches!(self, Activation::None | Activation::Relu | Activation::Clip { .. })
    }

    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            // A comparison, not f32::max: wasm's max carries NaN rules that cost several instructions.
            Activation::Relu => {
                if x > 0.0 {
                    x
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu(alpha) => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Activation::Sigmoid => 1.0 / (1.0 + exp(-x)),
            Activation::Tanh => x.tanh(),
            Activation::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
            Activation::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Activation::Clip { min, max } => x.clamp(min, max),
            Activation::Gelu => 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2)),
        }
    }
}

impl Activation {
    /// Applies the activation to every value, with the variant chosen once so each loop vectorises.
    pub fn apply_all(self, values: &mut [f32]) {
        fn each(values: &mut [f32], f: impl Fn(f32) -> f32) {
            values.iter_mut().for_each(|v| *v = f(*v));
        }
        match self {
            Activation::None => {}
            Activation::Relu => each(values, |x| Activation::Relu.apply(x)),
            Activation::LeakyRelu(alpha) => each(values, |x| Activation::LeakyRelu(alpha).apply(x)),
            Activation::Sigmoid => each(values, |x| Activation::Sigmoid.apply(x)),
            Activation::Tanh => each(values, |x| Activation::Tanh.apply(x)),
            Activation::HardSigmoid { alpha, beta } => {
                each(values, |x| Activation::HardSigmoid { alpha, beta }.apply(x))
            }
            Activation::HardSwish => each(values, |x| Activation::HardSwish.apply(x)),
            Activation::Clip { min, max } => each(values, |x| Activation::Clip { min, max }.apply(x)),
            Activation::Gelu => each(values, |x| Activation::Gelu.apply(x)),
        }
    }
}

/// erf(x) as Eigen computes it on [-4, 4] (within 1e-7 of the true value): x * P(x²) / Q(x²),
/// these being P's and Q's coefficients from the highest power down.
pub const ERF_P: [f32; 7] =
    [-2.726_142_3e-10, 2.770_681_4e-8, -2.101_024e-6, -5.692_506_4e-5, -7.349_906_3e-4, -2.954_6e-3, -1.609_603_3e-2];
pub const ERF_Q: [f32; 5] = [-1.456_607_2e-5, -2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2];

/// erf(x) by `ERF_P` / `ERF_Q`: plain arithmetic that vectorises, where libm's erff branches and
/// calls exp per value.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = ERF_P[1..].iter().fold(ERF_P[0], |acc, &c| acc * x2 + c);
    let q = ERF_Q[1..].iter().fold(ERF_Q[0], |acc, &c| acc * x2 + c);
    x * p / q
}

/// e^x within a few ulp, flushing below e^-87 to about 1e-38 and saturating above e^88: Cephes'
/// range reduction and polynomial in plain arithmetic that vectorises, where libm's expf branches.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    // ln 2 in two parts, so x - n ln 2 loses no digits.
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5]
        .iter()
        .fold(0.0, |acc, &c| acc * r + c);
    let scale = f32::from_bits(shifted.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23);
    (p * r * r + r + 1.0) * scale
}

/// Spatial window geometry shared by Conv, ConvTranspose and pooling (2-D, NCHW).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    /// top, left, bottom, right
    pub pads: [usize; 4],
}

impl Window {
    pub fn extent(&self, axis: usize) -> usize {
        (self.kernel[axis] - 1) * self.dilation[axis] + 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conv {
    pub window: Window,
    pub group: usize,
    pub activation: Activation,
    /// Adds the step's fourth input, shaped as the output, after the activation: a residual Add
    /// fused so the sum costs no pass of its own. The step then always has a bias input.
    pub residual: bool,
}

impl Conv {
    /// "Conv 3x3 /2{kind} + GELU + Add", where `kind` names the kernel (" grouped", or a
    /// backend's own such as " winograd").
    pub fn label(&self, kind: &str) -> String {
        let [kh, kw] = self.window.kernel;
        let stride = if self.window.stride == [1, 1] {
            String::new()
        } else {
            format!(" /{}", self.window.stride[0].max(self.window.stride[1]))
        };
        // Activations beyond a clamp cost a pass of their own, so the profile names them.
        let activation =
            if self.activation.is_clamp() { String::new() } else { format!(" + {}", self.activation.name()) };
        let residual = if self.residual { " + Add" } else { "" };
        format!("Conv {kh}x{kw}{stride}{kind}{activation}{residual}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PoolKind {
    Max,
    Average { count_include_pad: bool },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CoordinateTransform {
    HalfPixel,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NearestRounding {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResizeMode {
    Nearest(NearestRounding),
    Linear,
}

/// Resize of the two spatial axes of an NCHW tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resize {
    pub mode: ResizeMode,
    pub transform: CoordinateTransform,
    /// The scale the coordinate transform divides by (output/input unless the model gave scales).
    pub scale: [f32; 2],
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PadMode {
    Constant(f32),
    Reflect,
    Edge,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryKind {
    Activation(Activation),
    Erf,
    Sqrt,
    Exp,
    Neg,
    Abs,
    Reciprocal,
    Powf(f32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReduceKind {
    Mean,
    Sum,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// inputs: x, weight [M, C/group, kh, kw], optional bias [M]
    Conv(Conv),
    /// inputs: x, weight [C, M/group, kh, kw], optional bias [M]
    ConvTranspose(Conv),
    Pool {
        kind: PoolKind,
        window: Window,
    },
    GlobalAveragePool,
    Resize(Resize),
    /// (before, after) per axis
    Pad {
        pads: Vec<[usize; 2]>,
        mode: PadMode,
    },
    /// numpy-style broadcasting
    Binary(BinaryKind),
    Unary(UnaryKind),
    MatMul,
    /// Softmax over `len` elements laid out as [outer, len, inner].
    Softmax {
        outer: usize,
        len: usize,
        inner: usize,
    },
    Reduce {
        kind: ReduceKind,
        axes: Vec<usize>,
    },
    Transpose {
        perm: Vec<usize>,
    },
    /// Same elements, the step's output shape (Reshape, Flatten, Squeeze, Unsqueeze).
    Reshape,
    Concat {
        axis: usize,
    },
    /// Per axis: first index, step, count.
    Slice {
        ranges: Vec<(i64, i64, usize)>,
    },
    Gather {
        axis: usize,
        indices: Vec<usize>,
        indices_shape: Vec<usize>,
    },
    /// inputs: x, scale [C], bias [C]
    InstanceNorm {
        epsilon: f32,
    },
    /// inputs: x, scale [C], shift [C]: y = x * scale[c] + shift[c]
    ChannelAffine,
    Cast(DType),
}

impl Op {
    /// The op as a profile tells kernels apart: "Conv 3x3 /2 grouped", "MaxPool 2x2", "Mul". A
    /// backend may name its kernel more closely (`Backend::label`).
    pub fn label(&self) -> String {
        match self {
            Op::Conv(c) => c.label(if c.group == 1 { "" } else { " grouped" }),
            Op::Pool { kind, window } => {
                let name = if *kind == PoolKind::Max { "MaxPool" } else { "AveragePool" };
                format!("{name} {}x{}", window.kernel[0], window.kernel[1])
            }
            Op::Binary(kind) => format!("{kind:?}"),
            Op::Unary(UnaryKind::Activation(a)) => a.name().to_string(),
            Op::Unary(kind) => format!("{kind:?}"),
            other => other.name().to_string(),
        }
    }

    /// Whether the output may share its first input's buffer, as a view (a reshape, a slice along
    /// the outer axis, a single-input concat): buffers are reused by lifetime, and a view keeps
    /// its source's buffer alive.
    pub fn may_view_input(&self, inputs: usize) -> bool {
        match self {
            Op::Reshape | Op::Slice { .. } | Op::Transpose { .. } | Op::Reduce { .. } | Op::Cast(_) => true,
            Op::Concat { .. } => inputs == 1,
            _ => false,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv(_) => "Conv",
            Op::ConvTranspose(_) => "ConvTranspose",
            Op::Pool { .. } => "Pool",
            Op::GlobalAveragePool => "GlobalAveragePool",
            Op::Resize(_) => "Resize",
            Op::Pad { .. } => "Pad",
            Op::Binary(_) => "Binary",
            Op::Unary(_) => "Unary",
            Op::MatMul => "MatMul",
            Op::Softmax { .. } => "Softmax",
            Op::Reduce { .. } => "Reduce",
            Op::Transpose { .. } => "Transpose",
            Op::Reshape => "Reshape",
            Op::Concat { .. } => "Concat",
            Op::Slice { .. } => "Slice",
            Op::Gather { .. } => "Gather",
            Op::InstanceNorm { .. } => "InstanceNorm",
            Op::ChannelAffine => "ChannelAffine",
            Op::Cast(_) => "Cast",
        }
    }
}

/// numpy broadcasting of two shapes, or None where they do not broadcast.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    (0..rank)
        .map(|i| {
            let da = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
            let db = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
            match (da, db) {
                (x, y) if x == y => Some(x),
                (1, y) => Some(y),
                (x, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

/// Output length of a sliding window along one axis (floor division unless `ceil`).
pub fn window_output(input: usize, pad: [usize; 2], extent: usize, stride: usize, ceil: bool) -> Option<usize> {
    let span = (input + pad[0] + pad[1]).checked_sub(extent)?;
    let mut out = if ceil { span.div_ceil(stride) + 1 } else { span / stride + 1 };
    // With ceil rounding, a last window that would start in the trailing padding is dropped.
    if ceil && (out - 1) * stride >= input + pad[0] {
        out -= 1;
    }
    Some(out)
}

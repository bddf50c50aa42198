//! The WGSL kernels and their compiled pipelines.
//!
//! Every kernel begins with `prelude.wgsl`: binding 0 is the dispatch's parameter block (64 words
//! of uniform), bindings 1 and up are its tensors (inputs read-only, then the output), and words
//! 0–7 of the block hold those tensors' element offsets in their buffers, so a tensor can be a
//! view into a larger buffer without the 256-byte alignment WebGPU asks of binding offsets.
//! The kernel's own parameters start at word 8. Shapes ride in parameters rather than in the
//! shader text, so one pipeline per kernel serves every step of every model.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::ops::{Activation, ERF_P, ERF_Q, UnaryKind};

/// Words in a dispatch's parameter block: 256 bytes, the largest uniform offset alignment an
/// adapter may ask for, so blocks never cost more than the alignment does.
pub const PARAM_WORDS: usize = 64;
/// Where each kernel's own parameters start (words 0–7 are its tensors' offsets).
pub const FIRST_PARAM: usize = 8;
/// Invocations per workgroup of every flat (one thread per element) kernel: WebGPU's default
/// limit, and what SwiftShader offers.
pub const WORKGROUP: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// y[out] = x[in] over an index space with strides for each side: transposes, slices,
    /// concat pieces, gathers.
    Copy,
    Binary,
    Unary,
    ChannelAffine,
    /// Convolutions of one group, as an implicit GEMM in register tiles.
    ConvGemm,
    /// Grouped and depthwise convolutions, one output per invocation.
    Conv,
    ConvTranspose,
    Pool,
    Resize,
    Pad,
    /// One workgroup per output element: Reduce and the global average pool.
    Reduce,
    /// One workgroup per row.
    Softmax,
    /// One workgroup per (image, channel) plane.
    InstanceNorm,
    MatMul,
}

impl Kernel {
    fn source(self) -> &'static str {
        match self {
            Kernel::Copy => include_str!("wgsl/copy.wgsl"),
            Kernel::Binary => include_str!("wgsl/binary.wgsl"),
            Kernel::Unary => include_str!("wgsl/unary.wgsl"),
            Kernel::ChannelAffine => include_str!("wgsl/channel_affine.wgsl"),
            Kernel::ConvGemm => include_str!("wgsl/conv_gemm.wgsl"),
            Kernel::Conv => include_str!("wgsl/conv.wgsl"),
            Kernel::ConvTranspose => include_str!("wgsl/conv_transpose.wgsl"),
            Kernel::Pool => include_str!("wgsl/pool.wgsl"),
            Kernel::Resize => include_str!("wgsl/resize.wgsl"),
            Kernel::Pad => include_str!("wgsl/pad.wgsl"),
            Kernel::Reduce => include_str!("wgsl/reduce.wgsl"),
            Kernel::Softmax => include_str!("wgsl/softmax.wgsl"),
            Kernel::InstanceNorm => include_str!("wgsl/instance_norm.wgsl"),
            Kernel::MatMul => include_str!("wgsl/matmul.wgsl"),
        }
    }
}

/// Compiled pipelines, made on first use and kept for the device's life.
pub struct Kernels {
    prelude: String,
    pipelines: RefCell<HashMap<Kernel, wgpu::ComputePipeline>>,
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernels").field("compiled", &self.pipelines.borrow().len()).finish()
    }
}

impl Kernels {
    pub fn new() -> Self {
        // The engine's own erf coefficients, so GELU on the GPU rounds as it does on the CPU.
        let list = |c: &[f32]| c.iter().map(|v| format!("{v:e}")).collect::<Vec<_>>().join(", ");
        let prelude = format!(
            "const ERF_P = array<f32, {}>({});\nconst ERF_Q = array<f32, {}>({});\n{}",
            ERF_P.len(),
            list(&ERF_P),
            ERF_Q.len(),
            list(&ERF_Q),
            include_str!("wgsl/prelude.wgsl")
        );
        Kernels { prelude, pipelines: RefCell::new(HashMap::new()) }
    }

    pub fn pipeline(&self, device: &wgpu::Device, kernel: Kernel) -> wgpu::ComputePipeline {
        self.pipelines
            .borrow_mut()
            .entry(kernel)
            .or_insert_with(|| {
                let label = format!("{kernel:?}");
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(&label),
                    source: wgpu::ShaderSource::Wgsl(format!("{}\n{}", self.prelude, kernel.source()).into()),
                });
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&label),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                })
            })
            .clone()
    }
}

/// A unary function as the prelude's `unary(v, code, a, b)` takes it: its code and two numbers.
pub fn unary_code(kind: UnaryKind) -> (u32, f32, f32) {
    match kind {
        UnaryKind::Activation(a) => activation_code(a),
        UnaryKind::Erf => (9, 0.0, 0.0),
        UnaryKind::Sqrt | UnaryKind::Powf(0.5) => (10, 0.0, 0.0),
        UnaryKind::Exp => (11, 0.0, 0.0),
        UnaryKind::Neg => (12, 0.0, 0.0),
        UnaryKind::Abs => (13, 0.0, 0.0),
        UnaryKind::Reciprocal => (14, 0.0, 0.0),
        UnaryKind::Powf(2.0) => (15, 0.0, 0.0),
        UnaryKind::Powf(e) => (16, e, 0.0),
    }
}

/// An activation as the prelude's `unary` takes it (codes 0–8).
pub fn activation_code(a: Activation) -> (u32, f32, f32) {
    match a {
        Activation::None => (0, 0.0, 0.0),
        Activation::Relu => (1, 0.0, 0.0),
        Activation::LeakyRelu(alpha) => (2, alpha, 0.0),
        Activation::Sigmoid => (3, 0.0, 0.0),
        Activation::Tanh => (4, 0.0, 0.0),
        Activation::HardSigmoid { alpha, beta } => (5, alpha, beta),
        Activation::HardSwish => (6, 0.0, 0.0),
        Activation::Clip { min, max } => (7, min, max),
        Activation::Gelu => (8, 0.0, 0.0),
    }
}

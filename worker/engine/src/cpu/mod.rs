//! The CPU backend: candle-core tensors, candle's kernels where they serve, ours where candle has
//! none or is the bottleneck. The same code runs natively and on wasm-bindgen-rayon's pool.

mod buffers;
mod conv;
mod elementwise;
mod packed;
mod resample;
mod winograd;

use buffers::BufferArena;
pub(crate) use buffers::{OutputBuffer, with_scratch};
use candle_core::{DType, Device, Storage, Tensor};
use conv::WeightLayout;
use rayon::prelude::*;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ops::{BinaryKind, Op, ReduceKind, UnaryKind};
use crate::plan::{Plan, Step, ValueRef};

/// Runs plans on the CPU; parallel over rayon's current pool.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuBackend;

/// A CPU session's state: its activation buffers, and how each step's weight input is laid out.
#[derive(Debug)]
pub struct CpuState {
    buffers: BufferArena,
    /// Per step: the layout of a Conv's weights (its second input); `Filters` for other steps.
    weights: Vec<WeightLayout>,
}

impl Backend for CpuBackend {
    type Tensor = Tensor;
    type State = CpuState;

    fn name(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn upload(&self, _index: usize, host: &Tensor, _state: &CpuState) -> Result<Tensor> {
        Ok(host.clone())
    }

    async fn download(&self, tensors: &[&Tensor], _state: &CpuState) -> Result<Vec<Tensor>> {
        Ok(tensors.iter().map(|&t| t.clone()).collect())
    }

    /// Packs each conv's constant weights once for its micro-kernel (panels, or Winograd's
    /// transform), in place of the ONNX filters, so runs never repack.
    fn prepare(&self, plan: &Plan, mut constants: Vec<Tensor>) -> Result<(Vec<Tensor>, CpuState)> {
        let mut readers = vec![0usize; constants.len()];
        let refs = plan.steps.iter().flat_map(|step| &step.inputs).chain(plan.outputs.iter().map(|o| &o.value));
        for r in refs {
            if let ValueRef::Const(c) = r {
                readers[*c] += 1;
            }
        }
        let mut weights = vec![WeightLayout::Filters; plan.steps.len()];
        for (index, step) in plan.steps.iter().enumerate() {
            // Weights that anything else reads too stay as they are, and the conv packs them per
            // run: none of the product models shares conv weights.
            let (Op::Conv(conv), Some(&ValueRef::Const(w))) = (&step.op, step.inputs.get(1)) else { continue };
            if readers[w] != 1 {
                continue;
            }
            if let Some((packed, layout)) = conv::pack_weights(&constants[w], conv) {
                constants[w] = packed;
                weights[index] = layout;
            }
        }
        Ok((constants, CpuState { buffers: BufferArena::new(plan.buffers.clone()), weights }))
    }

    fn execute(&self, index: usize, step: &Step, inputs: &[&Tensor], state: &CpuState) -> Result<Tensor> {
        let output = state.buffers.output(step.buffer);
        let result = match &step.op {
            Op::Conv(c) => conv::conv2d(inputs, c, state.weights[index], &step.shape, &output),
            op => eval(op, inputs, &step.shape, &output),
        };
        result.map_err(|e| Error::node(&step.node, step.op.name(), e.to_string()))
    }

    fn recycle(&self, tensor: Tensor, buffer: usize, state: &CpuState) {
        state.buffers.reclaim(&tensor, buffer);
    }

    fn label(&self, index: usize, step: &Step, state: &CpuState) -> String {
        let Op::Conv(c) = &step.op else { return step.op.label() };
        match state.weights[index] {
            WeightLayout::Winograd => c.label(" winograd"),
            WeightLayout::Filters if c.group > 1 && step.shape.get(1) == Some(&c.group) => c.label(" depthwise"),
            _ => step.op.label(),
        }
    }
}

/// Evaluates one op, its output written into `output`; also used at plan time to fold
/// constants (including integer shape maths).
pub fn eval(op: &Op, inputs: &[&Tensor], shape: &[usize], output: &OutputBuffer) -> candle_core::Result<Tensor> {
    let x = inputs[0];
    match op {
        Op::Conv(c) => conv::conv2d(inputs, c, WeightLayout::Filters, shape, output),
        Op::ConvTranspose(c) => conv::conv_transpose2d(x, inputs[1], inputs.get(2).copied(), c, shape, output),
        Op::Pool { kind, window } => resample::pool2d(x, *kind, window, shape, output),
        Op::GlobalAveragePool => resample::global_average_pool(x, shape),
        Op::Resize(r) => resample::resize2d(x, r, shape, output),
        Op::Pad { pads, mode } => resample::pad(x, pads, *mode, shape, output),
        // Integer maths only happens at plan time (shape arithmetic): candle's generic ops do it.
        Op::Binary(kind) if x.dtype() != DType::F32 || inputs[1].dtype() != DType::F32 => {
            let y = inputs[1];
            match kind {
                BinaryKind::Add => x.broadcast_add(y),
                BinaryKind::Sub => x.broadcast_sub(y),
                BinaryKind::Mul => x.broadcast_mul(y),
                BinaryKind::Div => x.broadcast_div(y),
            }
        }
        Op::Binary(kind) => elementwise::binary(x, inputs[1], *kind, shape, output),
        Op::Unary(UnaryKind::Neg) if x.dtype() != DType::F32 => x.neg(),
        Op::Unary(UnaryKind::Abs) if x.dtype() != DType::F32 => x.abs(),
        Op::Unary(kind) => match *kind {
            UnaryKind::Activation(a) => elementwise::activation(x, a, output),
            UnaryKind::Erf => elementwise::unary(x, output, crate::ops::erf),
            UnaryKind::Sqrt => elementwise::unary(x, output, f32::sqrt),
            UnaryKind::Exp => elementwise::unary(x, output, f32::exp),
            UnaryKind::Neg => elementwise::unary(x, output, |v| -v),
            UnaryKind::Abs => elementwise::unary(x, output, f32::abs),
            UnaryKind::Reciprocal => elementwise::unary(x, output, f32::recip),
            UnaryKind::Powf(2.0) => elementwise::unary(x, output, |v| v * v),
            UnaryKind::Powf(0.5) => elementwise::unary(x, output, f32::sqrt),
            UnaryKind::Powf(e) => elementwise::unary(x, output, move |v| v.powf(e)),
        },
        Op::MatMul => matmul(x, inputs[1], shape, output),
        Op::Softmax { outer, len, inner } => elementwise::softmax(x, *outer, *len, *inner, output),
        Op::Reduce { kind, axes } => {
            let count: usize = axes.iter().map(|&a| x.dims()[a]).product();
            let mut t = x.clone();
            for &axis in axes.iter().rev() {
                t = t.sum_keepdim(axis)?;
            }
            if *kind == ReduceKind::Mean {
                t = (t / count as f64)?;
            }
            t.reshape(shape)
        }
        Op::Transpose { perm } => x.permute(perm.as_slice())?.contiguous(),
        Op::Reshape => x.reshape(shape),
        Op::Concat { axis } if inputs.iter().all(|t| t.dtype() == DType::F32) => {
            elementwise::concat(inputs, *axis, shape, output)
        }
        Op::Concat { axis } => Tensor::cat(inputs, *axis),
        Op::Slice { ranges } => {
            let mut t = x.clone();
            for (axis, &(start, step, count)) in ranges.iter().enumerate() {
                if step == 1 && start == 0 && count == t.dims()[axis] {
                    continue;
                }
                t = if step == 1 {
                    t.narrow(axis, start as usize, count)?
                } else {
                    let idx: Vec<u32> = (0..count as i64).map(|i| (start + i * step) as u32).collect();
                    t.index_select(&Tensor::new(idx.as_slice(), &Device::Cpu)?, axis)?
                };
            }
            t.contiguous()
        }
        Op::Gather { axis, indices, .. } => {
            let idx: Vec<u32> = indices.iter().map(|&i| i as u32).collect();
            x.index_select(&Tensor::new(idx.as_slice(), &Device::Cpu)?, *axis)?.reshape(shape)
        }
        Op::InstanceNorm { epsilon } => elementwise::instance_norm(x, inputs[1], inputs[2], *epsilon, output),
        Op::ChannelAffine => elementwise::channel_affine(x, inputs[1], inputs[2], output),
        Op::Cast(dtype) => x.to_dtype(*dtype),
    }
}

/// On the packed micro-kernels when b is one matrix or one per batch of a (candle's matmul sees
/// one thread on wasm); candle's broadcasting matmul otherwise.
fn matmul(a: &Tensor, b: &Tensor, shape: &[usize], output: &OutputBuffer) -> candle_core::Result<Tensor> {
    let (ad, bd) = (a.dims(), b.dims());
    let rank = ad.len();
    let (m, k, n) = (ad[rank - 2], ad[rank - 1], bd[bd.len() - 1]);
    let batch: usize = ad[..rank - 2].iter().product();
    let b_batched = bd.len() == rank && bd[..rank - 2] == ad[..rank - 2];
    if a.dtype() != DType::F32 || b.dtype() != DType::F32 || k == 0 || !(bd.len() == 2 || b_batched) {
        return a.contiguous()?.broadcast_matmul(&b.contiguous()?);
    }
    let len = batch * m * n;
    let out = with_f32(a, |a| {
        with_f32(b, |b| {
            let mut out = output.take(len);
            packed::matmul(a, b, [batch, m, k, n], b_batched && batch > 1, &mut out.spare_capacity_mut()[..len]);
            // SAFETY: matmul initialised all `len` elements.
            unsafe { out.set_len(len) };
            out
        })
    })??;
    tensor_from(out, shape)
}

/// Calls `f` with the tensor's f32 elements in row-major order (copying only a strided view).
pub(crate) fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    with_f32s(&[t], |slices| f(slices[0]))
}

/// `with_f32` for several tensors at once, their elements in the same order.
pub(crate) fn with_f32s<R>(ts: &[&Tensor], f: impl FnOnce(&[&[f32]]) -> R) -> candle_core::Result<R> {
    let owned = ts
        .iter()
        .map(|t| if t.dtype() == DType::F32 { t.contiguous() } else { t.to_dtype(DType::F32) })
        .collect::<candle_core::Result<Vec<Tensor>>>()?;
    let storages: Vec<_> = owned.iter().map(|t| t.storage_and_layout()).collect();
    let mut slices = Vec::with_capacity(ts.len());
    for (storage, layout) in &storages {
        let Storage::Cpu(cpu) = &**storage else {
            candle_core::bail!("the CPU backend was handed a tensor on another device")
        };
        let (start, end) = layout.contiguous_offsets().expect("contiguous after contiguous()");
        slices.push(&cpu.as_slice::<f32>()?[start..end]);
    }
    Ok(f(&slices))
}

pub(crate) fn tensor_from(data: Vec<f32>, shape: &[usize]) -> candle_core::Result<Tensor> {
    Tensor::from_vec(data, shape, &Device::Cpu)
}

/// Per window column kx, for a row of `width` read into `out_width` outputs: the offset of its
/// input column from `ox * stride`, and the output columns `first..last` that read inside the row;
/// the rest read padding.
pub(crate) fn column_taps(win: &crate::ops::Window, width: usize, out_width: usize) -> Vec<(isize, usize, usize)> {
    let stride = win.stride[1];
    (0..win.kernel[1])
        .map(|kx| {
            let offset = (kx * win.dilation[1]) as isize - win.pads[1] as isize;
            let first = if offset >= 0 { 0 } else { ((-offset) as usize).div_ceil(stride) };
            let last = if (width as isize) > offset {
                (((width as isize - offset - 1) as usize) / stride + 1).min(out_width)
            } else {
                0
            };
            (offset, first, last.max(first))
        })
        .collect()
}

/// `output`'s buffer for `len` floats, written by `fill(start, chunk)` for each chunk of `chunk` floats
/// (`start` its offset) over rayon. Each task zeroes its own chunk first, in cache: a buffer
/// zeroed up front costs one thread a pass over all of it before any work starts.
pub(crate) fn par_filled(
    output: &OutputBuffer,
    len: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [f32]) + Sync + Send,
) -> Vec<f32> {
    let chunk = chunk.max(1);
    let mut out = output.take(len);
    if len <= chunk {
        out.resize(len, 0.0);
        fill(0, &mut out);
        return out;
    }
    out.spare_capacity_mut()[..len].par_chunks_mut(chunk).enumerate().for_each(|(i, piece)| {
        piece.iter_mut().for_each(|v| {
            v.write(0.0);
        });
        // SAFETY: every element of the piece was initialised just above.
        let piece = unsafe { &mut *(piece as *mut [std::mem::MaybeUninit<f32>] as *mut [f32]) };
        fill(i * chunk, piece);
    });
    // SAFETY: the chunks cover all `len` elements, each initialised by its task.
    unsafe { out.set_len(len) };
    out
}

/// A pointer that rayon tasks share to write disjoint parts of one output buffer.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut(*mut f32);
// SAFETY: every user writes only to indices no other task touches.
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// For kernels that initialise every element; only written through the pointer, never read first.
    pub(crate) fn uninit(data: &mut [std::mem::MaybeUninit<f32>]) -> Self {
        SharedMut(data.as_mut_ptr() as *mut f32)
    }

    pub(crate) fn ptr(self) -> *mut f32 {
        self.0
    }
}

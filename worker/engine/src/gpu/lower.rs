//! Turning a plan step into dispatches, once per session: where its output lives, and which
//! kernels with which parameters make it. The op families' own lowering lives beside this file
//! (conv.rs, elementwise.rs, layout.rs, reduce.rs, resample.rs); this file holds what they share.

use candle_core::DType;

use super::kernels::{FIRST_PARAM, Kernel, Kernels, PARAM_WORDS, WORKGROUP};
use super::memory::Home;
use super::{GpuTensor, PreparedStep, conv, elementwise, layout, reduce, resample};
use crate::error::{Error, Result};
use crate::ops::Op;
use crate::plan::Step;

/// One kernel launch, with everything bound.
pub struct Dispatch {
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
    pub workgroups: [u32; 3],
}

/// What lowering a session's steps builds up: its buffers, and the device to make more with.
pub struct Lowering<'a> {
    device: &'a wgpu::Device,
    queue: &'a wgpu::Queue,
    kernels: &'a Kernels,
    limits: wgpu::Limits,
    buffers: Vec<wgpu::Buffer>,
    /// One float, bound where a kernel's optional input (a bias, a residual) is absent.
    placeholder: Option<GpuTensor>,
}

impl<'a> Lowering<'a> {
    pub fn new(device: &'a wgpu::Device, queue: &'a wgpu::Queue, kernels: &'a Kernels, limits: wgpu::Limits) -> Self {
        Lowering { device, queue, kernels, limits, buffers: Vec::new(), placeholder: None }
    }

    /// A buffer holding `contents`, written through the queue before the first run's work. A
    /// buffer mapped at creation would be simpler, but on a lost device the browser refuses to map
    /// it and wgpu panics; a queued write on a lost device does nothing, and the run then fails.
    fn filled(&self, label: &str, contents: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: contents.len() as u64,
            usage: usage | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&buffer, 0, contents);
        buffer
    }

    /// A new storage buffer of `floats` f32, or why the adapter cannot hold it in one binding.
    pub fn buffer(&mut self, floats: usize, label: &str) -> Result<usize> {
        let bytes = self.checked_size(floats)?;
        self.buffers.push(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }));
        Ok(self.buffers.len() - 1)
    }

    /// A new storage buffer holding `values`.
    pub fn buffer_with(&mut self, values: &[f32], label: &str) -> Result<usize> {
        self.checked_size(values.len())?;
        let contents: &[u8] = if values.is_empty() { &[0; 4] } else { bytemuck::cast_slice(values) };
        let buffer = self.filled(label, contents, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC);
        self.buffers.push(buffer);
        Ok(self.buffers.len() - 1)
    }

    fn checked_size(&self, floats: usize) -> Result<u64> {
        let bytes = (floats.max(1) * 4) as u64;
        let limit = self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size);
        if bytes > limit {
            return Err(Error::Backend(format!(
                "a tensor of {} MiB is larger than this GPU binds at once ({} MiB)",
                bytes >> 20,
                limit >> 20
            )));
        }
        Ok(bytes)
    }

    /// The tensor to bind in place of an absent optional input.
    pub fn placeholder(&mut self) -> Result<GpuTensor> {
        if let Some(p) = &self.placeholder {
            return Ok(p.clone());
        }
        let buffer = self.buffer(1, "placeholder")?;
        let p = GpuTensor { buffer, offset: 0, shape: vec![1] };
        self.placeholder = Some(p.clone());
        Ok(p)
    }

    /// One launch of `kernel` over `tensors` (its inputs in binding order, then its output), with
    /// the kernel's own parameter words.
    pub fn dispatch(
        &mut self,
        kernel: Kernel,
        words: &[u32],
        tensors: &[&GpuTensor],
        workgroups: [u32; 3],
    ) -> Result<Dispatch> {
        let mut block = [0u32; PARAM_WORDS];
        for (slot, t) in block.iter_mut().zip(tensors) {
            *slot = u32_of(t.offset)?;
        }
        block[FIRST_PARAM..FIRST_PARAM + words.len()].copy_from_slice(words);
        let params = self.filled("params", bytemuck::cast_slice(&block), wgpu::BufferUsages::UNIFORM);
        let pipeline = self.kernels.pipeline(self.device, kernel);
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() }];
        for (i, t) in tensors.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: self.buffers[t.buffer].as_entire_binding(),
            });
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let max = self.limits.max_compute_workgroups_per_dimension;
        if workgroups.iter().any(|&g| g > max) {
            return Err(Error::Backend(format!("{workgroups:?} workgroups exceed this GPU's {max} per dimension")));
        }
        Ok(Dispatch { pipeline, bind_group, workgroups })
    }

    pub fn finish(self) -> Vec<wgpu::Buffer> {
        self.buffers
    }
}

/// Workgroups for a flat kernel of `count` invocations, `WORKGROUP` each, as a 2-D grid when one
/// dimension would pass 65535.
pub fn flat(count: usize) -> [u32; 3] {
    grid(count.div_ceil(WORKGROUP))
}

/// A grid of `groups` workgroups (one per output row or element), folded into two dimensions.
pub fn grid(groups: usize) -> [u32; 3] {
    let x = groups.clamp(1, 65535);
    [x as u32, groups.div_ceil(x).max(1) as u32, 1]
}

pub fn u32_of(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::Backend(format!("{n} is beyond the GPU kernels' 32-bit indices")))
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// Up to `MAX_RANK` values as parameter words, zero-filled.
pub const MAX_RANK: usize = 6;
pub fn axis_words(values: impl IntoIterator<Item = i64>) -> Result<[u32; MAX_RANK]> {
    let mut words = [0u32; MAX_RANK];
    for (i, v) in values.into_iter().enumerate() {
        if i >= MAX_RANK {
            return Err(Error::Backend(format!("the GPU kernels take at most {MAX_RANK} axes")));
        }
        words[i] = i32::try_from(v).map_err(|_| Error::Backend(format!("{v} overflows a GPU index")))? as u32;
    }
    Ok(words)
}

/// Lowers one step: a view of its input where the op only renames elements, else its kernels
/// writing at `home` (`memory::layout`).
pub fn lower(cx: &mut Lowering, step: &Step, args: &[GpuTensor], home: Home) -> Result<PreparedStep> {
    let label = match &step.op {
        Op::Conv(c) if c.group == 1 => c.label(" gemm"),
        op => op.label(),
    };
    let x = &args[0];
    let (buffer, offset) = match (view_offset(&step.op, args.len(), &x.shape)?, home) {
        (Some(offset), Home::View) => {
            let output = GpuTensor { buffer: x.buffer, offset: x.offset + offset, shape: step.shape.clone() };
            return Ok(PreparedStep { dispatches: Vec::new(), output, label });
        }
        (None, Home::Buffer { buffer, offset }) => (buffer, offset),
        _ => return Err(Error::Backend("the GPU's layout and its lowering disagree on a view".into())),
    };
    let out = GpuTensor { buffer, offset, shape: step.shape.clone() };
    // WebGPU forbids binding one buffer as an input and the output of a dispatch; the layout never
    // asks for it (a concatenation does not read the inputs already in place).
    let in_place = match step.op {
        Op::Concat { axis } => layout::concat_in_place(axis, args, &out),
        _ => vec![false; args.len()],
    };
    if args.iter().zip(in_place).any(|(a, placed)| a.buffer == buffer && !placed) {
        return Err(Error::Backend("the GPU's layout binds one buffer as an input and the output".into()));
    }
    let dispatches = match &step.op {
        Op::Conv(c) => conv::conv(cx, c, args, &out)?,
        Op::ConvTranspose(c) => conv::conv_transpose(cx, c, args, &out)?,
        Op::Pool { kind, window } => resample::pool(cx, *kind, window, args, &out)?,
        Op::Resize(r) => resample::resize(cx, r, args, &out)?,
        Op::Binary(kind) => elementwise::binary(cx, *kind, args, &out)?,
        Op::Unary(kind) => elementwise::unary(cx, *kind, args, &out)?,
        Op::ChannelAffine => elementwise::channel_affine(cx, args, &out)?,
        Op::MatMul => elementwise::matmul(cx, args, &out)?,
        Op::GlobalAveragePool => reduce::reduce(cx, true, &[2, 3], args, &out)?,
        Op::Reduce { kind, axes } => reduce::reduce(cx, *kind == crate::ops::ReduceKind::Mean, axes, args, &out)?,
        Op::Softmax { outer, len, inner } => reduce::softmax(cx, *outer, *len, *inner, args, &out)?,
        Op::InstanceNorm { epsilon } => reduce::instance_norm(cx, *epsilon, args, &out)?,
        Op::Pad { pads, mode } => layout::pad(cx, pads, *mode, args, &out)?,
        Op::Transpose { perm } => layout::transpose(cx, perm, args, &out)?,
        Op::Slice { ranges } => layout::slice(cx, ranges, args, &out)?,
        Op::Concat { axis } => layout::concat(cx, *axis, args, &out)?,
        Op::Gather { axis, indices, .. } => layout::gather(cx, *axis, indices, args, &out)?,
        Op::Reshape | Op::Cast(_) => unreachable!("views are lowered above"),
    };
    Ok(PreparedStep { dispatches, output: out, label })
}

/// Where a step's output is a view of its first input (of shape `input`), the offset into it: a
/// reshape, a cast to f32, a single-input concat, or a slice of contiguous elements.
pub fn view_offset(op: &Op, inputs: usize, input: &[usize]) -> Result<Option<usize>> {
    Ok(match op {
        Op::Reshape | Op::Cast(DType::F32) => Some(0),
        Op::Cast(dtype) => return Err(Error::Backend(format!("the GPU runs f32 only, not {dtype:?}"))),
        Op::Concat { .. } if inputs == 1 => Some(0),
        Op::Slice { ranges } => layout::contiguous_slice(ranges, input),
        _ => None,
    })
}

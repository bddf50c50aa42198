//! Per-element and per-channel kernels, split over rayon (candle's run on one thread).

use candle_core::Tensor;
use rayon::prelude::*;

use super::{OutputBuffer, par_filled, tensor_from, with_f32, with_f32s};
use crate::ops::{Activation, BinaryKind};

const CHUNK: usize = 1 << 14;

/// Softmax over the middle axis of an [outer, len, inner] view.
pub fn softmax(
    x: &Tensor,
    outer: usize,
    len: usize,
    inner: usize,
    output: &OutputBuffer,
) -> candle_core::Result<Tensor> {
    let mut data = with_f32(x, |x| {
        let mut data = output.take(x.len());
        data.extend_from_slice(x);
        data
    })?;
    if inner == 1 {
        // The usual case, a softmax over the last axis: contiguous rows, loops that vectorise.
        data.par_chunks_mut(len).for_each(|row| {
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
            row.iter_mut().for_each(|v| *v = crate::ops::exp(*v - max));
            // Eight partial sums: a single running sum would keep the loop scalar.
            let mut partial = [0f32; 8];
            let mut chunks = row.chunks_exact(8);
            for chunk in &mut chunks {
                partial.iter_mut().zip(chunk).for_each(|(p, &v)| *p += v);
            }
            let scale = 1.0 / (partial.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>());
            row.iter_mut().for_each(|v| *v *= scale);
        });
        return tensor_from(data, x.dims());
    }
    data.par_chunks_mut(len * inner).take(outer).for_each(|block| {
        for j in 0..inner {
            let max = (0..len).map(|i| block[i * inner + j]).fold(f32::NEG_INFINITY, |m, v| if v > m { v } else { m });
            let mut sum = 0.0;
            for i in 0..len {
                let e = crate::ops::exp(block[i * inner + j] - max);
                block[i * inner + j] = e;
                sum += e;
            }
            for i in 0..len {
                block[i * inner + j] /= sum;
            }
        }
    });
    tensor_from(data, x.dims())
}

fn channels_and_plane(x: &Tensor) -> (usize, usize) {
    let dims = x.dims();
    let channels = dims.get(1).copied().unwrap_or(1);
    (channels, dims.iter().skip(2).product())
}

pub fn instance_norm(
    x: &Tensor,
    scale: &Tensor,
    bias: &Tensor,
    epsilon: f32,
    output: &OutputBuffer,
) -> candle_core::Result<Tensor> {
    let (channels, plane) = channels_and_plane(x);
    let (scale, bias) = (scale.to_vec1::<f32>()?, bias.to_vec1::<f32>()?);
    let data = with_f32(x, |x| {
        par_filled(output, x.len(), plane, |start, p| {
            p.copy_from_slice(&x[start..][..p.len()]);
            let c = (start / plane.max(1)) % channels;
            // f64 sums: planes of a million values lose digits in f32.
            let mean = p.iter().map(|&v| v as f64).sum::<f64>() / plane as f64;
            let var = p.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / plane as f64;
            let k = scale[c] as f64 / (var + epsilon as f64).sqrt();
            let (k, shift) = (k as f32, (bias[c] as f64 - mean * k) as f32);
            p.iter_mut().for_each(|v| *v = *v * k + shift);
        })
    })?;
    tensor_from(data, x.dims())
}

pub fn channel_affine(
    x: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
    output: &OutputBuffer,
) -> candle_core::Result<Tensor> {
    let (channels, plane) = channels_and_plane(x);
    let (scale, shift) = (scale.to_vec1::<f32>()?, shift.to_vec1::<f32>()?);
    let data = with_f32(x, |x| {
        par_filled(output, x.len(), plane, |start, p| {
            let c = (start / plane.max(1)) % channels;
            p.iter_mut().zip(&x[start..]).for_each(|(v, &x)| *v = x * scale[c] + shift[c]);
        })
    })?;
    tensor_from(data, x.dims())
}

/// Element-wise `f(x, y)` with numpy broadcasting. candle's broadcast ops run on one thread and
/// walk a strided index per element; here dimensions that are contiguous (or broadcast) in both
/// operands merge, so the inner loop is a plain run split over rayon.
pub fn binary(
    x: &Tensor,
    y: &Tensor,
    kind: BinaryKind,
    shape: &[usize],
    output: &OutputBuffer,
) -> candle_core::Result<Tensor> {
    let (xs, ys) = (broadcast_strides(x.dims(), shape), broadcast_strides(y.dims(), shape));
    // (length, x stride, y stride) from outermost to innermost, merged where the layout allows.
    let mut dims: Vec<(usize, usize, usize)> = Vec::new();
    for i in 0..shape.len() {
        let d = (shape[i], xs[i], ys[i]);
        if d.0 == 1 {
            continue;
        }
        match dims.last_mut() {
            Some(last) if last.1 == d.1 * d.0 && last.2 == d.2 * d.0 => *last = (last.0 * d.0, d.1, d.2),
            _ => dims.push(d),
        }
    }
    let (run, ix, iy) = dims.pop().unwrap_or((1, 0, 0));
    let out = with_f32(x, |x| {
        with_f32(y, |y| {
            // `dst` holds elements `at..` of output run `row`.
            let body = |row: usize, at: usize, dst: &mut [f32]| {
                let (mut ox, mut oy, mut rest) = (at * ix, at * iy, row);
                for &(len, sx, sy) in dims.iter().rev() {
                    let i = rest % len;
                    rest /= len;
                    ox += i * sx;
                    oy += i * sy;
                }
                match kind {
                    BinaryKind::Add => apply_run(dst, &x[ox..], ix, &y[oy..], iy, |a, b| a + b),
                    BinaryKind::Sub => apply_run(dst, &x[ox..], ix, &y[oy..], iy, |a, b| a - b),
                    BinaryKind::Mul => apply_run(dst, &x[ox..], ix, &y[oy..], iy, |a, b| a * b),
                    BinaryKind::Div => apply_run(dst, &x[ox..], ix, &y[oy..], iy, |a, b| a / b),
                }
            };
            // Chunks split long runs too: two same-shape tensors merge into one run of everything.
            par_filled(output, shape.iter().product(), CHUNK, |start, dst| {
                let mut done = 0;
                while done < dst.len() {
                    let (row, at) = ((start + done) / run, (start + done) % run);
                    let n = (run - at).min(dst.len() - done);
                    body(row, at, &mut dst[done..done + n]);
                    done += n;
                }
            })
        })
    })??;
    tensor_from(out, shape)
}

/// Strides of `dims` read as `shape` under broadcasting: 0 along broadcast axes.
fn broadcast_strides(dims: &[usize], shape: &[usize]) -> Vec<usize> {
    let offset = shape.len() - dims.len();
    let mut strides = vec![0; shape.len()];
    let mut stride = 1;
    for i in (0..dims.len()).rev() {
        if dims[i] != 1 {
            strides[i + offset] = stride;
        }
        stride *= dims[i];
    }
    strides
}

#[inline(always)]
fn apply_run(dst: &mut [f32], x: &[f32], ix: usize, y: &[f32], iy: usize, f: impl Fn(f32, f32) -> f32) {
    let n = dst.len();
    match (ix, iy) {
        (1, 1) => dst.iter_mut().zip(&x[..n]).zip(&y[..n]).for_each(|((d, &a), &b)| *d = f(a, b)),
        (1, _) => {
            let b = y[0];
            dst.iter_mut().zip(&x[..n]).for_each(|(d, &a)| *d = f(a, b));
        }
        (_, 1) => {
            let a = x[0];
            dst.iter_mut().zip(&y[..n]).for_each(|(d, &b)| *d = f(a, b));
        }
        _ => dst.fill(f(x[0], y[0])),
    }
}

/// Element-wise math over rayon; candle's unary ops run on one thread. Each chunk is one plain
/// loop, which vectorises where a per-element map through rayon's collect does not.
pub fn unary(x: &Tensor, output: &OutputBuffer, f: impl Fn(f32) -> f32 + Sync + Send) -> candle_core::Result<Tensor> {
    let data = with_f32(x, |x| {
        par_filled(output, x.len(), CHUNK, |start, dst| dst.iter_mut().zip(&x[start..]).for_each(|(d, &v)| *d = f(v)))
    })?;
    tensor_from(data, x.dims())
}

/// A standalone activation, its variant matched once per chunk rather than once per value.
pub fn activation(x: &Tensor, activation: Activation, output: &OutputBuffer) -> candle_core::Result<Tensor> {
    let data = with_f32(x, |x| {
        par_filled(output, x.len(), CHUNK, |start, dst| {
            dst.copy_from_slice(&x[start..][..dst.len()]);
            super::packed::activate(activation, dst);
        })
    })?;
    tensor_from(data, x.dims())
}

/// Concatenation, in chunks of the output split over rayon, each copied from the input slabs it spans.
pub fn concat(inputs: &[&Tensor], axis: usize, shape: &[usize], output: &OutputBuffer) -> candle_core::Result<Tensor> {
    let inner: usize = shape[axis + 1..].iter().product();
    let block = shape[axis] * inner;
    let out = with_f32s(inputs, |slices| {
        // Each input's elements, and where its slab starts within an output block.
        let mut sources: Vec<(&[f32], usize)> = Vec::with_capacity(inputs.len());
        let mut start = 0;
        for (t, &src) in inputs.iter().zip(slices) {
            sources.push((src, start));
            start += t.dims()[axis] * inner;
        }
        par_filled(output, shape.iter().product(), CHUNK, |at, dst| {
            let mut done = 0;
            while done < dst.len() {
                let (outer, within) = ((at + done) / block, (at + done) % block);
                let index = sources.partition_point(|&(_, slab_start)| slab_start <= within) - 1;
                let (src, slab_start) = sources[index];
                let slab_end = sources.get(index + 1).map_or(block, |s| s.1);
                let width = slab_end - slab_start;
                let n = (slab_end - within).min(dst.len() - done);
                dst[done..done + n].copy_from_slice(&src[outer * width + within - slab_start..][..n]);
                done += n;
            }
        })
    })?;
    tensor_from(out, shape)
}

//! Reductions: sums and means over axes (the global average pool among them), softmax, and
//! instance normalisation, each one workgroup per output row.

use super::GpuTensor;
use super::kernels::Kernel;
use super::lower::{Dispatch, Lowering, axis_words, grid, strides, u32_of};
use crate::error::Result;

/// The sum, or the mean, of `x` over `axes`.
pub fn reduce(
    cx: &mut Lowering,
    mean: bool,
    axes: &[usize],
    args: &[GpuTensor],
    out: &GpuTensor,
) -> Result<Vec<Dispatch>> {
    let shape = &args[0].shape;
    let own = strides(shape);
    let (reduced, kept): (Vec<usize>, Vec<usize>) = (0..shape.len()).partition(|d| axes.contains(d));
    let outputs: usize = kept.iter().map(|&d| shape[d]).product();
    let count: usize = reduced.iter().map(|&d| shape[d]).product();
    let mut words = vec![u32_of(outputs)?, u32_of(kept.len())?];
    words.extend(axis_words(kept.iter().map(|&d| shape[d] as i64))?);
    words.extend(axis_words(kept.iter().map(|&d| own[d] as i64))?);
    words.extend([u32_of(count)?, u32_of(reduced.len())?]);
    words.extend(axis_words(reduced.iter().map(|&d| shape[d] as i64))?);
    words.extend(axis_words(reduced.iter().map(|&d| own[d] as i64))?);
    words.push(mean as u32);
    Ok(vec![cx.dispatch(Kernel::Reduce, &words, &[&args[0], out], grid(outputs))?])
}

pub fn softmax(
    cx: &mut Lowering,
    outer: usize,
    len: usize,
    inner: usize,
    args: &[GpuTensor],
    out: &GpuTensor,
) -> Result<Vec<Dispatch>> {
    let words = [u32_of(outer * inner)?, u32_of(len)?, u32_of(inner)?];
    Ok(vec![cx.dispatch(Kernel::Softmax, &words, &[&args[0], out], grid(outer * inner))?])
}

/// inputs: x, scale [C], bias [C].
pub fn instance_norm(cx: &mut Lowering, epsilon: f32, args: &[GpuTensor], out: &GpuTensor) -> Result<Vec<Dispatch>> {
    let shape = &out.shape;
    let planes = shape[0] * shape[1];
    let plane: usize = shape[2..].iter().product();
    let words = [u32_of(planes)?, u32_of(shape[1])?, u32_of(plane)?, epsilon.to_bits()];
    Ok(vec![cx.dispatch(Kernel::InstanceNorm, &words, &[&args[0], &args[1], &args[2], out], grid(planes))?])
}

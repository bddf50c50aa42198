//! Moving elements: transposes, slices, concatenation, gathers and padding. All but padding are
//! the one strided copy kernel (copy.wgsl) with different strides.

use super::GpuTensor;
use super::kernels::Kernel;
use super::lower::{Dispatch, Lowering, axis_words, flat, strides, u32_of};
use crate::error::Result;
use crate::ops::PadMode;

/// A copy over the index space `dims`: y[out_base + Σ c·out_strides] = x[in_base + Σ c·in_strides].
fn copy(
    cx: &mut Lowering,
    dims: &[usize],
    (x, in_strides, in_base): (&GpuTensor, &[i64], i64),
    (y, out_strides, out_base): (&GpuTensor, &[i64], i64),
) -> Result<Dispatch> {
    let count: usize = dims.iter().product();
    let mut words = vec![u32_of(count)?, u32_of(dims.len())?];
    words.extend(axis_words(dims.iter().map(|&d| d as i64))?);
    words.extend(axis_words(in_strides.iter().copied())?);
    words.extend(axis_words(out_strides.iter().copied())?);
    words.extend(axis_words([in_base, out_base])?[..2].iter().copied());
    cx.dispatch(Kernel::Copy, &words, &[x, y], flat(count))
}

fn signed(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&s| s as i64).collect()
}

pub fn transpose(cx: &mut Lowering, perm: &[usize], args: &[GpuTensor], out: &GpuTensor) -> Result<Vec<Dispatch>> {
    let own = strides(&args[0].shape);
    let reads: Vec<i64> = perm.iter().map(|&p| own[p] as i64).collect();
    Ok(vec![copy(cx, &out.shape, (&args[0], &reads, 0), (out, &signed(&strides(&out.shape)), 0))?])
}

/// Per axis (first index, step, count).
pub fn slice(
    cx: &mut Lowering,
    ranges: &[(i64, i64, usize)],
    args: &[GpuTensor],
    out: &GpuTensor,
) -> Result<Vec<Dispatch>> {
    let own = strides(&args[0].shape);
    let reads: Vec<i64> = ranges.iter().zip(&own).map(|(&(_, step, _), &s)| step * s as i64).collect();
    let base: i64 = ranges.iter().zip(&own).map(|(&(start, _, _), &s)| start * s as i64).sum();
    Ok(vec![copy(cx, &out.shape, (&args[0], &reads, base), (out, &signed(&strides(&out.shape)), 0))?])
}

/// Where a slice is one run of contiguous elements, the offset of its first: every axis after
/// the last one it cuts is whole, that axis steps by 1, and every axis before it is taken once.
pub fn contiguous_slice(ranges: &[(i64, i64, usize)], shape: &[usize]) -> Option<usize> {
    if ranges.len() != shape.len() {
        return None;
    }
    let cut = (0..ranges.len()).rev().find(|&d| ranges[d] != (0, 1, shape[d]));
    if let Some(cut) = cut
        && ((ranges[cut].1 != 1 && ranges[cut].2 > 1) || ranges[..cut].iter().any(|r| r.2 != 1))
    {
        return None;
    }
    let own = strides(shape);
    Some(ranges.iter().zip(&own).map(|(&(start, _, _), &s)| start as usize * s).sum())
}

/// Copies each input of a concatenation along `axis` into its slice of `out`, but for those
/// written there in place (`memory::layout`).
pub fn concat(cx: &mut Lowering, axis: usize, args: &[GpuTensor], out: &GpuTensor) -> Result<Vec<Dispatch>> {
    let writes = signed(&strides(&out.shape));
    let in_place = concat_in_place(axis, args, out);
    let mut at = 0;
    let mut dispatches = Vec::with_capacity(args.len());
    for (x, placed) in args.iter().zip(in_place) {
        if x.len() > 0 && !placed {
            let reads = signed(&strides(&x.shape));
            dispatches.push(copy(cx, &x.shape, (x, &reads, 0), (out, &writes, at * writes[axis]))?);
        }
        at += x.shape[axis] as i64;
    }
    Ok(dispatches)
}

/// Per input of a concatenation along `axis` into `out`, whether it already is its slice of
/// `out`: the same buffer at the slice's offset, where every axis before `axis` is 1, so each
/// slice is one run of elements.
pub fn concat_in_place(axis: usize, args: &[GpuTensor], out: &GpuTensor) -> Vec<bool> {
    let contiguous = out.shape[..axis].iter().all(|&d| d == 1);
    let inner: usize = out.shape[axis + 1..].iter().product();
    let mut at = 0;
    args.iter()
        .map(|x| {
            let placed = contiguous && x.buffer == out.buffer && x.offset == out.offset + at * inner;
            at += x.shape[axis];
            placed
        })
        .collect()
}

/// One copy per index, each moving the slab it picks: [outer, 1, inner] of the input to
/// [outer, 1, inner] of the output.
pub fn gather(
    cx: &mut Lowering,
    axis: usize,
    indices: &[usize],
    args: &[GpuTensor],
    out: &GpuTensor,
) -> Result<Vec<Dispatch>> {
    let shape = &args[0].shape;
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let (along, picked) = (shape[axis] as i64, indices.len() as i64);
    let inner_i = inner as i64;
    indices
        .iter()
        .enumerate()
        .map(|(j, &index)| {
            copy(
                cx,
                &[outer, inner],
                (&args[0], &[along * inner_i, 1], index as i64 * inner_i),
                (out, &[picked * inner_i, 1], j as i64 * inner_i),
            )
        })
        .collect()
}

pub fn pad(
    cx: &mut Lowering,
    pads: &[[usize; 2]],
    mode: PadMode,
    args: &[GpuTensor],
    out: &GpuTensor,
) -> Result<Vec<Dispatch>> {
    let rank = out.shape.len();
    let mut words = vec![u32_of(out.len())?, u32_of(rank)?];
    words.extend(axis_words(out.shape.iter().map(|&d| d as i64))?);
    words.extend(axis_words(args[0].shape.iter().map(|&d| d as i64))?);
    words.extend(axis_words(pads.iter().map(|p| p[0] as i64))?);
    let (code, value) = match mode {
        PadMode::Constant(v) => (0, v),
        PadMode::Reflect => (1, 0.0),
        PadMode::Edge => (2, 0.0),
    };
    words.extend([code, value.to_bits()]);
    Ok(vec![cx.dispatch(Kernel::Pad, &words, &[&args[0], out], flat(out.len()))?])
}

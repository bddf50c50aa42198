//! Element-wise ops with broadcasting, the per-channel affine, and matrix products.

use super::GpuTensor;
use super::kernels::{Kernel, unary_code};
use super::lower::{Dispatch, Lowering, axis_words, flat, strides, u32_of};
use crate::error::{Error, Result};
use crate::ops::{BinaryKind, UnaryKind};

/// Strides that read `shape`, aligned to the right of `rank` output axes, as numpy broadcasts
/// it: 0 along an axis the operand lacks or has once.
fn broadcast_strides(shape: &[usize], rank: usize) -> Vec<i64> {
    let own = strides(shape);
    (0..rank)
        .map(|d| match (d + shape.len()).checked_sub(rank) {
            Some(i) if shape[i] != 1 => own[i] as i64,
            _ => 0,
        })
        .collect()
}

pub fn binary(cx: &mut Lowering, kind: BinaryKind, args: &[GpuTensor], out: &GpuTensor) -> Result<Vec<Dispatch>> {
    let rank = out.shape.len();
    let mut words = vec![u32_of(out.len())?, u32_of(rank)?];
    words.extend(axis_words(out.shape.iter().map(|&d| d as i64))?);
    words.extend(axis_words(broadcast_strides(&args[0].shape, rank))?);
    words.extend(axis_words(broadcast_strides(&args[1].shape, rank))?);
    words.push(match kind {
        BinaryKind::Add => 0,
        BinaryKind::Sub => 1,
        BinaryKind::Mul => 2,
        BinaryKind::Div => 3,
    });
    Ok(vec![cx.dispatch(Kernel::Binary, &words, &[&args[0], &args[1], out], flat(out.len()))?])
}

pub fn unary(cx: &mut Lowering, kind: UnaryKind, args: &[GpuTensor], out: &GpuTensor) -> Result<Vec<Dispatch>> {
    let (code, a, b) = unary_code(kind);
    let words = [u32_of(out.len())?, code, a.to_bits(), b.to_bits()];
    Ok(vec![cx.dispatch(Kernel::Unary, &words, &[&args[0], out], flat(out.len()))?])
}

/// inputs: x, scale [C], shift [C].
pub fn channel_affine(cx: &mut Lowering, args: &[GpuTensor], out: &GpuTensor) -> Result<Vec<Dispatch>> {
    let plane: usize = out.shape[2..].iter().product();
    let words = [u32_of(out.len())?, u32_of(out.shape[1])?, u32_of(plane)?];
    Ok(vec![cx.dispatch(Kernel::ChannelAffine, &words, &[&args[0], &args[1], &args[2], out], flat(out.len()))?])
}

/// [.., M, K] × [.., K, N], the batch axes broadcast.
pub fn matmul(cx: &mut Lowering, args: &[GpuTensor], out: &GpuTensor) -> Result<Vec<Dispatch>> {
    let (a, b) = (&args[0].shape, &args[1].shape);
    if a.len() < 2 || b.len() < 2 {
        return Err(Error::Backend("the GPU's MatMul takes operands of two axes or more".into()));
    }
    let rank = out.shape.len();
    let (m, k, n) = (a[a.len() - 2], a[a.len() - 1], b[b.len() - 1]);
    let batch_dims = &out.shape[..rank - 2];
    if batch_dims.len() > 4 {
        return Err(Error::Backend("the GPU's MatMul takes at most 4 batch axes".into()));
    }
    // Each operand's batch strides, in matrices, broadcast against the output's batch axes.
    let batch_strides = |shape: &[usize], matrix: usize| {
        broadcast_strides(&shape[..shape.len() - 2], batch_dims.len()).into_iter().map(move |s| s * matrix as i64)
    };
    let batches: usize = batch_dims.iter().product();
    let mut words = vec![u32_of(batches)?, u32_of(m)?, u32_of(k)?, u32_of(n)?, u32_of(batch_dims.len())?];
    let four = |v: Vec<i64>| -> Result<Vec<u32>> { Ok(axis_words(v)?[..4].to_vec()) };
    words.extend(four(batch_dims.iter().map(|&d| d as i64).collect())?);
    words.extend(four(batch_strides(a, m * k).collect())?);
    words.extend(four(batch_strides(b, k * n).collect())?);
    let groups = [u32_of(n.div_ceil(16))?, u32_of(m.div_ceil(16))?, u32_of(batches)?];
    Ok(vec![cx.dispatch(Kernel::MatMul, &words, &[&args[0], &args[1], out], groups)?])
}

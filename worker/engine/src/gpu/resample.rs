//! Pooling and resizing of NCHW planes.

use super::GpuTensor;
use super::kernels::Kernel;
use super::lower::{Dispatch, Lowering, flat, u32_of};
use crate::error::Result;
use crate::ops::{CoordinateTransform, NearestRounding, PoolKind, Resize, ResizeMode, Window};

pub fn pool(
    cx: &mut Lowering,
    kind: PoolKind,
    w: &Window,
    args: &[GpuTensor],
    out: &GpuTensor,
) -> Result<Vec<Dispatch>> {
    let (xs, os) = (&args[0].shape, &out.shape);
    let mut words = vec![u32_of(out.len())?];
    for n in [xs[2], xs[3], os[2], os[3], w.kernel[0], w.kernel[1], w.stride[0], w.stride[1]] {
        words.push(u32_of(n)?);
    }
    for n in [w.dilation[0], w.dilation[1], w.pads[0], w.pads[1]] {
        words.push(u32_of(n)?);
    }
    words.push(match kind {
        PoolKind::Max => 0,
        PoolKind::Average { count_include_pad: true } => 1,
        PoolKind::Average { count_include_pad: false } => 2,
    });
    Ok(vec![cx.dispatch(Kernel::Pool, &words, &[&args[0], out], flat(out.len()))?])
}

pub fn resize(cx: &mut Lowering, r: &Resize, args: &[GpuTensor], out: &GpuTensor) -> Result<Vec<Dispatch>> {
    let (xs, os) = (&args[0].shape, &out.shape);
    let mut words = vec![u32_of(out.len())?];
    for n in [xs[2], xs[3], os[2], os[3]] {
        words.push(u32_of(n)?);
    }
    let transform = match r.transform {
        CoordinateTransform::HalfPixel => 0,
        CoordinateTransform::PytorchHalfPixel => 1,
        CoordinateTransform::AlignCorners => 2,
        CoordinateTransform::Asymmetric => 3,
    };
    let mode = match r.mode {
        ResizeMode::Linear => 0,
        ResizeMode::Nearest(NearestRounding::RoundPreferFloor) => 1,
        ResizeMode::Nearest(NearestRounding::RoundPreferCeil) => 2,
        ResizeMode::Nearest(NearestRounding::Floor) => 3,
        ResizeMode::Nearest(NearestRounding::Ceil) => 4,
    };
    words.extend([r.scale[0].to_bits(), r.scale[1].to_bits(), transform, mode]);
    Ok(vec![cx.dispatch(Kernel::Resize, &words, &[&args[0], out], flat(out.len()))?])
}

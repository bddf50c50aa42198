//! Convolutions: dense, grouped and depthwise, dilated, strided, with the fused bias,
//! activation and residual; and transposed convolutions.

use super::GpuTensor;
use super::kernels::{Kernel, activation_code};
use super::lower::{Dispatch, Lowering, flat, u32_of};
use crate::error::Result;
use crate::ops::Conv;

/// The words conv.wgsl and conv_transpose.wgsl share, from word 8: the output count, then the
/// input's C, H, W, the output's M, OH, OW, then the window, the group and the activation.
fn words(c: &Conv, x: &GpuTensor, out: &GpuTensor, has_bias: bool, residual: bool) -> Result<Vec<u32>> {
    let (xs, os) = (&x.shape, &out.shape);
    let (code, a, b) = activation_code(c.activation);
    let w = &c.window;
    let mut words = vec![u32_of(out.len())?];
    for n in [xs[1], xs[2], xs[3], os[1], os[2], os[3]] {
        words.push(u32_of(n)?);
    }
    for n in [w.kernel[0], w.kernel[1], w.stride[0], w.stride[1], w.dilation[0], w.dilation[1], w.pads[0], w.pads[1]] {
        words.push(u32_of(n)?);
    }
    words.extend([u32_of(c.group)?, code, a.to_bits(), b.to_bits(), has_bias as u32, residual as u32]);
    Ok(words)
}

/// inputs: x, weights, then the bias and the residual where the step has them.
pub fn conv(cx: &mut Lowering, c: &Conv, args: &[GpuTensor], out: &GpuTensor) -> Result<Vec<Dispatch>> {
    let placeholder = cx.placeholder()?;
    let bias = args.get(2).unwrap_or(&placeholder);
    let residual = if c.residual { &args[3] } else { &placeholder };
    let words = words(c, &args[0], out, args.len() > 2, c.residual)?;
    let tensors = [&args[0], &args[1], bias, residual, out];
    if c.group == 1 {
        let s = &out.shape;
        let tiles = [u32_of((s[2] * s[3]).div_ceil(64))?, u32_of(s[1].div_ceil(64))?, u32_of(s[0])?];
        return Ok(vec![cx.dispatch(Kernel::ConvGemm, &words, &tensors, tiles)?]);
    }
    Ok(vec![cx.dispatch(Kernel::Conv, &words, &tensors, flat(out.len()))?])
}

/// inputs: x, weights [C, M/group, kh, kw], then the bias where the step has one.
pub fn conv_transpose(cx: &mut Lowering, c: &Conv, args: &[GpuTensor], out: &GpuTensor) -> Result<Vec<Dispatch>> {
    let placeholder = cx.placeholder()?;
    let bias = args.get(2).unwrap_or(&placeholder);
    let words = words(c, &args[0], out, args.len() > 2, false)?;
    Ok(vec![cx.dispatch(Kernel::ConvTranspose, &words, &[&args[0], &args[1], bias, out], flat(out.len()))?])
}

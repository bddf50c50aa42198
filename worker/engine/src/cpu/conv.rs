//! Convolution kernels. candle's conv2d takes one stride and one symmetric padding for both axes
//! and no fused activation, while these models need [2,1] strides, SAME_UPPER pads and a fused
//! bias + activation: so Conv is ours, on packed micro-kernels (`packed`) or a depthwise loop.

use candle_core::Tensor;

use super::packed::ConvOperands;
use super::{OutputBuffer, column_taps, packed, par_filled, tensor_from, winograd, with_f32, with_f32s};
use crate::ops::Conv;

/// How a Conv step's weight input is laid out for the CPU kernels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightLayout {
    /// ONNX's [M, C/group, kh, kw]: depthwise weights, and weights computed at run time (packed
    /// per run).
    Filters,
    /// Packed once per session (`pack_weights`) into the panels `packed::conv2d_packed` runs on.
    Panels,
    /// Transformed and packed once per session for the Winograd 3x3 kernel.
    Winograd,
}

/// A Conv step over its inputs: x, weights laid out as `layout`, then bias and the residual
/// when the step has them (the residual is added after the activation, `Conv::residual`).
pub fn conv2d(
    inputs: &[&Tensor],
    conv: &Conv,
    layout: WeightLayout,
    shape: &[usize],
    output: &OutputBuffer,
) -> candle_core::Result<Tensor> {
    let (x, w, bias) = (inputs[0], inputs[1], inputs.get(2).copied());
    let residual = conv.residual.then(|| inputs[3]);
    let xs: [usize; 4] = x.dims().try_into().map_err(|_| candle_core::Error::Msg("conv input is not 4-D".into()))?;
    if residual.is_some_and(|r| r.dims() != shape) {
        candle_core::bail!("the residual does not match the conv output {shape:?}");
    }
    let bias = bias.map(|b| b.to_vec1::<f32>()).transpose()?;
    let tensors: Vec<&Tensor> = [x, w].into_iter().chain(residual).collect();
    let out = with_f32s(&tensors, |s| {
        let operands =
            ConvOperands { x: s[0], dims: xs, weights: s[1], bias: bias.as_deref(), residual: s.get(2).copied() };
        conv2d_f32(operands, conv, layout, shape, output)
    })?;
    tensor_from(out, shape)
}

fn conv2d_f32(
    operands: ConvOperands,
    conv: &Conv,
    layout: WeightLayout,
    shape: &[usize],
    output: &OutputBuffer,
) -> Vec<f32> {
    let len = shape.iter().product();
    let c = operands.dims[1];
    if layout == WeightLayout::Filters && c == conv.group && shape[1] == conv.group {
        return depthwise(operands, conv, [shape[2], shape[3]], output);
    }
    let out_shape = [shape[1], shape[2], shape[3]];
    // Left unzeroed: the packed and Winograd kernels write every element.
    let mut out = output.take(len);
    if layout == WeightLayout::Winograd {
        winograd::conv2d(operands, conv, out_shape, &mut out.spare_capacity_mut()[..len]);
        // SAFETY: winograd::conv2d initialised all `len` elements.
        unsafe { out.set_len(len) };
        return out;
    }
    let repacked;
    let panels = if layout == WeightLayout::Panels {
        operands.weights
    } else {
        let k = c / conv.group * conv.window.kernel[0] * conv.window.kernel[1];
        repacked = packed::pack_weights(operands.weights, shape[1], k, conv.group);
        &repacked
    };
    let operands = ConvOperands { weights: panels, ..operands };
    packed::conv2d_packed(operands, conv, out_shape, &mut out.spare_capacity_mut()[..len]);
    // SAFETY: conv2d_packed initialised all `len` elements.
    unsafe { out.set_len(len) };
    out
}

/// These [M, C/group, kh, kw] weights laid out for the kernel that will run `conv`: transformed
/// for Winograd's 3x3 form, else packed into the panels `packed::conv2d_packed` runs on. None for
/// depthwise weights, which the depthwise kernel reads as they are.
pub fn pack_weights(w: &Tensor, conv: &Conv) -> Option<(Tensor, WeightLayout)> {
    let dims: [usize; 4] = w.dims().try_into().ok()?;
    let [m, cg, kh, kw] = dims;
    if cg == 1 && m == conv.group {
        return None;
    }
    let (packed, layout) = if winograd::applies(conv, dims) {
        (with_f32(w, |w| winograd::transform_weights(w, m, cg)).ok()?, WeightLayout::Winograd)
    } else {
        (with_f32(w, |w| packed::pack_weights(w, m, cg * kh * kw, conv.group)).ok()?, WeightLayout::Panels)
    };
    let len = packed.len();
    Some((tensor_from(packed, &[len]).ok()?, layout))
}

/// One filter per channel: a direct loop beats a gemm of one row. At stride 1 the columns whose
/// every tap reads inside the row go through the SIMD register-block kernel, which sums all taps
/// before one store; the rest go tap by tap over the row.
fn depthwise(operands: ConvOperands, conv: &Conv, [oh, ow]: [usize; 2], output: &OutputBuffer) -> Vec<f32> {
    let ConvOperands { x, dims: [_, c, h, w], weights, bias, residual } = operands;
    let win = &conv.window;
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.stride;
    let dh = win.dilation[0];
    let pt = win.pads[0] as isize;
    let taps = column_taps(win, w, ow);
    // Within the row: on a row narrower than the kernel's reach, a tap's first inside column can
    // lie past its end (a 5-wide kernel over a 1-wide row).
    let inside_first = taps.iter().map(|t| t.1).max().unwrap_or(0).min(ow);
    let inside_last = taps.iter().map(|t| t.2).min().unwrap_or(0).clamp(inside_first, ow);
    let block = packed::depthwise_block_width();
    let blocked =
        if sw == 1 { inside_first..inside_first + (inside_last - inside_first) / block * block } else { 0..0 };
    par_filled(output, x.len() / (h * w) * oh * ow, oh * ow, |start, dst| {
        let plane_index = start / (oh * ow);
        let ch = plane_index % c;
        let src = &x[plane_index * h * w..][..h * w];
        let kernel = &weights[ch * kh * kw..][..kh * kw];
        let b = bias.map_or(0.0, |b| b[ch]);
        let mut rows: Vec<(usize, &[f32])> = Vec::with_capacity(kh);
        let mut block_taps: Vec<packed::DepthwiseTap> = Vec::with_capacity(kh * kw);
        for oy in 0..oh {
            let row = &mut dst[oy * ow..][..ow];
            rows.clear();
            rows.extend((0..kh).filter_map(|ky| {
                let iy = (oy * sh) as isize + (ky * dh) as isize - pt;
                (iy >= 0 && iy < h as isize).then(|| (ky, &src[iy as usize * w..][..w]))
            }));
            if !blocked.is_empty() {
                block_taps.clear();
                for &(ky, src_row) in &rows {
                    for (kx, &(offset, ..)) in taps.iter().enumerate() {
                        let at = (blocked.start as isize + offset) as usize;
                        block_taps.push(packed::DepthwiseTap {
                            src: src_row[at..at + blocked.len()].as_ptr(),
                            weight: kernel[ky * kw + kx],
                        });
                    }
                }
                // SAFETY: every tap reads blocked.len() floats inside its row, checked by the slice above.
                unsafe { packed::depthwise_row(&block_taps, &mut row[blocked.clone()]) };
            }
            row[..blocked.start].fill(0.0);
            row[blocked.end..].fill(0.0);
            for &(ky, src_row) in &rows {
                for (kx, &(offset, first, last)) in taps.iter().enumerate() {
                    let k = kernel[ky * kw + kx];
                    // Tap by tap, outside the blocked columns only.
                    for (lo, hi) in [(first, last.min(blocked.start)), (first.max(blocked.end), last)] {
                        if lo >= hi {
                            continue;
                        }
                        if sw == 1 {
                            let start = (lo as isize + offset) as usize;
                            for (d, s) in row[lo..hi].iter_mut().zip(&src_row[start..]) {
                                *d += k * s;
                            }
                        } else {
                            for ox in lo..hi {
                                row[ox] += k * src_row[(ox as isize * sw as isize + offset) as usize];
                            }
                        }
                    }
                }
            }
            let residual_row = residual.map(|r| &r[(plane_index * oh + oy) * ow..][..ow]);
            packed::finish_row(row, b, conv.activation, residual_row);
        }
    })
}

/// Per group, col[mg*kh*kw, h*w] = W_gᵀ · X_g on the packed micro-kernels; then each output
/// plane gathers its columns (col2im) in its own task.
pub fn conv_transpose2d(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    conv: &Conv,
    shape: &[usize],
    output: &OutputBuffer,
) -> candle_core::Result<Tensor> {
    let [n, c, h, wd]: [usize; 4] =
        x.dims().try_into().map_err(|_| candle_core::Error::Msg("conv input is not 4-D".into()))?;
    let bias = bias.map(|b| b.to_vec1::<f32>()).transpose()?;
    let (m, oh, ow) = (shape[1], shape[2], shape[3]);
    let g = conv.group;
    let (cg, mg) = (c / g, m / g);
    let win = conv.window;
    let [kh, kw] = win.kernel;
    let rows = mg * kh * kw;
    let plane = h * wd;
    let out = with_f32(x, |x| {
        with_f32(w, |w| {
            let cols: Vec<Vec<f32>> = (0..n * g)
                .map(|job| {
                    let (ni, gi) = (job / g, job % g);
                    // ONNX holds W_g as [cg, rows]: the product wants its transpose.
                    let w_group = &w[gi * cg * rows..][..cg * rows];
                    let transposed: Vec<f32> = (0..rows * cg).map(|i| w_group[(i % cg) * rows + i / cg]).collect();
                    let mut col = Vec::with_capacity(rows * plane);
                    let x_group = &x[(ni * c + gi * cg) * plane..][..cg * plane];
                    packed::matmul(
                        &transposed,
                        x_group,
                        [1, rows, cg, plane],
                        false,
                        &mut col.spare_capacity_mut()[..rows * plane],
                    );
                    // SAFETY: matmul initialised all rows * plane elements.
                    unsafe { col.set_len(rows * plane) };
                    col
                })
                .collect();
            par_filled(output, n * m * oh * ow, oh * ow, |start, out_plane| {
                let p = start / (oh * ow);
                let (ni, mo) = (p / m, p % m);
                let (gi, mi) = (mo / mg, mo % mg);
                col2im(
                    &cols[ni * g + gi][mi * kh * kw * plane..][..kh * kw * plane],
                    [h, wd],
                    &win,
                    [oh, ow],
                    out_plane,
                );
                packed::finish_row(out_plane, bias.as_ref().map_or(0.0, |b| b[mo]), conv.activation, None);
            })
        })
    })??;
    tensor_from(out, shape)
}

fn col2im(col: &[f32], [h, w]: [usize; 2], win: &crate::ops::Window, [oh, ow]: [usize; 2], plane: &mut [f32]) {
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.stride;
    let [dh, dw] = win.dilation;
    let (pt, pl) = (win.pads[0] as isize, win.pads[1] as isize);
    for ky in 0..kh {
        for kx in 0..kw {
            let src = &col[(ky * kw + kx) * h * w..][..h * w];
            for iy in 0..h {
                let oy = (iy * sh + ky * dh) as isize - pt;
                if oy < 0 || oy >= oh as isize {
                    continue;
                }
                let dst = &mut plane[oy as usize * ow..][..ow];
                for ix in 0..w {
                    let ox = (ix * sw + kx * dw) as isize - pl;
                    if ox >= 0 && ox < ow as isize {
                        dst[ox as usize] += src[iy * w + ix];
                    }
                }
            }
        }
    }
}

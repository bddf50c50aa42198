//! Pooling, resizing and padding. candle has none of ONNX Resize's coordinate modes, no padded or
//! ceil-mode pooling and no reflect padding, so these are ours; each splits planes over rayon.

use candle_core::Tensor;
use rayon::prelude::*;

use super::{OutputBuffer, column_taps, par_filled, tensor_from, with_f32};
use crate::ops::{CoordinateTransform, NearestRounding, PadMode, PoolKind, Resize, ResizeMode, Window};

fn planes(x: &Tensor) -> (usize, usize) {
    let d = x.dims();
    (d[2], d[3])
}

/// Row by row: each window tap is one pass over the output row whose columns read inside the
/// input, so the inner loops carry no bounds checks and, at stride 1, vectorise.
pub fn pool2d(
    x: &Tensor,
    kind: PoolKind,
    win: &Window,
    shape: &[usize],
    output: &OutputBuffer,
) -> candle_core::Result<Tensor> {
    let (h, w) = planes(x);
    let (oh, ow) = (shape[2], shape[3]);
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.stride;
    let dh = win.dilation[0];
    let pt = win.pads[0] as isize;
    let taps = column_taps(win, w, ow);
    // Window columns inside the input per output column, for averages that leave padding out.
    let mut inside_columns = vec![0usize; ow];
    for &(_, first, last) in &taps {
        inside_columns[first..last].iter_mut().for_each(|n| *n += 1);
    }
    let out = with_f32(x, |x| {
        par_filled(output, shape.iter().product(), oh * ow, |start, dst| {
            let src = &x[start / (oh * ow) * h * w..][..h * w];
            for (oy, row) in dst.chunks_exact_mut(ow).enumerate() {
                row.fill(if kind == PoolKind::Max { f32::NEG_INFINITY } else { 0.0 });
                let mut inside_rows = 0;
                for ky in 0..kh {
                    let iy = (oy * sh + ky * dh) as isize - pt;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    inside_rows += 1;
                    let src_row = &src[iy as usize * w..][..w];
                    for &(offset, first, last) in &taps {
                        let start = (first * sw) as isize + offset;
                        let reads = src_row[start as usize..].iter().step_by(sw);
                        let acc = &mut row[first..last];
                        match kind {
                            PoolKind::Max => {
                                acc.iter_mut().zip(reads).for_each(|(a, &v)| *a = if v > *a { v } else { *a })
                            }
                            PoolKind::Average { .. } => acc.iter_mut().zip(reads).for_each(|(a, &v)| *a += v),
                        }
                    }
                }
                match kind {
                    PoolKind::Max => {}
                    PoolKind::Average { count_include_pad: true } => {
                        row.iter_mut().for_each(|v| *v /= (kh * kw) as f32)
                    }
                    PoolKind::Average { count_include_pad: false } => {
                        for (v, &columns) in row.iter_mut().zip(&inside_columns) {
                            *v /= (inside_rows * columns).max(1) as f32;
                        }
                    }
                }
            }
        })
    })?;
    tensor_from(out, shape)
}

pub fn global_average_pool(x: &Tensor, shape: &[usize]) -> candle_core::Result<Tensor> {
    let (h, w) = planes(x);
    let out = with_f32(x, |x| {
        // Short f32 sums in eight lanes that vectorise, gathered in f64: planes of a million
        // values lose digits in one f32 sum.
        x.par_chunks(h * w)
            .map(|p| {
                let blocks = p.chunks(256).map(|block| {
                    let mut lanes = [0f32; 8];
                    let mut eights = block.chunks_exact(8);
                    for eight in &mut eights {
                        lanes.iter_mut().zip(eight).for_each(|(l, &v)| *l += v);
                    }
                    lanes.iter().chain(eights.remainder()).map(|&v| v as f64).sum::<f64>()
                });
                (blocks.sum::<f64>() / (h * w) as f64) as f32
            })
            .collect()
    })?;
    tensor_from(out, shape)
}

/// Where output index `o` samples the input axis, before clamping (ONNX Resize's transforms).
fn source_coordinate(transform: CoordinateTransform, o: usize, scale: f32, input: usize, output: usize) -> f32 {
    let o = o as f32;
    match transform {
        CoordinateTransform::HalfPixel => (o + 0.5) / scale - 0.5,
        CoordinateTransform::PytorchHalfPixel => {
            if output > 1 {
                (o + 0.5) / scale - 0.5
            } else {
                0.0
            }
        }
        CoordinateTransform::AlignCorners => {
            if output > 1 {
                o * (input - 1) as f32 / (output - 1) as f32
            } else {
                0.0
            }
        }
        CoordinateTransform::Asymmetric => o / scale,
    }
}

/// Per output index along one axis: the two source indices and the weight of the second.
fn axis_taps(r: &Resize, axis: usize, input: usize, output: usize) -> Vec<(usize, usize, f32)> {
    (0..output)
        .map(|o| {
            let s = source_coordinate(r.transform, o, r.scale[axis], input, output);
            match r.mode {
                ResizeMode::Nearest(rounding) => {
                    let i = match rounding {
                        NearestRounding::RoundPreferFloor => {
                            if s.fract() == 0.5 {
                                s.floor()
                            } else {
                                s.round()
                            }
                        }
                        NearestRounding::RoundPreferCeil => s.round(),
                        NearestRounding::Floor => s.floor(),
                        NearestRounding::Ceil => s.ceil(),
                    };
                    let i = (i.max(0.0) as usize).min(input - 1);
                    (i, i, 0.0)
                }
                ResizeMode::Linear => {
                    let s = s.clamp(0.0, (input - 1) as f32);
                    let i0 = s.floor() as usize;
                    let i1 = (i0 + 1).min(input - 1);
                    (i0, i1, s - i0 as f32)
                }
            }
        })
        .collect()
}

pub fn resize2d(x: &Tensor, r: &Resize, shape: &[usize], output: &OutputBuffer) -> candle_core::Result<Tensor> {
    let (h, w) = planes(x);
    let (oh, ow) = (shape[2], shape[3]);
    let ys = axis_taps(r, 0, h, oh);
    let xs = axis_taps(r, 1, w, ow);
    let nearest_columns = xs.iter().all(|&(x0, x1, fx)| x0 == x1 || fx == 0.0);
    // Nearest upsampling by two, the common case, as a doubling that vectorises, where a gather does not.
    let doubled_columns = nearest_columns && xs.iter().enumerate().all(|(o, &(x0, ..))| x0 == o / 2);
    let out = with_f32(x, |x| {
        par_filled(output, shape.iter().product(), oh * ow, |start, dst| {
            let src = &x[start / (oh * ow) * h * w..][..h * w];
            let mut blended = vec![0f32; w];
            for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
                let (done, rest) = dst.split_at_mut(oy * ow);
                let row = &mut rest[..ow];
                // A row that reads as the one before it is a copy of it.
                if oy > 0 && ys[oy - 1] == (y0, y1, fy) {
                    row.copy_from_slice(&done[(oy - 1) * ow..]);
                    continue;
                }
                // Bilinear taps split: first down the column, once per source pixel, then along the row.
                let line: &[f32] = if y0 == y1 || fy == 0.0 {
                    &src[y0 * w..][..w]
                } else {
                    let (r0, r1) = (&src[y0 * w..][..w], &src[y1 * w..][..w]);
                    blended.iter_mut().zip(r0.iter().zip(r1)).for_each(|(b, (a, c))| *b = a + (c - a) * fy);
                    &blended
                };
                if doubled_columns {
                    for (pair, &v) in row.chunks_exact_mut(2).zip(line) {
                        pair.fill(v);
                    }
                    if ow % 2 == 1 {
                        row[ow - 1] = line[ow / 2];
                    }
                } else if nearest_columns {
                    row.iter_mut().zip(&xs).for_each(|(d, &(x0, ..))| *d = line[x0]);
                } else {
                    row.iter_mut().zip(&xs).for_each(|(d, &(x0, x1, fx))| *d = line[x0] + (line[x1] - line[x0]) * fx);
                }
            }
        })
    })?;
    tensor_from(out, shape)
}

/// Maps an output index on a padded axis to its source index, or None for constant fill.
fn pad_source(o: usize, before: usize, len: usize, mode: PadMode) -> Option<usize> {
    let i = o as isize - before as isize;
    let n = len as isize;
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    match mode {
        PadMode::Constant(_) => None,
        PadMode::Edge => Some(i.clamp(0, n - 1) as usize),
        PadMode::Reflect => {
            let period = 2 * (n - 1).max(1);
            let m = i.rem_euclid(period);
            Some(if m < n { m } else { period - m } as usize)
        }
    }
}

pub fn pad(
    x: &Tensor,
    pads: &[[usize; 2]],
    mode: PadMode,
    shape: &[usize],
    output: &OutputBuffer,
) -> candle_core::Result<Tensor> {
    let dims = x.dims().to_vec();
    let rank = dims.len();
    let fill = if let PadMode::Constant(v) = mode { v } else { 0.0 };
    let last = rank - 1;
    let row_len = shape[last];
    let columns: Vec<Option<usize>> = (0..row_len).map(|o| pad_source(o, pads[last][0], dims[last], mode)).collect();
    // The row's interior is one copy; only the padded edges go column by column.
    let interior = pads[last][0].min(row_len)..(pads[last][0] + dims[last]).min(row_len);
    let out = with_f32(x, |x| {
        par_filled(output, shape.iter().product(), row_len, |start, dst| {
            // Decompose the output row index into leading coordinates and map each to its source.
            let mut rest = start / row_len.max(1);
            let mut src_row = 0usize;
            let mut stride = 1usize;
            for axis in (0..last).rev() {
                let o = rest % shape[axis];
                rest /= shape[axis];
                match pad_source(o, pads[axis][0], dims[axis], mode) {
                    Some(i) => src_row += i * stride,
                    None => {
                        dst.fill(fill);
                        return;
                    }
                }
                stride *= dims[axis];
            }
            let src = &x[src_row * dims[last]..][..dims[last]];
            for o in (0..interior.start).chain(interior.end..row_len) {
                dst[o] = columns[o].map_or(fill, |i| src[i]);
            }
            if !interior.is_empty() {
                dst[interior.clone()].copy_from_slice(&src[..interior.len()]);
            }
        })
    })?;
    tensor_from(out, shape)
}

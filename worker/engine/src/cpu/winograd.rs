//! 3x3 convolutions at stride 1 by Winograd's F(2x2, 3x3): each 2x2 block of outputs comes from a
//! 4x4 input tile through 16 products per channel pair, where the direct form takes 36. The 16
//! products are 16 matrix products [M, C] x [C, tiles] on the packed micro-kernels; the transforms
//! around them only add and subtract, so results stay within rounding of the direct form.

use rayon::prelude::*;

use super::packed::{self, ConvOperands, PANEL_ROWS, finish_row};
use super::{SharedMut, with_scratch};
use crate::ops::Conv;

/// Transformed values per tile: a 4x4 grid, one matrix product each.
const POINTS: usize = 16;
/// Floats of transformed input per block of tiles: a share of L2.
const BLOCK_FLOATS: usize = 1 << 16;
/// Fewest channels on either side for the transforms to pay for themselves.
const MIN_CHANNELS: usize = 8;

/// Whether a conv with weights [m, c, kh, kw] runs here: 3x3 windows at stride and dilation 1,
/// ungrouped, with enough channels in and out.
pub fn applies(conv: &Conv, [m, c, kh, kw]: [usize; 4]) -> bool {
    let window = &conv.window;
    [kh, kw] == [3, 3]
        && window.stride == [1, 1]
        && window.dilation == [1, 1]
        && conv.group == 1
        && m >= MIN_CHANNELS
        && c >= MIN_CHANNELS
}

/// G g Gᵀ for each filter of weights [m, c, 3, 3], as `POINTS` matrices [m, c], each packed into
/// panels by `packed::pack_weights`.
pub fn transform_weights(w: &[f32], m: usize, c: usize) -> Vec<f32> {
    let mut points = vec![0f32; POINTS * m * c];
    // G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1] maps three taps to four points.
    let spread = |[a, b, c]: [f64; 3]| [a, (a + b + c) / 2.0, (a - b + c) / 2.0, c];
    for (filter, g) in w.chunks_exact(9).enumerate() {
        let columns: [[f64; 4]; 3] = std::array::from_fn(|kx| spread([0, 1, 2].map(|ky| g[ky * 3 + kx] as f64)));
        for row in 0..4 {
            let u = spread(columns.map(|column| column[row]));
            for (col, v) in u.into_iter().enumerate() {
                points[(row * 4 + col) * m * c + filter] = v as f32;
            }
        }
    }
    points.chunks_exact(m * c).flat_map(|p| packed::pack_weights(p, m, c, 1)).collect()
}

/// The working space one task reuses from block to block, carved from the thread's scratch.
struct Scratch<'s> {
    /// Transformed input [POINTS][c][width].
    v: &'s mut [f32],
    /// Products [POINTS][panels * PANEL_ROWS][width].
    products: &'s mut [f32],
    /// Four input rows, then their vertical transforms, each `2 * width + 2` wide.
    rows: &'s mut [f32],
    sums: &'s mut [f32],
    even: &'s mut [f32],
    odd: &'s mut [f32],
    /// The output transform down the points' rows [4][width], then one output row of the block.
    columns: &'s mut [f32],
    out_row: &'s mut [f32],
}

impl<'s> Scratch<'s> {
    /// The parts' lengths for `c` input channels, `product_rows` rows of products and blocks of `width` tiles.
    fn lengths(c: usize, product_rows: usize, width: usize) -> [usize; 8] {
        let row_len = 2 * width + 2;
        [
            POINTS * c * width,
            POINTS * product_rows * width,
            4 * row_len,
            4 * row_len,
            width + 1,
            width + 1,
            4 * width,
            2 * width,
        ]
    }

    /// Left unzeroed: each block writes every value it uses. The transformed input's columns past a
    /// short block's tiles keep older values, but only feed products that are never read.
    fn carve(space: &'s mut [f32], lengths: [usize; 8]) -> Self {
        let mut rest = space;
        let [v, products, rows, sums, even, odd, columns, out_row] = lengths.map(|len| {
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            part
        });
        Scratch { v, products, rows, sums, even, odd, columns, out_row }
    }
}

/// The conv of `x` [n, c, h, w] with weights from `transform_weights`, initialising every element
/// of `out` [n, m, oh, ow]; bias, activation and residual as `packed::conv2d_packed` takes them.
pub(super) fn conv2d(
    operands: ConvOperands,
    conv: &Conv,
    [m, oh, ow]: [usize; 3],
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    let ConvOperands { x, dims: [n, c, h, w], weights, bias, residual } = operands;
    let kernel = packed::kernel();
    let nr = kernel.cols;
    let panels = m.div_ceil(PANEL_ROWS);
    let point_floats = panels * PANEL_ROWS * c;
    let (tiles_y, tiles_x) = (oh.div_ceil(2), ow.div_ceil(2));
    // Tiles per block: a multiple of the micro-kernel's columns, small enough to stay in L2 and
    // to give every thread several blocks.
    let by_cache = (BLOCK_FLOATS / (POINTS * c) / nr).max(1) * nr;
    let mut width = by_cache.min(tiles_x.div_ceil(nr) * nr);
    let threads = rayon::current_num_threads();
    let wanted = if threads > 1 { 4 * threads } else { 1 };
    while width > nr && n * tiles_y * tiles_x.div_ceil(width) < wanted {
        width -= nr;
    }
    let spans = tiles_x.div_ceil(width);
    let passes = c.div_ceil(packed::MAX_DEPTH);
    let pass_depth = c.div_ceil(passes);
    let offsets: Vec<u32> = (0..pass_depth).map(|d| (d * width) as u32).collect();
    let [pad_top, pad_left] = [conv.window.pads[0] as isize, conv.window.pads[1] as isize];
    let row_len = 2 * width + 2;
    let dst = SharedMut::uninit(out);

    let lengths = Scratch::lengths(c, panels * PANEL_ROWS, width);
    let run = |s: &mut Scratch, block: usize| {
        let (ni, rest) = (block / (tiles_y * spans), block % (tiles_y * spans));
        let (ty, tx0) = (rest / spans, rest % spans * width);
        let tiles = width.min(tiles_x - tx0);
        let (y0, x0) = (2 * ty as isize - pad_top, 2 * tx0 as isize - pad_left);
        let len = 2 * tiles + 2;

        // V = Bᵀ d B per channel, with Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]: first down the
        // four rows across the whole span, then along each row, tile by tile.
        for ci in 0..c {
            let plane = &x[(ni * c + ci) * h * w..][..h * w];
            for (r, row) in s.rows.chunks_exact_mut(row_len).enumerate() {
                read_row(plane, [h, w], y0 + r as isize, x0, &mut row[..len]);
            }
            let (r0, rest) = s.rows.split_at(row_len);
            let (r1, rest) = rest.split_at(row_len);
            let (r2, r3) = rest.split_at(row_len);
            let (t0, rest) = s.sums.split_at_mut(row_len);
            let (t1, rest) = rest.split_at_mut(row_len);
            let (t2, t3) = rest.split_at_mut(row_len);
            for j in 0..len {
                t0[j] = r0[j] - r2[j];
                t1[j] = r1[j] + r2[j];
                t2[j] = r2[j] - r1[j];
                t3[j] = r1[j] - r3[j];
            }
            for (i, t) in s.sums.chunks_exact(row_len).enumerate() {
                let (even, odd) = (&mut s.even[..tiles + 1], &mut s.odd[..tiles + 1]);
                packed::copy_even(&t[..len], even);
                packed::copy_even(&t[1..len], odd);
                let at = |point: usize| (point * c + ci) * width;
                let (v0, rest) = s.v[at(4 * i)..].split_at_mut(at(4 * i + 1) - at(4 * i));
                let (v1, rest) = rest.split_at_mut(at(4 * i + 2) - at(4 * i + 1));
                let (v2, rest) = rest.split_at_mut(at(4 * i + 3) - at(4 * i + 2));
                for j in 0..tiles {
                    v0[j] = even[j] - even[j + 1];
                    v1[j] = odd[j] + even[j + 1];
                    v2[j] = even[j + 1] - odd[j];
                    rest[j] = odd[j] - odd[j + 1];
                }
            }
        }

        // The 16 products, over whole panels and whole column tiles: the scratch has room for both.
        let mut k0 = 0;
        while k0 < c {
            let k1 = (k0 + pass_depth).min(c);
            for point in 0..POINTS {
                for p in 0..panels {
                    let a = weights[point * point_floats + (p * c + k0) * PANEL_ROWS..].as_ptr();
                    for col in (0..tiles).step_by(nr) {
                        // SAFETY: `nr` floats are readable at every offset from `b`, as col + nr <= width;
                        // the PANEL_ROWS x nr outputs lie inside this task's products.
                        unsafe {
                            (kernel.run)(&packed::Tile {
                                depth: k1 - k0,
                                a,
                                b: s.v[(point * c + k0) * width + col..].as_ptr(),
                                b_offsets: offsets.as_ptr(),
                                c: s.products[((point * panels + p) * PANEL_ROWS) * width + col..].as_mut_ptr(),
                                c_stride: width,
                                rows: PANEL_ROWS,
                                cols: nr,
                                accumulate: k0 > 0,
                                epilogue: None,
                            });
                        }
                    }
                }
            }
            k0 = k1;
        }

        // Y = Aᵀ M A per output channel, with Aᵀ = [1 1 1 0; 0 1 -1 -1], then bias, activation and
        // residual over each output row of the block.
        let ox0 = 2 * tx0;
        let cols = (2 * tiles).min(ow - ox0);
        let Scratch { products, columns, out_row, .. } = s;
        for mo in 0..m {
            let product = |point: usize| &products[(point * panels * PANEL_ROWS + mo) * width..][..tiles];
            let b = bias.map_or(0.0, |b| b[mo]);
            for half in 0..2 {
                let oy = 2 * ty + half;
                if oy >= oh {
                    break;
                }
                // Row `half` of Aᵀ down the four rows of points, then along the row, tile by tile.
                for (j, column) in columns.chunks_exact_mut(width).enumerate() {
                    let (m0, m1, m2, m3) = (product(j), product(4 + j), product(8 + j), product(12 + j));
                    let column = &mut column[..tiles];
                    if half == 0 {
                        column.iter_mut().zip(m0.iter().zip(m1).zip(m2)).for_each(|(o, ((a, b), c))| *o = a + b + c);
                    } else {
                        column.iter_mut().zip(m1.iter().zip(m2).zip(m3)).for_each(|(o, ((b, c), d))| *o = b - c - d);
                    }
                }
                let (c0, rest) = columns.split_at(width);
                let (c1, rest) = rest.split_at(width);
                let (c2, c3) = rest.split_at(width);
                for (t, pair) in out_row[..2 * tiles].chunks_exact_mut(2).enumerate() {
                    pair[0] = c0[t] + c1[t] + c2[t];
                    pair[1] = c1[t] - c2[t] - c3[t];
                }
                let at = ((ni * m + mo) * oh + oy) * ow + ox0;
                // SAFETY: this block alone writes these columns of this row.
                let row = unsafe { std::slice::from_raw_parts_mut(dst.ptr().add(at), cols) };
                row.copy_from_slice(&out_row[..cols]);
                finish_row(row, b, conv.activation, residual.map(|r| &r[at..at + cols]));
            }
        }
    };
    // Each task takes a run of neighbouring blocks with one scratch.
    let blocks = n * tiles_y * spans;
    let tasks = wanted.min(blocks);
    let task = |t: usize| {
        with_scratch(lengths.iter().sum(), |space| {
            let mut scratch = Scratch::carve(space, lengths);
            (t * blocks / tasks..(t + 1) * blocks / tasks).for_each(|block| run(&mut scratch, block));
        })
    };
    if tasks > 1 {
        (0..tasks).into_par_iter().for_each(task);
    } else {
        task(0);
    }
}

/// `out[j] = plane[y][x0 + j]`, zero outside the plane.
fn read_row(plane: &[f32], [h, w]: [usize; 2], y: isize, x0: isize, out: &mut [f32]) {
    if y < 0 || y >= h as isize {
        out.fill(0.0);
        return;
    }
    let src = &plane[y as usize * w..][..w];
    let lo = ((-x0).max(0) as usize).min(out.len());
    let hi = ((w as isize - x0).max(0) as usize).clamp(lo, out.len());
    out[..lo].fill(0.0);
    out[hi..].fill(0.0);
    if lo < hi {
        out[lo..hi].copy_from_slice(&src[(x0 + lo as isize) as usize..][..hi - lo]);
    }
}

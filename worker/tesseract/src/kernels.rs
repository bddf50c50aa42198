//! The int8 row sums that take nearly all of a line's time: `Σ_j w_ij·x_j` over int8 weights and
//! int8 activations. Each sum is exact in i32 in any order of accumulation (each product is at
//! most 128² = 2¹⁴, so only rows past 2¹⁷ inputs could overflow; the tessdata_best models' longest
//! rows have 704), so every kernel here reorders freely and matches libtesseract bit for bit.
//!
//! Weights are packed once, when the model is read: each row zero-padded to whole blocks of 16, the
//! rows to a multiple of 4. An activation vector is made ready once ([`Operand`]) for all the rows
//! that read it, and the kernels take four rows at a time, so the operand is loaded once per four
//! rows and the four sums are reduced together.
//!
//! Three kernels, one per target:
//! - **relaxed SIMD** (wasm, the `relaxed-simd` feature): `i32x4.relaxed_dot_i8x16_i7x16_add`, 16
//!   products and their sum in one instruction (one `vpdpbusd` where the CPU has VNNI). Its second
//!   operand must lie in 0..=127 for the result to be the same on every engine, so the operand is
//!   held as its positive and negative parts, and each row takes two of these.
//! - **simd128** (wasm): the activations widened to i16 once, the weights widened as they are
//!   loaded, and `i32x4.dot_i16x8_s` multiplies and adds pairs.
//! - **plain Rust** (native): the compiler vectorises it; on x86-64 a copy compiled for AVX2 is
//!   chosen at run time when the CPU has it.

/// Weights per block: one 128-bit vector of int8.
pub(crate) const BLOCK: usize = 16;
/// Rows per kernel call.
pub(crate) const ROWS: usize = 4;

/// Rows of int8 weights as the kernels read them: each row zero-padded to whole blocks, and zero
/// rows added up to a multiple of [`ROWS`].
#[derive(Debug, Clone)]
pub(crate) struct PackedRows {
    /// Rows, padding included.
    rows: usize,
    /// Weights per row, padding included: a multiple of [`BLOCK`].
    stride: usize,
    weights: Vec<i8>,
}

impl PackedRows {
    /// Packs `count` rows, each `width` weights long.
    pub(crate) fn new<'a>(width: usize, count: usize, rows: impl Iterator<Item = &'a [i8]>) -> PackedRows {
        let stride = width.div_ceil(BLOCK) * BLOCK;
        let padded_rows = count.div_ceil(ROWS) * ROWS;
        let mut weights = vec![0; padded_rows * stride];
        for (row, packed) in rows.zip(weights.chunks_exact_mut(stride)) {
            debug_assert_eq!(row.len(), width);
            packed[..width].copy_from_slice(row);
        }
        PackedRows { rows: padded_rows, stride, weights }
    }

    /// Rows, padding included: the length of the output of [`PackedRows::sums`] over all rows.
    pub(crate) fn padded_rows(&self) -> usize {
        self.rows
    }

    /// Multiply-adds in one pass over all rows, padding included.
    pub(crate) fn multiply_adds(&self) -> usize {
        self.weights.len()
    }

    /// `sums[i] = Σ_j w_(first+i)j·x_j` for `sums.len()` rows from `first`; both multiples of [`ROWS`].
    pub(crate) fn sums(&self, first: usize, operand: &Operand, sums: &mut [i32]) {
        assert!(first.is_multiple_of(ROWS) && sums.len().is_multiple_of(ROWS) && first + sums.len() <= self.rows);
        assert_eq!(operand.blocks, self.stride / BLOCK, "an operand made for rows of another width");
        let weights = &self.weights[first * self.stride..(first + sums.len()) * self.stride];
        backend::sums(weights, self.stride, &operand.lanes, sums);
    }
}

/// An int8 activation vector made ready for the kernel, once for all the rows that read it.
#[derive(Debug, Clone)]
pub(crate) struct Operand {
    blocks: usize,
    lanes: Vec<backend::Lane>,
}

impl Operand {
    /// An operand for rows of `width` weights (before padding).
    pub(crate) fn new(width: usize) -> Operand {
        let blocks = width.div_ceil(BLOCK);
        Operand { blocks, lanes: vec![backend::ZERO; blocks * backend::LANES_PER_BLOCK] }
    }

    /// Takes `values` (at most the width it was made for; the rest reads as zeros).
    pub(crate) fn set(&mut self, values: &[i8]) {
        assert!(values.len() <= self.blocks * BLOCK);
        let mut block = [0i8; BLOCK];
        for (index, lanes) in self.lanes.chunks_exact_mut(backend::LANES_PER_BLOCK).enumerate() {
            let start = (index * BLOCK).min(values.len());
            let part = &values[start..(start + BLOCK).min(values.len())];
            block[..part.len()].copy_from_slice(part);
            block[part.len()..].fill(0);
            backend::prepare(&block, lanes);
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128", feature = "relaxed-simd"))]
mod backend {
    use core::arch::wasm32::*;

    /// A block's positive part, then its negative part (both in 0..=127).
    pub(super) type Lane = v128;
    pub(super) const LANES_PER_BLOCK: usize = 2;
    pub(super) const ZERO: Lane = i64x2(0, 0);

    pub(super) fn prepare(block: &[i8; super::BLOCK], lanes: &mut [Lane]) {
        // SAFETY: a 16-byte array; `v128_load` has no alignment requirement.
        let values = unsafe { v128_load(block.as_ptr().cast()) };
        let zero = i8x16_splat(0);
        // Activations are clipped to ±127; −128 (whose negation wraps) is clipped too, to be sure.
        let values = i8x16_max(values, i8x16_splat(-127));
        lanes[0] = i8x16_max(values, zero);
        lanes[1] = i8x16_max(i8x16_neg(values), zero);
    }

    pub(super) fn sums(weights: &[i8], stride: usize, lanes: &[Lane], sums: &mut [i32]) {
        // A wasm engine without relaxed SIMD rejects the whole module, so the call is safe; the
        // site loads this build only where it validates.
        sums_relaxed(weights, stride, lanes, sums)
    }

    #[target_feature(enable = "relaxed-simd")]
    fn sums_relaxed(weights: &[i8], stride: usize, lanes: &[Lane], sums: &mut [i32]) {
        let blocks = stride / super::BLOCK;
        assert!(lanes.len() >= 2 * blocks && weights.len() >= sums.len() * stride);
        for (rows, out) in weights.chunks_exact(super::ROWS * stride).zip(sums.chunks_exact_mut(super::ROWS)) {
            let mut positive = [i32x4_splat(0); super::ROWS];
            let mut negative = [i32x4_splat(0); super::ROWS];
            let rows = rows.as_ptr();
            for block in 0..blocks {
                let (plus, minus) = (lanes[2 * block], lanes[2 * block + 1]);
                for row in 0..super::ROWS {
                    // SAFETY: within the four rows (`block < stride / 16`); no alignment requirement.
                    let w = unsafe { v128_load(rows.add(row * stride + block * super::BLOCK).cast()) };
                    positive[row] = i32x4_relaxed_dot_i8x16_i7x16_add(w, plus, positive[row]);
                    negative[row] = i32x4_relaxed_dot_i8x16_i7x16_add(w, minus, negative[row]);
                }
            }
            let totals: [v128; super::ROWS] = core::array::from_fn(|row| i32x4_sub(positive[row], negative[row]));
            super::store_reduced(&totals, out);
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128", not(feature = "relaxed-simd")))]
mod backend {
    use core::arch::wasm32::*;

    /// A block widened to i16: its low eight values, then its high eight.
    pub(super) type Lane = v128;
    pub(super) const LANES_PER_BLOCK: usize = 2;
    pub(super) const ZERO: Lane = i64x2(0, 0);

    pub(super) fn prepare(block: &[i8; super::BLOCK], lanes: &mut [Lane]) {
        // SAFETY: a 16-byte array; `v128_load` has no alignment requirement.
        let values = unsafe { v128_load(block.as_ptr().cast()) };
        lanes[0] = i16x8_extend_low_i8x16(values);
        lanes[1] = i16x8_extend_high_i8x16(values);
    }

    /// Products fit i16 (|i8·i8| ≤ 2¹⁴) and `dot_i16x8` adds them in pairs into i32 lanes.
    pub(super) fn sums(weights: &[i8], stride: usize, lanes: &[Lane], sums: &mut [i32]) {
        let blocks = stride / super::BLOCK;
        assert!(lanes.len() >= 2 * blocks);
        for (rows, out) in weights.chunks_exact(super::ROWS * stride).zip(sums.chunks_exact_mut(super::ROWS)) {
            let mut totals = [i32x4_splat(0); super::ROWS];
            let rows = rows.as_ptr();
            for block in 0..blocks {
                let (low, high) = (lanes[2 * block], lanes[2 * block + 1]);
                for (row, total) in totals.iter_mut().enumerate() {
                    // SAFETY: within the four rows (`block < stride / 16`); no alignment requirement.
                    let w = unsafe { v128_load(rows.add(row * stride + block * super::BLOCK).cast()) };
                    let products = i32x4_add(
                        i32x4_dot_i16x8(i16x8_extend_low_i8x16(w), low),
                        i32x4_dot_i16x8(i16x8_extend_high_i8x16(w), high),
                    );
                    *total = i32x4_add(*total, products);
                }
            }
            super::store_reduced(&totals, out);
        }
    }
}

/// Four rows' lane totals reduced to their four sums with two rounds of shuffles.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn store_reduced(totals: &[core::arch::wasm32::v128; ROWS], out: &mut [i32]) {
    use core::arch::wasm32::*;
    let [a, b, c, d] = *totals;
    // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d.
    let ab = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(a, b), i32x4_shuffle::<2, 6, 3, 7>(a, b));
    let cd = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(c, d), i32x4_shuffle::<2, 6, 3, 7>(c, d));
    let sums = i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(ab, cd), i32x4_shuffle::<2, 3, 6, 7>(ab, cd));
    out.copy_from_slice(&[
        i32x4_extract_lane::<0>(sums),
        i32x4_extract_lane::<1>(sums),
        i32x4_extract_lane::<2>(sums),
        i32x4_extract_lane::<3>(sums),
    ]);
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod backend {
    /// The block's values as they are.
    pub(super) type Lane = [i8; super::BLOCK];
    pub(super) const LANES_PER_BLOCK: usize = 1;
    pub(super) const ZERO: Lane = [0; super::BLOCK];

    pub(super) fn prepare(block: &[i8; super::BLOCK], lanes: &mut [Lane]) {
        lanes[0] = *block;
    }

    pub(super) fn sums(weights: &[i8], stride: usize, lanes: &[Lane], sums: &mut [i32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { sums_avx2(weights, stride, lanes, sums) };
        }
        sums_plain(weights, stride, lanes, sums);
    }

    /// The same loop compiled for AVX2, where it becomes `vpmaddwd` on 16 values at a time: an
    /// English line took 34 ms instead of the x86-64 baseline's 77 (one thread).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn sums_avx2(weights: &[i8], stride: usize, lanes: &[Lane], sums: &mut [i32]) {
        sums_plain(weights, stride, lanes, sums);
    }

    #[inline(always)]
    pub(super) fn sums_plain(weights: &[i8], stride: usize, lanes: &[Lane], sums: &mut [i32]) {
        let values = lanes.as_flattened();
        for (row, sum) in weights.chunks_exact(stride).zip(sums) {
            *sum = row.iter().zip(values).map(|(&w, &x)| i32::from(w) * i32::from(x)).sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_match_a_plain_dot_product_at_every_width_with_padding_rows() {
        let mut seed = 12345u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (((seed >> 16) % 255) as i32 - 127) as i8
        };
        for width in [1, 9, 15, 16, 17, 64, 80, 97, 513] {
            for rows in [1, 3, 4, 7] {
                let matrix: Vec<Vec<i8>> = (0..rows).map(|_| (0..width).map(|_| next()).collect()).collect();
                let input: Vec<i8> = (0..width).map(|_| next()).collect();
                let packed = PackedRows::new(width, rows, matrix.iter().map(Vec::as_slice));
                let mut operand = Operand::new(width);
                operand.set(&input);
                let mut sums = vec![i32::MIN; packed.padded_rows()];
                packed.sums(0, &operand, &mut sums);
                for (row, weights) in matrix.iter().enumerate() {
                    let expected: i32 = weights.iter().zip(&input).map(|(&w, &x)| i32::from(w) * i32::from(x)).sum();
                    assert_eq!(sums[row], expected, "width {width}, row {row}");
                }
                assert!(sums[rows..].iter().all(|&sum| sum == 0), "padding rows sum to zero");
            }
        }
    }

    /// The AVX2 copy is the one that runs on CPUs that have it; the plain one must agree.
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    #[test]
    fn the_plain_kernel_agrees_with_the_one_chosen_at_run_time() {
        let width = 200;
        let rows: Vec<Vec<i8>> =
            (0..8).map(|r| (0..width).map(|j| ((r * 37 + j * 11) % 255) as i8).collect()).collect();
        let packed = PackedRows::new(width, rows.len(), rows.iter().map(Vec::as_slice));
        let mut operand = Operand::new(width);
        operand.set(&(0..width).map(|j| ((j * 7) % 255) as i8).collect::<Vec<_>>());
        let (mut chosen, mut plain) = (vec![0; 8], vec![0; 8]);
        packed.sums(0, &operand, &mut chosen);
        backend::sums_plain(&packed.weights, packed.stride, &operand.lanes, &mut plain);
        assert_eq!(chosen, plain);
        assert!(plain.iter().any(|&sum| sum != 0));
    }

    #[test]
    fn an_operand_reused_for_a_shorter_vector_reads_zeros_beyond_it() {
        let packed = PackedRows::new(20, 1, [&[1i8; 20][..]].into_iter());
        let mut operand = Operand::new(20);
        operand.set(&[5; 20]);
        operand.set(&[2; 3]);
        let mut sums = [0; ROWS];
        packed.sums(0, &operand, &mut sums);
        assert_eq!(sums[0], 6);
    }

    #[test]
    fn extreme_values_sum_exactly() {
        let width = 704;
        let packed = PackedRows::new(width, 2, [&vec![-128i8; width][..], &vec![127i8; width][..]].into_iter());
        let mut operand = Operand::new(width);
        operand.set(&vec![-127; width]);
        let mut sums = [0; ROWS];
        packed.sums(0, &operand, &mut sums);
        assert_eq!(sums[..2], [128 * 127 * 704, -127 * 127 * 704]);
    }
}

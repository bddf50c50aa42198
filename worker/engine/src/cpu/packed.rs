//! Convolution as a packed matrix product. Weights are packed once, at plan time, into panels of
//! `PANEL_ROWS` output channels; input patches are packed per tile of output pixels (so im2col is
//! never whole) and register-tiled micro-kernels (AVX2+FMA, wasm simd128, or portable code) run
//! each panel over each tile with bias and activation fused into the store.
//! It exists instead of candle's im2col + gemm because that copies the whole patch matrix, repacks
//! the weights on every run, and sees one thread on wasm.

use rayon::prelude::*;

use super::{SharedMut, with_scratch};
use crate::ops::{Activation, Conv, ERF_P, ERF_Q};

/// Output channels per weight panel: the micro-kernels' register rows. On wasm, engines map
/// v128 onto 16 x86 registers, one of them a scratch register, so 4 rows of 2 accumulators fit.
pub const PANEL_ROWS: usize = if cfg!(target_arch = "wasm32") { 4 } else { 6 };
/// Largest reduction depth per pass, so a packed patch tile stays in L1.
pub(super) const MAX_DEPTH: usize = 512;
/// Floats of packed patches per block of tiles: a share of L2.
const BLOCK_FLOATS: usize = 1 << 15;
/// Widest tile of output pixels any micro-kernel takes.
const MAX_COLS: usize = 16;

/// Packs weights [M, K] (K = C/group * kh * kw) group by group into panels of `PANEL_ROWS`
/// output channels laid out [K][PANEL_ROWS], the last panel of each group zero-padded.
pub fn pack_weights(w: &[f32], m: usize, k: usize, group: usize) -> Vec<f32> {
    let mg = m / group;
    let panels = mg.div_ceil(PANEL_ROWS);
    let mut out = vec![0f32; group * panels * k * PANEL_ROWS];
    for gi in 0..group {
        for p in 0..panels {
            let dst = &mut out[(gi * panels + p) * k * PANEL_ROWS..][..k * PANEL_ROWS];
            for r in 0..PANEL_ROWS.min(mg - p * PANEL_ROWS) {
                let src = &w[(gi * mg + p * PANEL_ROWS + r) * k..][..k];
                for (kk, &v) in src.iter().enumerate() {
                    dst[kk * PANEL_ROWS + r] = v;
                }
            }
        }
    }
    out
}

/// One micro-kernel call: a panel of output channels times a tile of output pixels.
pub(super) struct Tile {
    pub(super) depth: usize,
    /// Packed weights [depth][PANEL_ROWS].
    pub(super) a: *const f32,
    /// Patch row `d` starts at `b + b_offsets[d]`, `2 * WIDTH` floats readable, the first `cols` live.
    pub(super) b: *const f32,
    pub(super) b_offsets: *const u32,
    pub(super) c: *mut f32,
    pub(super) c_stride: usize,
    pub(super) rows: usize,
    pub(super) cols: usize,
    /// Adds to what `c` holds (a later pass over the depth) instead of overwriting it.
    pub(super) accumulate: bool,
    /// On the last pass: bias per row, then a clamp.
    pub(super) epilogue: Option<Epilogue>,
}

#[derive(Clone, Copy)]
pub(super) struct Epilogue {
    bias: [f32; PANEL_ROWS],
    low: f32,
    high: f32,
    /// Added after the clamp when not null: laid out as `c`, with its stride.
    residual: *const f32,
}

/// The SIMD operations a micro-kernel needs, over one register of `WIDTH` floats.
trait Lanes: Copy {
    const WIDTH: usize;
    unsafe fn load(p: *const f32) -> Self;
    unsafe fn store(self, p: *mut f32);
    unsafe fn broadcast(p: *const f32) -> Self;
    fn splat(v: f32) -> Self;
    /// self * b + acc
    fn mul_add(self, b: Self, acc: Self) -> Self;
    fn add(self, b: Self) -> Self;
    fn mul(self, b: Self) -> Self;
    fn div(self, b: Self) -> Self;
    fn max(self, b: Self) -> Self;
    fn min(self, b: Self) -> Self;
}

/// `PANEL_ROWS` x (2 * WIDTH) outputs held in registers across the whole depth.
#[inline(always)]
unsafe fn tile<V: Lanes>(t: &Tile) {
    let w = V::WIDTH;
    let nr = 2 * w;
    let full = t.rows == PANEL_ROWS && t.cols == nr;
    // Partial tiles go through this buffer, zeroed only for them: wasm pays a call per fill.
    let mut spill_buffer = std::mem::MaybeUninit::<[f32; PANEL_ROWS * MAX_COLS]>::uninit();
    let spill = spill_buffer.as_mut_ptr() as *mut f32;
    let mut acc = [[V::splat(0.0); 2]; PANEL_ROWS];
    unsafe {
        if !full {
            spill.write_bytes(0, PANEL_ROWS * MAX_COLS);
        }
        if t.accumulate {
            let (src, stride) = if full {
                (t.c as *const f32, t.c_stride)
            } else {
                for r in 0..t.rows {
                    std::ptr::copy_nonoverlapping(t.c.add(r * t.c_stride), spill.add(r * nr), t.cols);
                }
                (spill as *const f32, nr)
            };
            for (r, row) in acc.iter_mut().enumerate() {
                row[0] = V::load(src.add(r * stride));
                row[1] = V::load(src.add(r * stride + w));
            }
        }
        let mut a = t.a;
        for d in 0..t.depth {
            let b = t.b.add(*t.b_offsets.add(d) as usize);
            let b0 = V::load(b);
            let b1 = V::load(b.add(w));
            for (r, row) in acc.iter_mut().enumerate() {
                let ar = V::broadcast(a.add(r));
                row[0] = ar.mul_add(b0, row[0]);
                row[1] = ar.mul_add(b1, row[1]);
            }
            a = a.add(PANEL_ROWS);
        }
        if let Some(e) = t.epilogue {
            let (low, high) = (V::splat(e.low), V::splat(e.high));
            for (r, row) in acc.iter_mut().enumerate() {
                let bias = V::splat(e.bias[r]);
                for v in row.iter_mut() {
                    *v = v.add(bias).max(low).min(high);
                }
                if full && !e.residual.is_null() {
                    let residual = e.residual.add(r * t.c_stride);
                    row[0] = row[0].add(V::load(residual));
                    row[1] = row[1].add(V::load(residual.add(w)));
                }
            }
        }
        let (dst, stride) = if full { (t.c, t.c_stride) } else { (spill, nr) };
        for (r, row) in acc.iter().enumerate() {
            row[0].store(dst.add(r * stride));
            row[1].store(dst.add(r * stride + w));
        }
        if !full {
            let residual = t.epilogue.map_or(std::ptr::null(), |e| e.residual);
            for r in 0..t.rows {
                let (src, out) = (spill.add(r * nr), t.c.add(r * t.c_stride));
                if residual.is_null() {
                    std::ptr::copy_nonoverlapping(src, out, t.cols);
                } else {
                    for j in 0..t.cols {
                        *out.add(j) = *src.add(j) + *residual.add(r * t.c_stride + j);
                    }
                }
            }
        }
    }
}

/// Output columns of one depthwise register block: `DEPTHWISE_VECTORS` accumulators, enough
/// independent multiply-add chains to hide their latency.
const DEPTHWISE_VECTORS: usize = 4;

/// One tap of a depthwise window over a row: where the row's reads start, and the weight.
#[derive(Clone, Copy)]
pub struct DepthwiseTap {
    pub src: *const f32,
    pub weight: f32,
}

/// `dst[j] = Σ weight * src[j]` over the taps, for `len` columns, a multiple of the kernel's
/// block width, each block summed in registers before one store.
#[inline(always)]
unsafe fn depthwise_blocks<V: Lanes>(taps: &[DepthwiseTap], dst: *mut f32, len: usize) {
    let w = V::WIDTH;
    let mut x = 0;
    while x + DEPTHWISE_VECTORS * w <= len {
        let mut acc = [V::splat(0.0); DEPTHWISE_VECTORS];
        unsafe {
            for tap in taps {
                let k = V::splat(tap.weight);
                for (v, a) in acc.iter_mut().enumerate() {
                    *a = k.mul_add(V::load(tap.src.add(x + v * w)), *a);
                }
            }
            for (v, a) in acc.iter().enumerate() {
                a.store(dst.add(x + v * w));
            }
        }
        x += DEPTHWISE_VECTORS * w;
    }
}

/// GELU in place over `len` floats, as `Activation::Gelu` computes it but with the erf
/// polynomials' steps as multiply-adds, one instruction each where the machine fuses them.
#[inline(always)]
unsafe fn gelu_lanes<V: Lanes>(values: *mut f32, len: usize) {
    let w = V::WIDTH;
    let (scale, low, high, half) =
        (V::splat(std::f32::consts::FRAC_1_SQRT_2), V::splat(-4.0), V::splat(4.0), V::splat(0.5));
    let mut i = 0;
    while i + w <= len {
        // SAFETY: values[i..i + w] lies within the `len` floats the caller hands over.
        unsafe {
            let x = V::load(values.add(i));
            let t = x.mul(scale).max(low).min(high);
            let t2 = t.mul(t);
            let p = ERF_P[1..].iter().fold(V::splat(ERF_P[0]), |acc, &c| acc.mul_add(t2, V::splat(c)));
            let q = ERF_Q[1..].iter().fold(V::splat(ERF_Q[0]), |acc, &c| acc.mul_add(t2, V::splat(c)));
            let erf = t.mul(p).div(q);
            let h = x.mul(half);
            h.mul_add(erf, h).store(values.add(i));
        }
        i += w;
    }
    for j in i..len {
        // SAFETY: as above.
        unsafe { *values.add(j) = Activation::Gelu.apply(*values.add(j)) };
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Lanes, Tile};

    #[derive(Clone, Copy)]
    pub struct Avx(__m256);

    impl Lanes for Avx {
        const WIDTH: usize = 8;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            unsafe { Avx(_mm256_loadu_ps(p)) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            unsafe { _mm256_storeu_ps(p, self.0) }
        }
        #[inline(always)]
        unsafe fn broadcast(p: *const f32) -> Self {
            unsafe { Avx(_mm256_broadcast_ss(&*p)) }
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            unsafe { Avx(_mm256_set1_ps(v)) }
        }
        #[inline(always)]
        fn mul_add(self, b: Self, acc: Self) -> Self {
            unsafe { Avx(_mm256_fmadd_ps(self.0, b.0, acc.0)) }
        }
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            unsafe { Avx(_mm256_add_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn mul(self, b: Self) -> Self {
            unsafe { Avx(_mm256_mul_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn div(self, b: Self) -> Self {
            unsafe { Avx(_mm256_div_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn max(self, b: Self) -> Self {
            unsafe { Avx(_mm256_max_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn min(self, b: Self) -> Self {
            unsafe { Avx(_mm256_min_ps(self.0, b.0)) }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tile_avx2(t: &Tile) {
        unsafe { super::tile::<Avx>(t) }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn depthwise_avx2(taps: &[super::DepthwiseTap], dst: *mut f32, len: usize) {
        unsafe { super::depthwise_blocks::<Avx>(taps, dst, len) }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu_avx2(values: *mut f32, len: usize) {
        unsafe { super::gelu_lanes::<Avx>(values, len) }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use std::arch::wasm32::*;

    use super::{Lanes, Tile};

    #[derive(Clone, Copy)]
    pub struct Simd128(v128);

    impl Lanes for Simd128 {
        const WIDTH: usize = 4;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            unsafe { Simd128(v128_load(p as *const v128)) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            unsafe { v128_store(p as *mut v128, self.0) }
        }
        #[inline(always)]
        unsafe fn broadcast(p: *const f32) -> Self {
            unsafe { Simd128(v128_load32_splat(p as *const u32)) }
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            Simd128(f32x4_splat(v))
        }
        #[inline(always)]
        fn mul_add(self, b: Self, acc: Self) -> Self {
            Simd128(f32x4_add(f32x4_mul(self.0, b.0), acc.0))
        }
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            Simd128(f32x4_add(self.0, b.0))
        }
        #[inline(always)]
        fn mul(self, b: Self) -> Self {
            Simd128(f32x4_mul(self.0, b.0))
        }
        #[inline(always)]
        fn div(self, b: Self) -> Self {
            Simd128(f32x4_div(self.0, b.0))
        }
        // The pseudo-min/max lower to single instructions; NaN ordering does not matter here.
        #[inline(always)]
        fn max(self, b: Self) -> Self {
            Simd128(f32x4_pmax(self.0, b.0))
        }
        #[inline(always)]
        fn min(self, b: Self) -> Self {
            Simd128(f32x4_pmin(self.0, b.0))
        }
    }

    #[cfg(not(feature = "relaxed-simd"))]
    pub unsafe fn tile_simd128(t: &Tile) {
        unsafe { super::tile::<Simd128>(t) }
    }

    #[cfg(not(feature = "relaxed-simd"))]
    pub unsafe fn depthwise_simd128(taps: &[super::DepthwiseTap], dst: *mut f32, len: usize) {
        unsafe { super::depthwise_blocks::<Simd128>(taps, dst, len) }
    }

    #[cfg(not(feature = "relaxed-simd"))]
    pub unsafe fn gelu_simd128(values: *mut f32, len: usize) {
        unsafe { super::gelu_lanes::<Simd128>(values, len) }
    }

    /// simd128 with relaxed SIMD's multiply-add: one instruction where simd128 needs two, and
    /// the micro-kernel is bound by instruction count.
    #[cfg(feature = "relaxed-simd")]
    #[derive(Clone, Copy)]
    pub struct Relaxed(Simd128);

    #[cfg(feature = "relaxed-simd")]
    impl Lanes for Relaxed {
        const WIDTH: usize = 4;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            unsafe { Relaxed(Simd128::load(p)) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            unsafe { self.0.store(p) }
        }
        #[inline(always)]
        unsafe fn broadcast(p: *const f32) -> Self {
            unsafe { Relaxed(Simd128::broadcast(p)) }
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            Relaxed(Simd128::splat(v))
        }
        #[inline(always)]
        fn mul_add(self, b: Self, acc: Self) -> Self {
            // SAFETY: only reached through `tile_relaxed`, which enables relaxed-simd.
            unsafe { Relaxed(Simd128(relaxed_madd(self.0.0, b.0.0, acc.0.0))) }
        }
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            Relaxed(self.0.add(b.0))
        }
        #[inline(always)]
        fn mul(self, b: Self) -> Self {
            Relaxed(self.0.mul(b.0))
        }
        #[inline(always)]
        fn div(self, b: Self) -> Self {
            Relaxed(self.0.div(b.0))
        }
        #[inline(always)]
        fn max(self, b: Self) -> Self {
            Relaxed(self.0.max(b.0))
        }
        #[inline(always)]
        fn min(self, b: Self) -> Self {
            Relaxed(self.0.min(b.0))
        }
    }

    #[cfg(feature = "relaxed-simd")]
    #[inline(always)]
    unsafe fn relaxed_madd(a: v128, b: v128, c: v128) -> v128 {
        f32x4_relaxed_madd(a, b, c)
    }

    #[cfg(feature = "relaxed-simd")]
    #[target_feature(enable = "relaxed-simd")]
    pub unsafe fn tile_relaxed(t: &Tile) {
        unsafe { super::tile::<Relaxed>(t) }
    }

    #[cfg(feature = "relaxed-simd")]
    #[target_feature(enable = "relaxed-simd")]
    pub unsafe fn depthwise_relaxed(taps: &[super::DepthwiseTap], dst: *mut f32, len: usize) {
        unsafe { super::depthwise_blocks::<Relaxed>(taps, dst, len) }
    }

    #[cfg(feature = "relaxed-simd")]
    #[target_feature(enable = "relaxed-simd")]
    pub unsafe fn gelu_relaxed(values: *mut f32, len: usize) {
        unsafe { super::gelu_lanes::<Relaxed>(values, len) }
    }
}

/// Four floats in plain Rust, for targets with neither kernel above.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[derive(Clone, Copy)]
struct Portable([f32; 4]);

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl Lanes for Portable {
    const WIDTH: usize = 4;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        unsafe { Portable(std::ptr::read_unaligned(p as *const [f32; 4])) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        unsafe { std::ptr::write_unaligned(p as *mut [f32; 4], self.0) }
    }
    #[inline(always)]
    unsafe fn broadcast(p: *const f32) -> Self {
        unsafe { Portable([*p; 4]) }
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        Portable([v; 4])
    }
    #[inline(always)]
    fn mul_add(self, b: Self, acc: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] * b.0[i] + acc.0[i]))
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] + b.0[i]))
    }
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] * b.0[i]))
    }
    #[inline(always)]
    fn div(self, b: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] / b.0[i]))
    }
    #[inline(always)]
    fn max(self, b: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i].max(b.0[i])))
    }
    #[inline(always)]
    fn min(self, b: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i].min(b.0[i])))
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
unsafe fn tile_portable(t: &Tile) {
    unsafe { tile::<Portable>(t) }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
unsafe fn depthwise_portable(taps: &[DepthwiseTap], dst: *mut f32, len: usize) {
    unsafe { depthwise_blocks::<Portable>(taps, dst, len) }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
unsafe fn gelu_portable(values: *mut f32, len: usize) {
    unsafe { gelu_lanes::<Portable>(values, len) }
}

/// The best micro-kernels this machine runs, and the widths they take.
#[derive(Clone, Copy)]
pub(super) struct Kernel {
    pub(super) cols: usize,
    pub(super) run: unsafe fn(&Tile),
    depthwise: unsafe fn(&[DepthwiseTap], *mut f32, usize),
    gelu: unsafe fn(*mut f32, usize),
}

pub(super) fn kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return Kernel { cols: 16, run: x86::tile_avx2, depthwise: x86::depthwise_avx2, gelu: x86::gelu_avx2 };
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", feature = "relaxed-simd"))]
    return Kernel { cols: 8, run: wasm::tile_relaxed, depthwise: wasm::depthwise_relaxed, gelu: wasm::gelu_relaxed };
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", not(feature = "relaxed-simd")))]
    return Kernel { cols: 8, run: wasm::tile_simd128, depthwise: wasm::depthwise_simd128, gelu: wasm::gelu_simd128 };
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    Kernel { cols: 8, run: tile_portable, depthwise: depthwise_portable, gelu: gelu_portable }
}

/// Columns per depthwise register block on this machine.
pub fn depthwise_block_width() -> usize {
    DEPTHWISE_VECTORS * kernel().cols / 2
}

/// Sums `taps` into `dst` (its length a multiple of `depthwise_block_width`), overwriting it.
/// SAFETY: each tap's `src` must be readable for `dst.len()` floats.
pub unsafe fn depthwise_row(taps: &[DepthwiseTap], dst: &mut [f32]) {
    unsafe { (kernel().depthwise)(taps, dst.as_mut_ptr(), dst.len()) }
}

/// `out[i] = src[2 * i]`, for stride-2 patches: two loads and one shuffle per four floats, where
/// a strided loop moves one float at a time.
pub(super) fn copy_even(src: &[f32], out: &mut [f32]) {
    let n = out.len();
    let mut i = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    while i + 4 <= n && 2 * i + 8 <= src.len() {
        use std::arch::wasm32::*;
        // SAFETY: the loads read src[2i..2i + 8] and the store writes out[i..i + 4], both checked above.
        unsafe {
            let a = v128_load(src.as_ptr().add(2 * i) as *const v128);
            let b = v128_load(src.as_ptr().add(2 * i + 4) as *const v128);
            v128_store(out.as_mut_ptr().add(i) as *mut v128, i32x4_shuffle::<0, 2, 4, 6>(a, b));
        }
        i += 4;
    }
    #[cfg(target_arch = "x86_64")]
    while i + 4 <= n && 2 * i + 8 <= src.len() {
        use std::arch::x86_64::*;
        // SAFETY: as above; SSE is part of x86_64.
        unsafe {
            let a = _mm_loadu_ps(src.as_ptr().add(2 * i));
            let b = _mm_loadu_ps(src.as_ptr().add(2 * i + 4));
            _mm_storeu_ps(out.as_mut_ptr().add(i), _mm_shuffle_ps::<0b10_00_10_00>(a, b));
        }
        i += 4;
    }
    for (j, o) in out.iter_mut().enumerate().skip(i) {
        *o = src[2 * j];
    }
}

/// Applies `activation` in place: GELU on this machine's SIMD kernel, the rest as loops that vectorise.
pub fn activate(activation: Activation, values: &mut [f32]) {
    match activation {
        // SAFETY: the kernel reads and writes exactly the slice's floats.
        Activation::Gelu => unsafe { (kernel().gelu)(values.as_mut_ptr(), values.len()) },
        other => other.apply_all(values),
    }
}

/// Input and window geometry of one convolution group.
struct Geometry {
    h: usize,
    w: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    pad: [isize; 2],
    out_width: usize,
}

/// The epilogue of a conv output row computed outside the packed tiles: bias, activation, then
/// the fused residual Add, in the order the tiles' own epilogue applies them.
#[inline]
pub(super) fn finish_row(row: &mut [f32], bias: f32, activation: Activation, residual: Option<&[f32]>) {
    if bias != 0.0 {
        row.iter_mut().for_each(|v| *v += bias);
    }
    activate(activation, row);
    if let Some(residual) = residual {
        row.iter_mut().zip(residual).for_each(|(v, r)| *v += r);
    }
}

/// Packs the patch rows `depths` of the given tiles, each `(first pixel, slot)` going to
/// `dst[slot * depth * nr..]` as [depth][nr]: zero beyond the plane's last pixel and where the
/// window reads padding. Depth rows go outermost so each input row streams across all the tiles.
fn pack_patches(
    x: &[f32],
    g: &Geometry,
    plane: usize,
    tiles: &[(usize, usize)],
    depths: std::ops::Range<usize>,
    nr: usize,
    dst: &mut [f32],
) {
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [dh, dw] = g.dilation;
    let depth = depths.len();
    // Runs of pixels on one output row: (offset in dst, length, input row and column of the window's origin).
    let mut runs = Vec::with_capacity(tiles.len() * 2);
    for &(first, slot) in tiles {
        let cols = nr.min(plane - first);
        let mut j = 0;
        while j < cols {
            let (oy, ox) = ((first + j) / g.out_width, (first + j) % g.out_width);
            let len = (g.out_width - ox).min(cols - j);
            runs.push((slot * depth * nr + j, len, (oy * sh) as isize - g.pad[0], (ox * sw) as isize - g.pad[1]));
            j += len;
        }
        if cols < nr {
            for row in dst[slot * depth * nr..][..depth * nr].chunks_exact_mut(nr) {
                row[cols..].fill(0.0);
            }
        }
    }
    let taps = kh * kw;
    let (h, w) = (g.h as isize, g.w as isize);
    // The depth's channel and tap advance by counting: a division per row would cost more than the copy.
    let (mut ci, tap) = (depths.start / taps, depths.start % taps);
    let (mut ky, mut kx) = (tap / kw, tap % kw);
    for d in 0..depth {
        let plane_in = &x[ci * g.h * g.w..][..g.h * g.w];
        for &(at, len, iy0, ix0) in &runs {
            let out = &mut dst[at + d * nr..][..len];
            let iy = iy0 + (ky * dh) as isize;
            if iy < 0 || iy >= h {
                out.fill(0.0);
                continue;
            }
            let src = &plane_in[iy as usize * g.w..][..g.w];
            let ix = ix0 + (kx * dw) as isize;
            // Columns lo..hi of the run read inside the row; the rest read padding. Most runs lie
            // wholly inside, and skip the divisions.
            let (lo, hi) = if ix >= 0 && ix + (((len - 1) * sw) as isize) < w {
                (0, len)
            } else {
                let lo = ((-ix).max(0) as usize).div_ceil(sw).min(len);
                (lo, ((w - ix).max(0) as usize).div_ceil(sw).clamp(lo, len))
            };
            out[..lo].fill(0.0);
            out[hi..].fill(0.0);
            if lo < hi {
                let start = (ix + (lo * sw) as isize) as usize;
                if sw == 1 {
                    out[lo..hi].copy_from_slice(&src[start..start + (hi - lo)]);
                } else if sw == 2 {
                    copy_even(&src[start..], &mut out[lo..hi]);
                } else {
                    for (o, s) in out[lo..hi].iter_mut().zip(src[start..].iter().step_by(sw)) {
                        *o = *s;
                    }
                }
            }
        }
        kx += 1;
        if kx == kw {
            kx = 0;
            ky += 1;
            if ky == kh {
                ky = 0;
                ci += 1;
            }
        }
    }
}

/// How a packed product splits into rayon tasks. Tiles go in blocks whose packed inputs stay in
/// L2 while every panel passes over them, so each panel writes long runs of its output rows.
/// Work splits by jobs (independent products) and blocks first, then by panels when there are
/// too few blocks to keep every thread busy.
struct Split {
    tiles: usize,
    panels: usize,
    block_tiles: usize,
    blocks: usize,
    panels_per_task: usize,
    panel_chunks: usize,
    tasks: usize,
}

impl Split {
    /// `tile_floats`: the floats of packed input one tile takes over one pass of the depth.
    fn new(jobs: usize, tiles: usize, panels: usize, tile_floats: usize) -> Split {
        let threads = rayon::current_num_threads();
        let wanted = if threads > 1 { 4 * threads } else { 1 };
        let per_job = wanted.div_ceil(jobs);
        let by_cache = (BLOCK_FLOATS / tile_floats).max(1);
        let block_tiles = by_cache.min(tiles.div_ceil(per_job)).max(1);
        let blocks = tiles.div_ceil(block_tiles);
        let panel_split = if blocks >= per_job { 1 } else { per_job.div_ceil(blocks).min(panels) };
        let panels_per_task = panels.div_ceil(panel_split);
        let panel_chunks = panels.div_ceil(panels_per_task);
        Split { tiles, panels, block_tiles, blocks, panels_per_task, panel_chunks, tasks: jobs * blocks * panel_chunks }
    }

    /// Task `task`'s job, tiles and panels.
    fn task(&self, task: usize) -> (usize, std::ops::Range<usize>, std::ops::Range<usize>) {
        let per_job = self.blocks * self.panel_chunks;
        let (job, rest) = (task / per_job, task % per_job);
        let (block, chunk) = (rest / self.panel_chunks, rest % self.panel_chunks);
        let tiles = block * self.block_tiles..((block + 1) * self.block_tiles).min(self.tiles);
        let panels = chunk * self.panels_per_task..((chunk + 1) * self.panels_per_task).min(self.panels);
        (job, tiles, panels)
    }

    /// Runs every task, over rayon's pool when there is more than one of each.
    fn run(&self, run: impl Fn(usize) + Sync + Send) {
        if self.tasks > 1 && rayon::current_num_threads() > 1 {
            (0..self.tasks).into_par_iter().for_each(run);
        } else {
            (0..self.tasks).for_each(run);
        }
    }
}

/// A conv's operands as every conv kernel reads them: the input with its [n, c, h, w] dims, the
/// weights in the layout that kernel takes, the per-channel bias and the fused residual, laid out
/// as the output (`Conv::residual`).
#[derive(Clone, Copy)]
pub(super) struct ConvOperands<'a> {
    pub x: &'a [f32],
    pub dims: [usize; 4],
    pub weights: &'a [f32],
    pub bias: Option<&'a [f32]>,
    pub residual: Option<&'a [f32]>,
}

/// Conv2d over weights packed by `pack_weights`, initialising every element of `out` [N, M, oh, ow].
pub(super) fn conv2d_packed(
    operands: ConvOperands,
    conv: &Conv,
    [m, oh, ow]: [usize; 3],
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    let ConvOperands { x, dims: [n, c, h, w], weights: panels, bias, residual } = operands;
    let kernel = kernel();
    let nr = kernel.cols;
    let g = conv.group;
    let (cg, mg) = (c / g, m / g);
    let win = &conv.window;
    let [kh, kw] = win.kernel;
    let k = cg * kh * kw;
    let plane = oh * ow;
    let geometry = Geometry {
        h,
        w,
        kernel: win.kernel,
        stride: win.stride,
        dilation: win.dilation,
        pad: [win.pads[0] as isize, win.pads[1] as isize],
        out_width: ow,
    };
    // A tile whose windows all lie inside the input at column stride 1 reads its patches straight
    // from the input, at these offsets from the window origin of its first pixel; so does any full
    // tile of a 1x1 window over the unpadded input at stride 1, whose pixels may span rows.
    let pointwise = kh == 1 && kw == 1 && win.stride == [1, 1] && win.pads == [0; 4];
    let [dh, dw] = win.dilation;
    let direct_offsets: Vec<u32> = (0..k)
        .map(|d| {
            let (ci, tap) = (d / (kh * kw), d % (kh * kw));
            (ci * h * w + (tap / kw) * dh * w + (tap % kw) * dw) as u32
        })
        .collect();
    let direct_origin = |t: usize| -> Option<usize> {
        let first = t * nr;
        if pointwise {
            return (first + nr <= plane).then_some(first);
        }
        let (oy, ox) = (first / ow, first % ow);
        let iy = (oy * win.stride[0]) as isize - geometry.pad[0];
        let ix = ox as isize - geometry.pad[1];
        let inside = win.stride[1] == 1
            && ox + nr <= ow
            && iy >= 0
            && iy as usize + (kh - 1) * dh < h
            && ix >= 0
            && ix as usize + nr - 1 + (kw - 1) * dw < w;
        inside.then(|| iy as usize * w + ix as usize)
    };
    let group_panels = mg.div_ceil(PANEL_ROWS);
    let tiles = plane.div_ceil(nr);
    let passes = k.div_ceil(MAX_DEPTH);
    let pass_depth = k.div_ceil(passes);
    let packed_offsets: Vec<u32> = (0..pass_depth).map(|d| (d * nr) as u32).collect();
    let (low, high, after) = match conv.activation {
        Activation::None => (f32::NEG_INFINITY, f32::INFINITY, None),
        Activation::Relu => (0.0, f32::INFINITY, None),
        Activation::Clip { min, max } => (min, max, None),
        other => (f32::NEG_INFINITY, f32::INFINITY, Some(other)),
    };

    let split = Split::new(n * g, tiles, group_panels, pass_depth * nr);
    let dst = SharedMut::uninit(out);
    let run = |task: usize| {
        let (job, tile_range, panel_range) = split.task(task);
        let (ni, gi) = (job / g, job % g);
        let x_group = &x[(ni * c + gi * cg) * h * w..][..cg * h * w];
        let group_weights = &panels[gi * group_panels * k * PANEL_ROWS..][..group_panels * k * PANEL_ROWS];
        // Every packed tile's rows are written before they are read, so the scratch needs no zeroing.
        with_scratch(tile_range.len() * pass_depth * nr, |scratch| {
            let mut k0 = 0;
            while k0 < k {
                let k1 = (k0 + pass_depth).min(k);
                let depth = k1 - k0;
                let packed_tiles: Vec<(usize, usize)> = tile_range
                    .clone()
                    .enumerate()
                    .filter(|&(_, t)| direct_origin(t).is_none())
                    .map(|(i, t)| (t * nr, i))
                    .collect();
                pack_patches(x_group, &geometry, plane, &packed_tiles, k0..k1, nr, scratch);
                // Where each tile's patches are read: straight from the input, or packed into scratch.
                let source = |i: usize, t: usize| -> (*const f32, *const u32) {
                    match direct_origin(t) {
                        Some(origin) => (x_group[origin..].as_ptr(), direct_offsets[k0..].as_ptr()),
                        None => (scratch[i * depth * nr..].as_ptr(), packed_offsets.as_ptr()),
                    }
                };
                for p in panel_range.clone() {
                    let rows = PANEL_ROWS.min(mg - p * PANEL_ROWS);
                    let m0 = gi * mg + p * PANEL_ROWS;
                    // The residual is added after the activation: by the kernel after a clamp, else below.
                    let tile_residual = match residual {
                        Some(r) if after.is_none() => r[(ni * m + m0) * plane..].as_ptr(),
                        _ => std::ptr::null(),
                    };
                    let epilogue = (k1 == k).then(|| Epilogue {
                        bias: std::array::from_fn(|r| match bias {
                            Some(b) if r < rows => b[m0 + r],
                            _ => 0.0,
                        }),
                        low,
                        high,
                        residual: tile_residual,
                    });
                    let a = group_weights[(p * k + k0) * PANEL_ROWS..].as_ptr();
                    for (i, t) in tile_range.clone().enumerate() {
                        let first = t * nr;
                        let cols = nr.min(plane - first);
                        let (b, b_offsets) = source(i, t);
                        // SAFETY: rows m0..m0+rows and columns first..first+cols of the output are
                        // this task's alone; `nr` floats are readable at `b` plus each of `depth` offsets.
                        unsafe {
                            let c_ptr = dst.ptr().add((ni * m + m0) * plane + first);
                            let epilogue = epilogue.map(|e| Epilogue {
                                residual: if e.residual.is_null() { e.residual } else { e.residual.add(first) },
                                ..e
                            });
                            (kernel.run)(&Tile {
                                depth,
                                a,
                                b,
                                b_offsets,
                                c: c_ptr,
                                c_stride: plane,
                                rows,
                                cols,
                                accumulate: k0 > 0,
                                epilogue,
                            });
                        }
                    }
                    // Activations beyond a clamp (GELU, sigmoid, ...) run once over each output row's
                    // stretch of the block, still in cache: long loops vectorise, per-tile calls do not.
                    if let (Some(activation), true) = (after, k1 == k) {
                        let (start, end) = (tile_range.start * nr, (tile_range.end * nr).min(plane));
                        for r in 0..rows {
                            // SAFETY: these columns of this panel's rows are this task's alone, all written above.
                            let at = (ni * m + m0 + r) * plane + start;
                            let written = unsafe { std::slice::from_raw_parts_mut(dst.ptr().add(at), end - start) };
                            activate(activation, written);
                            if let Some(residual) = residual {
                                let residual = &residual[(ni * m + m0 + r) * plane + start..][..end - start];
                                written.iter_mut().zip(residual).for_each(|(v, r)| *v += r);
                            }
                        }
                    }
                }
                k0 = k1;
            }
        });
    };
    split.run(run);
}

/// `out[i] = a[i] · b[i]` for each of `batch` products of row-major a [m, k] and b [k, n] (one b
/// shared by all unless `b_batched`), initialising every element of `out`. The rows of `a` are
/// packed into panels as conv weights are; `b` is read in place, but for its last, partial column tile.
pub fn matmul(
    a: &[f32],
    b: &[f32],
    [batch, m, k, n]: [usize; 4],
    b_batched: bool,
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    let kernel = kernel();
    let nr = kernel.cols;
    let panels = m.div_ceil(PANEL_ROWS);
    let a_panels: Vec<Vec<f32>> = (0..batch).map(|bi| pack_weights(&a[bi * m * k..][..m * k], m, k, 1)).collect();
    let b_count = if b_batched { batch } else { 1 };
    let (full_tiles, tail) = (n / nr, n % nr);
    // The last columns, zero-padded to a whole tile: [k][nr] per b.
    let tail_tiles: Vec<Vec<f32>> = (0..b_count)
        .map(|bi| {
            let mut packed = vec![0f32; if tail > 0 { k * nr } else { 0 }];
            for (d, row) in packed.chunks_exact_mut(nr).enumerate() {
                row[..tail].copy_from_slice(&b[bi * k * n + d * n + full_tiles * nr..][..tail]);
            }
            packed
        })
        .collect();
    let direct_offsets: Vec<u32> = (0..k).map(|d| (d * n) as u32).collect();
    let packed_offsets: Vec<u32> = (0..k).map(|d| (d * nr) as u32).collect();
    let tiles = n.div_ceil(nr);
    let passes = k.div_ceil(MAX_DEPTH);
    let pass_depth = k.div_ceil(passes);

    let split = Split::new(batch, tiles, panels, pass_depth * nr);
    let dst = SharedMut::uninit(out);
    let run = |task: usize| {
        let (bi, tile_range, panel_range) = split.task(task);
        let b_index = if b_batched { bi } else { 0 };
        let b_matrix = &b[b_index * k * n..][..k * n];
        let mut k0 = 0;
        while k0 < k {
            let k1 = (k0 + pass_depth).min(k);
            for p in panel_range.clone() {
                let rows = PANEL_ROWS.min(m - p * PANEL_ROWS);
                let a_ptr = a_panels[bi][(p * k + k0) * PANEL_ROWS..].as_ptr();
                for t in tile_range.clone() {
                    let col = t * nr;
                    let (b_ptr, offsets) = if t < full_tiles {
                        (b_matrix[col..].as_ptr(), direct_offsets[k0..].as_ptr())
                    } else {
                        (tail_tiles[b_index].as_ptr(), packed_offsets[k0..].as_ptr())
                    };
                    // SAFETY: rows p*PANEL_ROWS.. and columns col..col+cols of product bi are this
                    // task's alone; full tiles read nr floats of b rows that hold them, the tail its packed copy.
                    unsafe {
                        (kernel.run)(&Tile {
                            depth: k1 - k0,
                            a: a_ptr,
                            b: b_ptr,
                            b_offsets: offsets,
                            c: dst.ptr().add((bi * m + p * PANEL_ROWS) * n + col),
                            c_stride: n,
                            rows,
                            cols: nr.min(n - col),
                            accumulate: k0 > 0,
                            epilogue: None,
                        });
                    }
                }
            }
            k0 = k1;
        }
    };
    split.run(run);
}

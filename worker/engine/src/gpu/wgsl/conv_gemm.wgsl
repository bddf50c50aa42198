// Dense convolution (group 1) as an implicit GEMM: output pixels × output channels, summed over
// K = C·kh·kw, without an im2col buffer (the A tile gathers its inputs, padding read as zero).
// A workgroup computes a 64-pixel × 64-channel tile of one image in steps of 16 along K through
// workgroup memory (16 × 64 inputs, 16 × 64 weights); each invocation keeps a 4 × 4 block of it in registers, its rows and columns
// 16 apart so that neighbouring invocations read neighbouring words. Words as conv.wgsl's.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

const TILE = 64u;
const STEP = 16u;

var<workgroup> tile_a: array<array<f32, 64>, 16>;
var<workgroup> tile_b: array<array<f32, 64>, 16>;

// Writes one output channel's four pixels of the block, through the activation and the residual.
fn store(n: u32, m: u32, p0: u32, lx: u32, pixels: u32, m_out: u32, v: vec4<f32>) {
    if (m >= m_out) {
        return;
    }
    for (var i = 0u; i < 4u; i++) {
        let p = p0 + lx + 16u * i;
        if (p < pixels) {
            let at = (n * m_out + m) * pixels + p;
            var r = unary(v[i], word(24u), real(25u), real(26u));
            if (word(28u) != 0u) {
                r += residual[offset(4u) + at];
            }
            y[offset(5u) + at] = r;
        }
    }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) flat: u32) {
    let c_in = word(9u);
    let h = word(10u);
    let wd = word(11u);
    let m_out = word(12u);
    let oh = word(13u);
    let ow = word(14u);
    let kh = word(15u);
    let kw = word(16u);
    let sy = word(17u);
    let sx = word(18u);
    let dy = word(19u);
    let dx = word(20u);
    let pt = i32(word(21u));
    let pl = i32(word(22u));
    let pixels = oh * ow;
    let taps = kh * kw;
    let k_total = c_in * taps;
    let n = wid.z;
    let p0 = wid.x * TILE;
    let m0 = wid.y * TILE;
    let image = offset(1u) + n * c_in * h * wd;

    // Sums start from the bias, as the CPU's do: the same order of additions keeps the two close.
    // One named vector per output channel of the block, its four pixels in the lanes: an array
    // indexed in loops can end up in memory rather than registers (NVIDIA's compiler put u2netp's
    // convs at 235 GFLOP/s that way).
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    if (word(27u) != 0u) {
        acc0 = vec4<f32>(bias[offset(3u) + min(m0 + lid.y, m_out - 1u)]);
        acc1 = vec4<f32>(bias[offset(3u) + min(m0 + lid.y + 16u, m_out - 1u)]);
        acc2 = vec4<f32>(bias[offset(3u) + min(m0 + lid.y + 32u, m_out - 1u)]);
        acc3 = vec4<f32>(bias[offset(3u) + min(m0 + lid.y + 48u, m_out - 1u)]);
    }
    // A: 16 K rows × 64 pixels per step. An invocation loads the same pixel every step, in rows
    // a_row, a_row + 4, a_row + 8, a_row + 12, so its pixel's window origin is worked out once and
    // each row's (channel, tap) is carried forward by 16 K per step with additions: dividing per
    // value cost more than the multiply-adds it fed. K stays in ONNX's order (channel, then tap),
    // the order the CPU sums in.
    let a_col = flat % TILE;
    let a_row = flat / TILE;
    let p = p0 + a_col;
    let in_image = p < pixels;
    let py = i32((p / ow) * sy) - pt;
    let px = i32((p % ow) * sx) - pl;
    let step_c = STEP / taps;
    let step_ky = (STEP % taps) / kw;
    let step_kx = (STEP % taps) % kw;
    var rows_c: array<u32, 4>;
    var rows_ky: array<u32, 4>;
    var rows_kx: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) {
        let k = a_row + 4u * i;
        rows_c[i] = k / taps;
        rows_ky[i] = (k % taps) / kw;
        rows_kx[i] = (k % taps) % kw;
    }
    for (var k0 = 0u; k0 < k_total; k0 += STEP) {
        for (var i = 0u; i < 4u; i++) {
            let c = rows_c[i];
            let iy = py + i32(rows_ky[i] * dy);
            let ix = px + i32(rows_kx[i] * dx);
            var v = 0.0;
            if (in_image && c < c_in && iy >= 0 && iy < i32(h) && ix >= 0 && ix < i32(wd)) {
                v = x[image + (c * h + u32(iy)) * wd + u32(ix)];
            }
            tile_a[a_row + 4u * i][a_col] = v;
            var kx = rows_kx[i] + step_kx;
            var ky = rows_ky[i] + step_ky;
            var next_c = c + step_c;
            if (kx >= kw) {
                kx -= kw;
                ky += 1u;
            }
            if (ky >= kh) {
                ky -= kh;
                next_c += 1u;
            }
            rows_c[i] = next_c;
            rows_ky[i] = ky;
            rows_kx[i] = kx;
        }
        // B: 16 K rows × 64 channels from weights [M][K]; consecutive invocations take consecutive K.
        for (var e = flat; e < STEP * TILE; e += 256u) {
            let kk = e % STEP;
            let mm = e / STEP;
            let k = k0 + kk;
            let m = m0 + mm;
            var v = 0.0;
            if (k < k_total && m < m_out) {
                v = w[offset(2u) + m * k_total + k];
            }
            tile_b[kk][mm] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < STEP; kk++) {
            let a = vec4<f32>(tile_a[kk][lid.x], tile_a[kk][lid.x + 16u], tile_a[kk][lid.x + 32u], tile_a[kk][lid.x + 48u]);
            acc0 += a * tile_b[kk][lid.y];
            acc1 += a * tile_b[kk][lid.y + 16u];
            acc2 += a * tile_b[kk][lid.y + 32u];
            acc3 += a * tile_b[kk][lid.y + 48u];
        }
        workgroupBarrier();
    }

    store(n, m0 + lid.y, p0, lid.x, pixels, m_out, acc0);
    store(n, m0 + lid.y + 16u, p0, lid.x, pixels, m_out, acc1);
    store(n, m0 + lid.y + 32u, p0, lid.x, pixels, m_out, acc2);
    store(n, m0 + lid.y + 48u, p0, lid.x, pixels, m_out, acc3);
}

// Direct convolution, one output per invocation, neighbours along x so reads coalesce and every
// invocation of a workgroup reads the same weights. NCHW; weights [M, C/group, kh, kw].
// Words: 8 count, 9 C, 10 H, 11 W, 12 M, 13 OH, 14 OW, 15 kh, 16 kw, 17 stride y, 18 stride x,
// 19 dilation y, 20 dilation x, 21 pad top, 22 pad left, 23 group, 24–26 the activation (code, a, b),
// 27 whether there is a bias, 28 whether the residual is added (after the activation).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= word(8u)) {
        return;
    }
    let c_in = word(9u);
    let h = word(10u);
    let wd = word(11u);
    let m_out = word(12u);
    let oh = word(13u);
    let ow = word(14u);
    let kh = word(15u);
    let kw = word(16u);
    let group = word(23u);
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let m = (i / (ow * oh)) % m_out;
    let n = i / (ow * oh * m_out);
    let cg = c_in / group;
    let g = m / (m_out / group);
    let y0 = i32(oy * word(17u)) - i32(word(21u));
    let x0 = i32(ox * word(18u)) - i32(word(22u));
    let dy = i32(word(19u));
    let dx = i32(word(20u));
    var acc = 0.0;
    if (word(27u) != 0u) {
        acc = bias[offset(3u) + m];
    }
    let xo = offset(1u);
    let wo = offset(2u) + m * cg * kh * kw;
    for (var c = 0u; c < cg; c++) {
        let plane = xo + (n * c_in + g * cg + c) * h * wd;
        let taps = wo + c * kh * kw;
        for (var ky = 0u; ky < kh; ky++) {
            let iy = y0 + i32(ky) * dy;
            if (iy < 0 || iy >= i32(h)) {
                continue;
            }
            let row = plane + u32(iy) * wd;
            for (var kx = 0u; kx < kw; kx++) {
                let ix = x0 + i32(kx) * dx;
                if (ix >= 0 && ix < i32(wd)) {
                    acc += x[row + u32(ix)] * w[taps + ky * kw + kx];
                }
            }
        }
    }
    var v = unary(acc, word(24u), real(25u), real(26u));
    if (word(28u) != 0u) {
        v += residual[offset(4u) + i];
    }
    y[offset(5u) + i] = v;
}

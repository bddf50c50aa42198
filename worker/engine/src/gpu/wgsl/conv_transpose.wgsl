// Transposed convolution as a gather: each output sums the inputs whose window covers it. NCHW;
// weights [C, M/group, kh, kw]. Words as conv.wgsl's (9 C, 10 H, 11 W are the input's), with
// 27 whether there is a bias; there is no residual.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= word(8u)) {
        return;
    }
    let c_in = word(9u);
    let h = i32(word(10u));
    let wd = i32(word(11u));
    let m_out = word(12u);
    let oh = word(13u);
    let ow = word(14u);
    let kh = word(15u);
    let kw = word(16u);
    let sy = i32(word(17u));
    let sx = i32(word(18u));
    let dy = i32(word(19u));
    let dx = i32(word(20u));
    let group = word(23u);
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let m = (i / (ow * oh)) % m_out;
    let n = i / (ow * oh * m_out);
    let cg = c_in / group;
    let mg = m_out / group;
    let g = m / mg;
    var acc = 0.0;
    if (word(27u) != 0u) {
        acc = bias[offset(3u) + m];
    }
    for (var ky = 0u; ky < kh; ky++) {
        let ty = i32(oy) + i32(word(21u)) - i32(ky) * dy;
        if (ty < 0 || ty % sy != 0 || ty / sy >= h) {
            continue;
        }
        let iy = ty / sy;
        for (var kx = 0u; kx < kw; kx++) {
            let tx = i32(ox) + i32(word(22u)) - i32(kx) * dx;
            if (tx < 0 || tx % sx != 0 || tx / sx >= wd) {
                continue;
            }
            let ix = tx / sx;
            for (var c = 0u; c < cg; c++) {
                let ci = g * cg + c;
                let xv = x[offset(1u) + ((n * c_in + ci) * u32(h) + u32(iy)) * u32(wd) + u32(ix)];
                let wv = w[offset(2u) + ((ci * mg + (m - g * mg)) * kh + ky) * kw + kx];
                acc += xv * wv;
            }
        }
    }
    y[offset(4u) + i] = unary(acc, word(24u), real(25u), real(26u));
}

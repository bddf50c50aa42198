// Max and average pooling over NCHW planes; windows may run past the input in ceil mode.
// Words: 8 count, 9 H, 10 W, 11 OH, 12 OW, 13 kh, 14 kw, 15 stride y, 16 stride x, 17 dilation y,
// 18 dilation x, 19 pad top, 20 pad left, 21 kind (0 max, 1 average counting padding, 2 average
// over the inputs inside the window only).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= word(8u)) {
        return;
    }
    let h = i32(word(9u));
    let wd = i32(word(10u));
    let oh = word(11u);
    let ow = word(12u);
    let kh = word(13u);
    let kw = word(14u);
    let kind = word(21u);
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let plane = offset(1u) + (i / (ow * oh)) * u32(h * wd);
    var acc = 0.0;
    if (kind == 0u) {
        // The lowest f32 written exactly: Tint (Chromium) refuses the shorter 3.4028235e38 as beyond f32.
        acc = -3.4028234663852886e38;
    }
    var rows = 0u;
    var columns = 0u;
    for (var kx = 0u; kx < kw; kx++) {
        let ix = i32(ox * word(16u) + kx * word(18u)) - i32(word(20u));
        if (ix >= 0 && ix < wd) {
            columns += 1u;
        }
    }
    for (var ky = 0u; ky < kh; ky++) {
        let iy = i32(oy * word(15u) + ky * word(17u)) - i32(word(19u));
        if (iy < 0 || iy >= h) {
            continue;
        }
        rows += 1u;
        for (var kx = 0u; kx < kw; kx++) {
            let ix = i32(ox * word(16u) + kx * word(18u)) - i32(word(20u));
            if (ix >= 0 && ix < wd) {
                let v = x[plane + u32(iy * wd + ix)];
                if (kind == 0u) {
                    acc = select(acc, v, v > acc);
                } else {
                    acc += v;
                }
            }
        }
    }
    if (kind == 1u) {
        acc /= f32(kh * kw);
    } else if (kind == 2u) {
        acc /= f32(max(rows * columns, 1u));
    }
    y[offset(2u) + i] = acc;
}

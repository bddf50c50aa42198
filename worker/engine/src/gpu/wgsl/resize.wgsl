// Nearest and bilinear resize of NCHW planes, with ONNX's coordinate transforms.
// Words: 8 count, 9 H, 10 W, 11 OH, 12 OW, 13 scale y, 14 scale x (f32), 15 transform (0 half
// pixel, 1 pytorch half pixel, 2 align corners, 3 asymmetric), 16 mode (0 linear, 1 nearest
// round-prefer-floor, 2 round-prefer-ceil, 3 floor, 4 ceil).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn source(o: u32, scale: f32, input: u32, output: u32) -> f32 {
    let p = f32(o);
    switch word(15u) {
        case 0u: { return (p + 0.5) / scale - 0.5; }
        case 1u: { return select(0.0, (p + 0.5) / scale - 0.5, output > 1u); }
        case 2u: { return select(0.0, p * f32(input - 1u) / f32(output - 1u), output > 1u); }
        default: { return p / scale; }
    }
}

fn nearest(s: f32, input: u32) -> u32 {
    var r: f32;
    switch word(16u) {
        // Rounding half away from zero (Rust's), then down on an exact half.
        case 1u: { r = select(sign(s) * floor(abs(s) + 0.5), floor(s), s - trunc(s) == 0.5); }
        case 2u: { r = sign(s) * floor(abs(s) + 0.5); }
        case 3u: { r = floor(s); }
        default: { r = ceil(s); }
    }
    return min(u32(max(r, 0.0)), input - 1u);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= word(8u)) {
        return;
    }
    let h = word(9u);
    let wd = word(10u);
    let oh = word(11u);
    let ow = word(12u);
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let plane = offset(1u) + (i / (ow * oh)) * h * wd;
    let sy = source(oy, real(13u), h, oh);
    let sx = source(ox, real(14u), wd, ow);
    var v: f32;
    if (word(16u) != 0u) {
        v = x[plane + nearest(sy, h) * wd + nearest(sx, wd)];
    } else {
        let cy = clamp(sy, 0.0, f32(h - 1u));
        let cx = clamp(sx, 0.0, f32(wd - 1u));
        let y0 = u32(floor(cy));
        let x0 = u32(floor(cx));
        let y1 = min(y0 + 1u, h - 1u);
        let x1 = min(x0 + 1u, wd - 1u);
        let fy = cy - f32(y0);
        let fx = cx - f32(x0);
        // Rows first, then columns, as the CPU blends.
        let a0 = x[plane + y0 * wd + x0];
        let a1 = x[plane + y0 * wd + x1];
        let b0 = x[plane + y1 * wd + x0];
        let b1 = x[plane + y1 * wd + x1];
        let l0 = a0 + (b0 - a0) * fy;
        let l1 = a1 + (b1 - a1) * fy;
        v = l0 + (l1 - l0) * fx;
    }
    y[offset(2u) + i] = v;
}

// Pad of up to 6 axes: constant, reflect or edge. Words: 8 count, 9 rank, 10–15 output dims,
// 16–21 input dims, 22–27 padding before each axis, 28 mode (0 constant, 1 reflect, 2 edge),
// 29 the constant (f32).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= word(8u)) {
        return;
    }
    let mode = word(28u);
    var rest = i;
    var src = 0u;
    var stride = 1u;
    var inside = true;
    for (var d = i32(word(9u)) - 1; d >= 0; d--) {
        let dim = word(10u + u32(d));
        let len = i32(word(16u + u32(d)));
        var c = i32(rest % dim) - i32(word(22u + u32(d)));
        rest = rest / dim;
        if (c < 0 || c >= len) {
            if (mode == 0u) {
                inside = false;
            } else if (mode == 2u) {
                c = clamp(c, 0, len - 1);
            } else {
                let period = 2 * max(len - 1, 1);
                let m = ((c % period) + period) % period;
                c = select(period - m, m, m < len);
            }
        }
        src += u32(c) * stride;
        stride *= u32(len);
    }
    var v = real(29u);
    if (inside) {
        v = x[offset(1u) + src];
    }
    y[offset(2u) + i] = v;
}

// y = a ∘ b with numpy broadcasting: a stride of 0 repeats an axis. Words: 8 count, 9 rank,
// 10–15 output dims, 16–21 a's strides, 22–27 b's strides, 28 the op (0 add, 1 sub, 2 mul, 3 div).
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= word(8u)) {
        return;
    }
    var rest = i;
    var ia = 0u;
    var ib = 0u;
    for (var d = i32(word(9u)) - 1; d >= 0; d--) {
        let dim = word(10u + u32(d));
        let c = rest % dim;
        rest = rest / dim;
        ia += c * word(16u + u32(d));
        ib += c * word(22u + u32(d));
    }
    let u = a[offset(1u) + ia];
    let v = b[offset(2u) + ib];
    var r: f32;
    switch word(28u) {
        case 0u: { r = u + v; }
        case 1u: { r = u - v; }
        case 2u: { r = u * v; }
        default: { r = u / v; }
    }
    y[offset(3u) + i] = r;
}

// Sum or mean over any axes, one workgroup per output element. Words: 8 outputs, 9 kept rank,
// 10–15 kept dims, 16–21 their input strides, 22 values per output, 23 reduced rank, 24–29 reduced
// dims, 30–35 their input strides, 36 whether to divide by the count (mean).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let o = group_index(wid, nwg);
    if (o >= word(8u)) {
        return;
    }
    var rest = o;
    var base = offset(1u);
    for (var d = i32(word(9u)) - 1; d >= 0; d--) {
        let dim = word(10u + u32(d));
        base += (rest % dim) * word(16u + u32(d));
        rest = rest / dim;
    }
    let count = word(22u);
    var acc = 0.0;
    for (var r = lid; r < count; r += 256u) {
        var left = r;
        var at = base;
        for (var d = i32(word(23u)) - 1; d >= 0; d--) {
            let dim = word(24u + u32(d));
            at += (left % dim) * word(30u + u32(d));
            left = left / dim;
        }
        acc += x[at];
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        var v = partial[0];
        if (word(36u) != 0u) {
            v = v / f32(count);
        }
        y[offset(2u) + o] = v;
    }
}

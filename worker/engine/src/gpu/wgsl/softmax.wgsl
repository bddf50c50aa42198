// Softmax over `len` values laid out as [outer, len, inner], one workgroup per (outer, inner) row.
// Words: 8 rows, 9 len, 10 inner.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row = group_index(wid, nwg);
    if (row >= word(8u)) {
        return;
    }
    let len = word(9u);
    let inner = word(10u);
    let first = (row / inner) * len * inner + row % inner;
    // The lowest f32 written exactly: Tint (Chromium) refuses the shorter 3.4028235e38 as beyond f32.
    var m = -3.4028234663852886e38;
    for (var k = lid; k < len; k += 256u) {
        m = max(m, x[offset(1u) + first + k * inner]);
    }
    partial[lid] = m;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            partial[lid] = max(partial[lid], partial[lid + s]);
        }
        workgroupBarrier();
    }
    let top = partial[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var k = lid; k < len; k += 256u) {
        sum += exp_clamped(x[offset(1u) + first + k * inner] - top);
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    let scale = 1.0 / partial[0];
    for (var k = lid; k < len; k += 256u) {
        let at = first + k * inner;
        y[offset(2u) + at] = exp_clamped(x[offset(1u) + at] - top) * scale;
    }
}

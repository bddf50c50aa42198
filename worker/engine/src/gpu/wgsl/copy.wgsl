// y[out_base + Σ c_d·out_stride_d] = x[in_base + Σ c_d·in_stride_d] over an index space of up to
// 6 axes. Words: 8 count, 9 rank, 10–15 dims, 16–21 input strides, 22–27 output strides (signed),
// 28 input base, 29 output base (signed).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= word(8u)) {
        return;
    }
    var rest = i;
    var src = signed(28u);
    var dst = signed(29u);
    for (var d = i32(word(9u)) - 1; d >= 0; d--) {
        let dim = word(10u + u32(d));
        let c = i32(rest % dim);
        rest = rest / dim;
        src += c * signed(16u + u32(d));
        dst += c * signed(22u + u32(d));
    }
    y[offset(2u) + u32(dst)] = x[offset(1u) + u32(src)];
}

// y = f(x) element by element. Words: 8 count, 9 the function's code, 10 and 11 its numbers.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= word(8u)) {
        return;
    }
    y[offset(2u) + i] = unary(x[offset(1u) + i], word(9u), real(10u), real(11u));
}

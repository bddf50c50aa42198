// y = x·scale[c] + shift[c] over NC…: words 8 count, 9 channels, 10 elements per channel plane.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= word(8u)) {
        return;
    }
    let c = (i / word(10u)) % word(9u);
    y[offset(4u) + i] = x[offset(1u) + i] * scale[offset(2u) + c] + shift[offset(3u) + c];
}

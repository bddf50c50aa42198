// Instance normalisation, one workgroup per (image, channel) plane: the mean, then the variance
// about it (two passes, as the CPU), then y = x·k + shift. Words: 8 planes, 9 channels, 10 plane
// size, 11 epsilon (f32).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 256>;

fn total(v: f32, lid: u32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    let t = partial[0];
    workgroupBarrier();
    return t;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let p = group_index(wid, nwg);
    if (p >= word(8u)) {
        return;
    }
    let len = word(10u);
    let first = offset(1u) + p * len;
    var sum = 0.0;
    for (var k = lid; k < len; k += 256u) {
        sum += x[first + k];
    }
    let mean = total(sum, lid) / f32(len);
    var squares = 0.0;
    for (var k = lid; k < len; k += 256u) {
        let d = x[first + k] - mean;
        squares += d * d;
    }
    let variance = total(squares, lid) / f32(len);
    let c = p % word(9u);
    let k = scale[offset(2u) + c] / sqrt(variance + real(11u));
    let shift = bias[offset(3u) + c] - mean * k;
    for (var i = lid; i < len; i += 256u) {
        y[offset(4u) + p * len + i] = x[first + i] * k + shift;
    }
}

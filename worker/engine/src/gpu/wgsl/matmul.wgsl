// Batched matrix product [.., M, K] × [.., K, N] in 16×16 tiles through workgroup memory, one
// batch per z workgroup. Words: 8 batches, 9 M, 10 K, 11 N, 12 batch rank (up to 4), 13–16 batch
// dims, 17–20 a's batch strides, 21–24 b's (0 where b is one matrix for all).
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> ta: array<array<f32, 16>, 16>;
var<workgroup> tb: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let m = word(9u);
    let k = word(10u);
    let n = word(11u);
    let batch = wid.z;
    var rest = batch;
    var a_at = offset(1u);
    var b_at = offset(2u);
    for (var d = i32(word(12u)) - 1; d >= 0; d--) {
        let dim = word(13u + u32(d));
        let c = rest % dim;
        rest = rest / dim;
        a_at += c * word(17u + u32(d));
        b_at += c * word(21u + u32(d));
    }
    let row = wid.y * 16u + lid.y;
    let col = wid.x * 16u + lid.x;
    var acc = 0.0;
    for (var t = 0u; t < k; t += 16u) {
        var av = 0.0;
        if (row < m && t + lid.x < k) {
            av = a[a_at + row * k + t + lid.x];
        }
        var bv = 0.0;
        if (t + lid.y < k && col < n) {
            bv = b[b_at + (t + lid.y) * n + col];
        }
        ta[lid.y][lid.x] = av;
        tb[lid.y][lid.x] = bv;
        workgroupBarrier();
        for (var i = 0u; i < 16u; i++) {
            acc += ta[lid.y][i] * tb[i][lid.x];
        }
        workgroupBarrier();
    }
    if (row < m && col < n) {
        y[offset(3u) + (batch * m + row) * n + col] = acc;
    }
}

//! Each op on a one- or two-node model with hand-checked expected values, through the whole
//! load → plan → run path, so attribute parsing and lowering are tested with the kernel.
//!
//! Every test that runs a session is one generic body, `fn name<B: TestBackend>(backend: &B)`, which
//! `test_on_backends!(name)` turns into one `#[test]` per backend, `name::cpu` and so on: a new
//! backend runs the whole suite by adding one line to that macro.

use std::any::TypeId;

use candle_onnx::onnx::{
    self, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TypeProto, ValueInfoProto,
};
use lantern_engine::{Backend, CpuBackend, Error, GpuBackend, GpuOptions, Model, Session, Tensor};
use prost::Message;

/// Makes `$name::cpu` (and one test per further backend) call the generic body `$name(&backend)`,
/// so `cargo test $name` runs it on every backend and `cargo test cpu` runs every body on the CPU.
/// A body without its `test_on_backends!` line is dead code, which the lint refuses.
macro_rules! test_on_backends {
    ($name:ident) => {
        test_on_backends!($name, [
            // The backends every test runs on, one `test name: value` line each (a `#[cfg(...)]` in
            // front if it needs a feature): add a backend here, and only here.
            cpu: super::CpuBackend,
            gpu: super::gpu(),
        ]);
    };
    ($name:ident, [$($(#[$meta:meta])* $backend:ident: $value:expr,)*]) => {
        mod $name {
            $($(#[$meta])* #[test] fn $backend() { super::$name(&$value) })*
        }
    };
}

/// The GPU backend on whatever adapter the machine has: lavapipe (software Vulkan) in CI. One
/// device per test thread, shared by its tests: a driver may run out of devices long before a
/// suite runs out of tests (NVIDIA's refused a 31st one in a row).
fn gpu() -> GpuBackend {
    thread_local! {
        // Leaked, never dropped: a device dropped as its thread ends reaches for wgpu's own
        // thread-locals, already gone by then.
        static GPU: &'static GpuBackend = Box::leak(Box::new(
            GpuBackend::new_blocking(GpuOptions { allow_software: true, ..Default::default() })
                .expect("a GPU adapter (lavapipe: mesa-vulkan-drivers)"),
        ));
    }
    GPU.with(|gpu| (*gpu).clone())
}

/// The backend under test; each session a test makes gets its own clone of it.
trait TestBackend: Backend + Clone + 'static {
    /// Kernel labels are each backend's own: the few assertions on the CPU's ("Conv 3x3 winograd")
    /// sit under `if backend.is_cpu()`, so other backends check the same numbers without them.
    fn is_cpu(&self) -> bool {
        TypeId::of::<Self>() == TypeId::of::<CpuBackend>()
    }
}
impl<B: Backend + Clone + 'static> TestBackend for B {}

fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 7, ints: v.to_vec(), ..Default::default() }
}
fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 2, i: v, ..Default::default() }
}
fn attr_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 1, f: v, ..Default::default() }
}
fn attr_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 3, s: v.as_bytes().to_vec(), ..Default::default() }
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: format!("{op}_node"),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..Default::default()
    }
}

fn floats(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        float_data: data.to_vec(),
        ..Default::default()
    }
}
fn int64s(name: &str, data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![data.len() as i64],
        data_type: 7,
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    use onnx::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = dims.iter().map(|&d| Dimension { value: Some(Value::DimValue(d)), ..Default::default() }).collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(onnx::type_proto::Value::TensorType(onnx::type_proto::Tensor {
                elem_type: 1,
                shape: Some(onnx::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A model with one input `x`, the given initializers and nodes, and one output `y`.
fn model(opset: i64, x_dims: &[i64], initializer: Vec<TensorProto>, nodes: Vec<NodeProto>) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: opset }],
        graph: Some(GraphProto {
            node: nodes,
            initializer,
            input: vec![value_info("x", x_dims)],
            output: vec![value_info("y", &[])],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn run<B: TestBackend>(backend: &B, bytes: &[u8], dims: &[usize], data: Vec<f32>) -> (Vec<usize>, Vec<f32>) {
    let model = Model::from_bytes(bytes).expect("loads");
    let plan = model.plan(&[("x", dims)], None).expect("plans");
    let session = Session::new(plan, backend.clone()).expect("session");
    let x = Tensor::from_vec(data, dims, &lantern_engine::Device::Cpu).unwrap();
    let y = session.run(&[x]).expect("runs").remove(0);
    (y.dims().to_vec(), y.flatten_all().unwrap().to_vec1::<f32>().unwrap())
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
    }
}

/// Resize of a [1,1,1,n] row to width `out` with the given attributes.
fn resize_row<B: TestBackend>(backend: &B, row: &[f32], out: i64, attrs: Vec<AttributeProto>) -> Vec<f32> {
    let n = row.len();
    let bytes = model(
        13,
        &[1, 1, 1, n as i64],
        vec![int64s("sizes", &[1, 1, 1, out])],
        vec![node("Resize", &["x", "", "", "sizes"], &["y"], attrs)],
    );
    let (dims, y) = run(backend, &bytes, &[1, 1, 1, n], row.to_vec());
    assert_eq!(dims, [1, 1, 1, out as usize]);
    y
}

fn linear(transform: &str) -> Vec<AttributeProto> {
    vec![attr_str("mode", "linear"), attr_str("coordinate_transformation_mode", transform)]
}

fn nearest(transform: &str, rounding: &str) -> Vec<AttributeProto> {
    vec![
        attr_str("mode", "nearest"),
        attr_str("coordinate_transformation_mode", transform),
        attr_str("nearest_mode", rounding),
    ]
}

test_on_backends!(resize_linear_half_pixel);
fn resize_linear_half_pixel<B: TestBackend>(backend: &B) {
    // sources -0.25, 0.25, 0.75, 1.25 clamp to [0, 1]
    assert_close(&resize_row(backend, &[0.0, 1.0], 4, linear("half_pixel")), &[0.0, 0.25, 0.75, 1.0]);
    // one output sample: (0 + 0.5) / 0.25 - 0.5 = 1.5
    assert_close(&resize_row(backend, &[0.0, 1.0, 2.0, 3.0], 1, linear("half_pixel")), &[1.5]);
}

test_on_backends!(resize_linear_pytorch_half_pixel);
fn resize_linear_pytorch_half_pixel<B: TestBackend>(backend: &B) {
    assert_close(&resize_row(backend, &[0.0, 1.0], 4, linear("pytorch_half_pixel")), &[0.0, 0.25, 0.75, 1.0]);
    // a single output sample reads index 0, unlike half_pixel
    assert_close(&resize_row(backend, &[0.0, 1.0, 2.0, 3.0], 1, linear("pytorch_half_pixel")), &[0.0]);
}

test_on_backends!(resize_linear_align_corners);
fn resize_linear_align_corners<B: TestBackend>(backend: &B) {
    assert_close(&resize_row(backend, &[0.0, 1.0], 4, linear("align_corners")), &[0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);
}

test_on_backends!(resize_linear_asymmetric);
fn resize_linear_asymmetric<B: TestBackend>(backend: &B) {
    assert_close(&resize_row(backend, &[0.0, 1.0], 4, linear("asymmetric")), &[0.0, 0.5, 1.0, 1.0]);
}

test_on_backends!(resize_nearest_modes);
fn resize_nearest_modes<B: TestBackend>(backend: &B) {
    // asymmetric sources 0, 0.5, 1, 1.5
    assert_close(&resize_row(backend, &[0.0, 1.0], 4, nearest("asymmetric", "floor")), &[0.0, 0.0, 1.0, 1.0]);
    assert_close(&resize_row(backend, &[0.0, 1.0], 4, nearest("asymmetric", "ceil")), &[0.0, 1.0, 1.0, 1.0]);
    assert_close(
        &resize_row(backend, &[0.0, 1.0], 4, nearest("asymmetric", "round_prefer_floor")),
        &[0.0, 0.0, 1.0, 1.0],
    );
    assert_close(
        &resize_row(backend, &[0.0, 1.0], 4, nearest("asymmetric", "round_prefer_ceil")),
        &[0.0, 1.0, 1.0, 1.0],
    );
    // half_pixel sources -0.25, 0.25, 0.75, 1.25
    assert_close(
        &resize_row(backend, &[0.0, 1.0], 4, nearest("half_pixel", "round_prefer_floor")),
        &[0.0, 0.0, 1.0, 1.0],
    );
}

test_on_backends!(resize_with_scales_input);
fn resize_with_scales_input<B: TestBackend>(backend: &B) {
    let bytes = model(
        11,
        &[1, 1, 2, 2],
        vec![floats("roi", &[0], &[]), floats("scales", &[4], &[1.0, 1.0, 2.0, 1.0])],
        vec![node("Resize", &["x", "roi", "scales"], &["y"], nearest("asymmetric", "floor"))],
    );
    let (dims, y) = run(backend, &bytes, &[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(dims, [1, 1, 4, 2]);
    assert_close(&y, &[1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0]);
}

test_on_backends!(resize_planes_match_bilinear_reference);
/// Resize of [1, 2, h, w] planes to `out` [oh, ow] against `source(o, input, output)`'s taps,
/// linear over both axes: rows that blend two source rows, rows copied from the row before,
/// and nearest doubling of an odd width.
fn resize_planes_match_bilinear_reference<B: TestBackend>(backend: &B) {
    let (h, w) = (3usize, 4usize);
    let x: Vec<f32> = (0..2 * h * w).map(|v| ((v * 7 % 11) as f32).sin()).collect();
    let check = |out: [usize; 2], attrs: Vec<AttributeProto>, source: &dyn Fn(usize, usize, usize) -> f64| {
        let bytes = model(
            13,
            &[1, 2, h as i64, w as i64],
            vec![int64s("sizes", &[1, 2, out[0] as i64, out[1] as i64])],
            vec![node("Resize", &["x", "", "", "sizes"], &["y"], attrs)],
        );
        let (_, y) = run(backend, &bytes, &[1, 2, h, w], x.clone());
        let taps = |o: usize, input: usize, output: usize| {
            let s = source(o, input, output).clamp(0.0, (input - 1) as f64);
            (s.floor() as usize, (s.floor() as usize + 1).min(input - 1), s - s.floor())
        };
        let mut want = Vec::new();
        for plane in x.chunks_exact(h * w) {
            for oy in 0..out[0] {
                let (y0, y1, fy) = taps(oy, h, out[0]);
                for ox in 0..out[1] {
                    let (x0, x1, fx) = taps(ox, w, out[1]);
                    let at = |y: usize, x: usize| plane[y * w + x] as f64;
                    let top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
                    let bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
                    want.push((top + (bottom - top) * fy) as f32);
                }
            }
        }
        assert_close(&y, &want);
    };
    let corners = |o: usize, input: usize, output: usize| o as f64 * (input - 1) as f64 / (output - 1) as f64;
    check([5, 7], linear("align_corners"), &corners);
    let doubled = |o: usize, input: usize, output: usize| (o * input / output) as f64;
    check([6, 7], nearest("asymmetric", "floor"), &doubled);
}

fn grid(n: usize) -> Vec<f32> {
    (0..n).map(|v| v as f32).collect()
}

test_on_backends!(conv_unequal_strides);
fn conv_unequal_strides<B: TestBackend>(backend: &B) {
    // 4x3 input 0..11, 2x2 kernel of ones, strides [2, 1]
    let bytes = model(
        13,
        &[1, 1, 4, 3],
        vec![floats("w", &[1, 1, 2, 2], &[1.0; 4])],
        vec![node("Conv", &["x", "w"], &["y"], vec![attr_ints("strides", &[2, 1])])],
    );
    let (dims, y) = run(backend, &bytes, &[1, 1, 4, 3], grid(12));
    assert_eq!(dims, [1, 1, 2, 2]);
    assert_close(&y, &[8.0, 12.0, 32.0, 36.0]);
}

test_on_backends!(conv_same_upper_stride_two);
fn conv_same_upper_stride_two<B: TestBackend>(backend: &B) {
    // 4x4 input 0..15, 3x3 ones, stride 2: one pad row/column, at the bottom/right
    let bytes = model(
        13,
        &[1, 1, 4, 4],
        vec![floats("w", &[1, 1, 3, 3], &[1.0; 9])],
        vec![node(
            "Conv",
            &["x", "w"],
            &["y"],
            vec![attr_str("auto_pad", "SAME_UPPER"), attr_ints("strides", &[2, 2])],
        )],
    );
    let (dims, y) = run(backend, &bytes, &[1, 1, 4, 4], grid(16));
    assert_eq!(dims, [1, 1, 2, 2]);
    assert_close(&y, &[45.0, 39.0, 66.0, 50.0]);
}

test_on_backends!(conv_padding_dilation_and_groups);
fn conv_padding_dilation_and_groups<B: TestBackend>(backend: &B) {
    // two channels, group 2 (depthwise), 2x2 kernel dilated by 2, one pixel of padding
    let w: Vec<f32> = vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
    let bytes = model(
        13,
        &[1, 2, 3, 3],
        vec![floats("w", &[2, 1, 2, 2], &w), floats("b", &[2], &[0.5, -100.0])],
        vec![
            node(
                "Conv",
                &["x", "w", "b"],
                &["c"],
                vec![attr_int("group", 2), attr_ints("dilations", &[2, 2]), attr_ints("pads", &[1, 1, 1, 1])],
            ),
            node("Relu", &["c"], &["y"], vec![]),
        ],
    );
    let (dims, y) = run(backend, &bytes, &[1, 2, 3, 3], grid(18));
    assert_eq!(dims, [1, 2, 3, 3]);
    // channel 0: x[i-1][j-1] + x[i+1][j+1] + 0.5 over the 0..8 grid (0 outside)
    let c0 = [4.5, 5.5, 0.5, 7.5, 8.5, 1.5, 0.5, 3.5, 4.5];
    // channel 1: bias -100 and Relu zero it everywhere
    let mut want = c0.to_vec();
    want.extend([0.0; 9]);
    assert_close(&y, &want);
}

test_on_backends!(conv_transpose_stride_two);
fn conv_transpose_stride_two<B: TestBackend>(backend: &B) {
    let bytes = model(
        13,
        &[1, 1, 1, 2],
        vec![floats("w", &[1, 1, 2, 2], &[1.0, 2.0, 3.0, 4.0])],
        vec![node("ConvTranspose", &["x", "w"], &["y"], vec![attr_ints("strides", &[2, 2])])],
    );
    let (dims, y) = run(backend, &bytes, &[1, 1, 1, 2], vec![1.0, 2.0]);
    assert_eq!(dims, [1, 1, 2, 4]);
    assert_close(&y, &[1.0, 2.0, 2.0, 4.0, 3.0, 4.0, 6.0, 8.0]);
}

/// A convolution's shape and attributes, checked against a direct f64 loop.
#[derive(Clone, Copy)]
struct ConvCase {
    n: usize,
    c: usize,
    m: usize,
    size: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    /// top, left, bottom, right
    pads: [usize; 4],
    group: usize,
    /// An activation node after the conv, fused into it.
    activation: Option<&'static str>,
    /// An Add of the input after the activation, fused into the conv (the output is shaped as the input).
    residual: bool,
}

impl ConvCase {
    fn new(c: usize, m: usize, size: [usize; 2], kernel: [usize; 2]) -> Self {
        ConvCase {
            n: 1,
            c,
            m,
            size,
            kernel,
            stride: [1, 1],
            dilation: [1, 1],
            pads: [0; 4],
            group: 1,
            activation: None,
            residual: false,
        }
    }

    fn out_size(&self) -> [usize; 2] {
        std::array::from_fn(|a| {
            let extent = (self.kernel[a] - 1) * self.dilation[a] + 1;
            (self.size[a] + self.pads[a] + self.pads[a + 2] - extent) / self.stride[a] + 1
        })
    }

    fn reference(&self, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let [h, wd] = self.size;
        let [oh, ow] = self.out_size();
        let (cg, mg) = (self.c / self.group, self.m / self.group);
        let [kh, kw] = self.kernel;
        let mut out = Vec::new();
        for ni in 0..self.n {
            for mi in 0..self.m {
                let gi = mi / mg;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut sum = b[mi] as f64;
                        for ci in 0..cg {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy =
                                        (oy * self.stride[0] + ky * self.dilation[0]) as isize - self.pads[0] as isize;
                                    let ix =
                                        (ox * self.stride[1] + kx * self.dilation[1]) as isize - self.pads[1] as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                        continue;
                                    }
                                    let xv = x[((ni * self.c + gi * cg + ci) * h + iy as usize) * wd + ix as usize];
                                    let wv = w[((mi * cg + ci) * kh + ky) * kw + kx];
                                    sum += xv as f64 * wv as f64;
                                }
                            }
                        }
                        out.push(match self.activation {
                            Some("Relu") => sum.max(0.0),
                            Some("Sigmoid") => 1.0 / (1.0 + (-sum).exp()),
                            Some(other) => panic!("no reference for {other}"),
                            None => sum,
                        } as f32);
                    }
                }
            }
        }
        out
    }

    /// Runs the case through the engine, with the input as the model input or, with `folded`, as
    /// a constant so the conv is computed at plan time; asserts it matches the reference and
    /// returns the conv step's profile label, as `backend` names it.
    fn check<B: TestBackend>(&self, backend: &B, folded: bool) -> String {
        let [h, wd] = self.size;
        let [kh, kw] = self.kernel;
        let cg = self.c / self.group;
        let wave = |n: usize, f: f32| -> Vec<f32> { (0..n).map(|i| ((i as f32 * f).sin() * 1.7).fract()).collect() };
        let x = wave(self.n * self.c * h * wd, 0.37);
        let scale = 1.0 / ((cg * kh * kw) as f32).sqrt();
        let w: Vec<f32> = wave(self.m * cg * kh * kw, 0.61).iter().map(|v| v * scale).collect();
        let b = wave(self.m, 1.3);
        let attrs = vec![
            attr_ints("strides", &self.stride.map(|v| v as i64)),
            attr_ints("dilations", &self.dilation.map(|v| v as i64)),
            attr_ints("pads", &self.pads.map(|v| v as i64)),
            attr_int("group", self.group as i64),
        ];
        let dims = [self.n, self.c, h, wd];
        let dims_i64 = dims.map(|v| v as i64);
        let mut inits =
            vec![floats("w", &[self.m as i64, cg as i64, kh as i64, kw as i64], &w), floats("b", &[self.m as i64], &b)];
        let mut nodes = vec![node("Conv", &[if folded { "k" } else { "x" }, "w", "b"], &["c"], attrs)];
        if let Some(op) = self.activation {
            nodes.push(node(op, &["c"], &["a"], vec![]));
        }
        if self.residual {
            nodes.push(node("Add", &["x", &nodes[nodes.len() - 1].output[0].clone()], &["r"], vec![]));
        }
        let last = nodes.len() - 1;
        nodes[last].output = vec!["y".into()];
        let mut want = self.reference(&x, &w, &b);
        if self.residual {
            assert_eq!(want.len(), x.len(), "a residual case keeps the input's shape");
            want.iter_mut().zip(&x).for_each(|(w, x)| *w += x);
        }
        let (label, got) = if folded {
            // y = conv(k) + x * 0, so the conv folds while the model keeps a runtime input.
            let [oh, ow] = self.out_size();
            inits.push(floats("k", &dims_i64, &x));
            inits.push(floats("zero", &[1], &[0.0]));
            let last = nodes.len() - 1;
            nodes[last].output = vec!["folded".into()];
            nodes.push(node("Mul", &["x", "zero"], &["xz"], vec![]));
            nodes.push(node("Add", &["folded", "xz"], &["y"], vec![]));
            let runtime_dims = [self.n, self.m, oh, ow];
            let bytes = model(13, &runtime_dims.map(|v| v as i64), inits, nodes);
            ("folded".to_string(), run(backend, &bytes, &runtime_dims, vec![0.0; runtime_dims.iter().product()]).1)
        } else {
            let bytes = model(13, &dims_i64, inits, nodes);
            let plan = Model::from_bytes(&bytes).unwrap().plan(&[("x", &dims)], None).unwrap();
            assert_eq!(plan.steps.len(), 1, "the activation and residual fuse into the conv");
            let label = Session::new(plan, backend.clone()).unwrap().step_labels().remove(0);
            (label, run(backend, &bytes, &dims, x).1)
        };
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-4 * w.abs().max(1.0), "element {i}: got {g}, want {w}");
        }
        label
    }
}

test_on_backends!(conv_matches_direct_loop);
fn conv_matches_direct_loop<B: TestBackend>(backend: &B) {
    let base = ConvCase::new(5, 13, [7, 19], [3, 3]);
    let cases = [
        // channel counts off the panel size, a plane off the pixel tile, padding on all sides
        ConvCase { pads: [1, 1, 1, 1], ..base },
        // rows wide enough for tiles whose windows lie wholly inside the input, read in place
        ConvCase { pads: [1, 1, 1, 1], ..ConvCase::new(3, 7, [6, 40], [3, 3]) },
        ConvCase { stride: [2, 1], dilation: [2, 2], pads: [2, 2, 2, 2], ..ConvCase::new(4, 6, [9, 45], [3, 3]) },
        // 1x1 over a plane of whole tiles, and over a ragged one, read straight from the input
        ConvCase::new(7, 9, [4, 8], [1, 1]),
        ConvCase::new(7, 9, [5, 11], [1, 1]),
        // 1x1 with a stride is packed like any window
        ConvCase { stride: [2, 2], ..ConvCase::new(4, 6, [9, 9], [1, 1]) },
        // unequal strides, dilations and lopsided pads; an output row narrower than a tile
        ConvCase { stride: [2, 1], dilation: [2, 3], pads: [0, 1, 2, 0], ..ConvCase::new(3, 8, [9, 6], [3, 2]) },
        // stride 2 with the window starting left of the input
        ConvCase { stride: [2, 2], pads: [1, 1, 1, 1], ..ConvCase::new(3, 16, [33, 35], [3, 3]) },
        // groups of several channels, and a batch of two
        ConvCase { group: 2, n: 2, pads: [1, 1, 1, 1], ..ConvCase::new(6, 10, [6, 5], [3, 3]) },
        // a reduction deeper than one pass (70 * 9 = 630), with a fused Relu on the last pass only
        ConvCase { pads: [1, 1, 1, 1], activation: Some("Relu"), ..ConvCase::new(70, 7, [5, 18], [3, 3]) },
        // an activation applied after the clamp, and a kernel wider than the input row is padded
        ConvCase { pads: [0, 4, 0, 4], activation: Some("Sigmoid"), ..ConvCase::new(2, 3, [3, 4], [1, 9]) },
        // depthwise with stride and dilation
        ConvCase {
            group: 4,
            stride: [2, 1],
            dilation: [1, 2],
            pads: [1, 2, 1, 2],
            ..ConvCase::new(4, 4, [7, 10], [3, 3])
        },
        // depthwise rows wide enough for register blocks between padded edges, with an activation
        ConvCase { group: 3, pads: [2, 2, 2, 2], activation: Some("Relu"), ..ConvCase::new(3, 3, [6, 37], [5, 5]) },
        ConvCase { group: 2, dilation: [1, 2], pads: [1, 2, 1, 2], ..ConvCase::new(2, 2, [4, 26], [3, 3]) },
        // depthwise over rows and columns narrower than the kernel reaches (a photo 1 px wide)
        ConvCase { group: 3, pads: [2, 2, 2, 2], ..ConvCase::new(3, 3, [1, 1], [5, 5]) },
        ConvCase { group: 3, pads: [2, 2, 2, 2], ..ConvCase::new(3, 3, [40, 1], [5, 5]) },
        ConvCase { group: 3, pads: [1, 1, 1, 1], ..ConvCase::new(3, 3, [2, 3], [3, 3]) },
        // a residual Add after a clamp, over whole and ragged tiles, and after a GELU-like pass
        ConvCase { residual: true, activation: Some("Relu"), ..ConvCase::new(9, 9, [5, 11], [1, 1]) },
        ConvCase { residual: true, pads: [1, 1, 1, 1], ..ConvCase::new(70, 70, [3, 9], [3, 3]) },
        ConvCase { residual: true, activation: Some("Sigmoid"), ..ConvCase::new(6, 6, [4, 8], [1, 1]) },
        ConvCase {
            residual: true,
            group: 3,
            pads: [2, 2, 2, 2],
            activation: Some("Relu"),
            ..ConvCase::new(3, 3, [6, 37], [5, 5])
        },
    ];
    for case in cases {
        case.check(backend, false);
    }
}

test_on_backends!(winograd_conv_matches_direct_loop);
fn winograd_conv_matches_direct_loop<B: TestBackend>(backend: &B) {
    let base = ConvCase { pads: [1, 1, 1, 1], ..ConvCase::new(8, 8, [6, 6], [3, 3]) };
    let cases = [
        base,
        // odd output sizes (a last tile half outside), no padding, and lopsided padding
        ConvCase { pads: [0; 4], ..ConvCase::new(9, 13, [9, 7], [3, 3]) },
        ConvCase { pads: [2, 0, 1, 2], ..ConvCase::new(11, 10, [5, 23], [3, 3]) },
        // rows of tiles wider than one block, and a batch of two
        ConvCase { n: 2, ..ConvCase { size: [5, 300], ..base } },
        // a reduction deeper than one pass, with a fused Relu and a residual
        ConvCase { activation: Some("Relu"), residual: true, ..ConvCase { c: 600, m: 600, size: [3, 4], ..base } },
        // an activation beyond a clamp before the residual
        ConvCase { activation: Some("Sigmoid"), residual: true, ..ConvCase { c: 12, m: 12, size: [7, 17], ..base } },
    ];
    for case in cases {
        let label = case.check(backend, false);
        // These are the cases the CPU backend runs through Winograd; other backends only check the numbers.
        if backend.is_cpu() {
            assert!(label.starts_with("Conv 3x3 winograd"), "{label}");
        }
    }
}

test_on_backends!(conv_weights_read_by_two_convs_stay_unpacked_and_agree);
fn conv_weights_read_by_two_convs_stay_unpacked_and_agree<B: TestBackend>(backend: &B) {
    // Two 3x3 convs over 8 channels: with one weight initializer each, the CPU backend packs each
    // for Winograd; with one initializer shared, it keeps the filters and packs them per run.
    let (c, size) = (8usize, [6usize, 6]);
    let w: Vec<f32> = (0..c * c * 9).map(|i| ((i as f32 * 0.61).sin() * 0.3).fract()).collect();
    let x: Vec<f32> = (0..c * size[0] * size[1]).map(|i| ((i as f32 * 0.37).sin() * 1.7).fract()).collect();
    let pads = || vec![attr_ints("pads", &[1, 1, 1, 1])];
    let dims = [1, c, size[0], size[1]];
    let dims_i64 = dims.map(|v| v as i64);
    let weights = |name: &str| floats(name, &[c as i64, c as i64, 3, 3], &w);
    let run_labelled = |inits: Vec<TensorProto>, second: &str| {
        let nodes = vec![node("Conv", &["x", "w"], &["h"], pads()), node("Conv", &["h", second], &["y"], pads())];
        let bytes = model(13, &dims_i64, inits, nodes);
        let plan = Model::from_bytes(&bytes).unwrap().plan(&[("x", &dims)], None).unwrap();
        let session = Session::new(plan, backend.clone()).unwrap();
        let input = Tensor::from_vec(x.clone(), dims.as_slice(), &lantern_engine::Device::Cpu).unwrap();
        let y = session.run(&[input]).unwrap().remove(0).flatten_all().unwrap().to_vec1::<f32>().unwrap();
        (session.step_labels(), y)
    };
    let (own_labels, own) = run_labelled(vec![weights("w"), weights("w2")], "w2");
    let (shared_labels, shared) = run_labelled(vec![weights("w")], "w");
    // The packing is the CPU backend's own; on any backend the two must agree.
    if backend.is_cpu() {
        assert_eq!(own_labels, ["Conv 3x3 winograd", "Conv 3x3 winograd"]);
        assert_eq!(shared_labels, ["Conv 3x3", "Conv 3x3"]);
    }
    for (i, (a, b)) in own.iter().zip(&shared).enumerate() {
        assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "element {i}: packed {a}, shared {b}");
    }
}

test_on_backends!(conv_folded_at_plan_time_matches_direct_loop);
fn conv_folded_at_plan_time_matches_direct_loop<B: TestBackend>(backend: &B) {
    ConvCase { pads: [1, 1, 1, 1], activation: Some("Relu"), ..ConvCase::new(5, 13, [7, 19], [3, 3]) }
        .check(backend, true);
}

test_on_backends!(batchnorm_folds_into_conv);
fn batchnorm_folds_into_conv<B: TestBackend>(backend: &B) {
    // y = (2x - mean) * gamma / sqrt(var + eps) + beta = (2x - 0.5) * 3 / 2 + 1 = 3x + 0.25
    let bytes = model(
        13,
        &[1, 1, 1, 2],
        vec![
            floats("w", &[1, 1, 1, 1], &[2.0]),
            floats("gamma", &[1], &[3.0]),
            floats("beta", &[1], &[1.0]),
            floats("mean", &[1], &[0.5]),
            floats("var", &[1], &[3.0]),
        ],
        vec![
            node("Conv", &["x", "w"], &["c"], vec![]),
            node(
                "BatchNormalization",
                &["c", "gamma", "beta", "mean", "var"],
                &["y"],
                vec![attr_float("epsilon", 1.0)],
            ),
        ],
    );
    let plan = Model::from_bytes(&bytes).unwrap().plan(&[("x", &[1, 1, 1, 2])], None).unwrap();
    assert_eq!(plan.steps.len(), 1, "BatchNorm folds into the conv");
    let (_, y) = run(backend, &bytes, &[1, 1, 1, 2], vec![1.0, 2.0]);
    assert_close(&y, &[3.25, 6.25]);
}

test_on_backends!(max_pool_ceil_mode_and_same_upper);
fn max_pool_ceil_mode_and_same_upper<B: TestBackend>(backend: &B) {
    let ceil = model(
        13,
        &[1, 1, 1, 5],
        vec![],
        vec![node(
            "MaxPool",
            &["x"],
            &["y"],
            vec![attr_ints("kernel_shape", &[1, 2]), attr_ints("strides", &[1, 2]), attr_int("ceil_mode", 1)],
        )],
    );
    assert_close(&run(backend, &ceil, &[1, 1, 1, 5], vec![1.0, 2.0, 3.0, 4.0, 5.0]).1, &[2.0, 4.0, 5.0]);
    let same = model(
        13,
        &[1, 1, 1, 5],
        vec![],
        vec![node(
            "MaxPool",
            &["x"],
            &["y"],
            vec![attr_ints("kernel_shape", &[1, 2]), attr_ints("strides", &[1, 2]), attr_str("auto_pad", "SAME_UPPER")],
        )],
    );
    assert_close(&run(backend, &same, &[1, 1, 1, 5], vec![5.0, 4.0, 3.0, 2.0, 1.0]).1, &[5.0, 3.0, 1.0]);
}

test_on_backends!(average_pool_excludes_padding);
fn average_pool_excludes_padding<B: TestBackend>(backend: &B) {
    let bytes = model(
        13,
        &[1, 1, 1, 3],
        vec![],
        vec![node(
            "AveragePool",
            &["x"],
            &["y"],
            vec![attr_ints("kernel_shape", &[1, 2]), attr_ints("pads", &[0, 1, 0, 0])],
        )],
    );
    assert_close(&run(backend, &bytes, &[1, 1, 1, 3], vec![1.0, 2.0, 3.0]).1, &[1.0, 1.5, 2.5]);
}

fn pad_row<B: TestBackend>(backend: &B, mode: &str, fill: Option<f32>) -> Vec<f32> {
    let mut init = vec![int64s("pads", &[0, 0, 0, 2, 0, 0, 0, 2])];
    let mut inputs = vec!["x", "pads"];
    if let Some(v) = fill {
        init.push(floats("value", &[], &[v]));
        inputs.push("value");
    }
    let bytes = model(13, &[1, 1, 1, 3], init, vec![node("Pad", &inputs, &["y"], vec![attr_str("mode", mode)])]);
    run(backend, &bytes, &[1, 1, 1, 3], vec![1.0, 2.0, 3.0]).1
}

test_on_backends!(pad_modes);
fn pad_modes<B: TestBackend>(backend: &B) {
    assert_close(&pad_row(backend, "reflect", None), &[3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]);
    assert_close(&pad_row(backend, "edge", None), &[1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 3.0]);
    assert_close(&pad_row(backend, "constant", Some(9.0)), &[9.0, 9.0, 1.0, 2.0, 3.0, 9.0, 9.0]);
}

test_on_backends!(softmax_axis_semantics_follow_opset);
fn softmax_axis_semantics_follow_opset<B: TestBackend>(backend: &B) {
    let x = vec![0.0, 0.0, 0.0, 0.0];
    // opset 11 flattens from the axis on: four values share one softmax
    let old = model(11, &[1, 2, 2], vec![], vec![node("Softmax", &["x"], &["y"], vec![attr_int("axis", 1)])]);
    assert_close(&run(backend, &old, &[1, 2, 2], x.clone()).1, &[0.25; 4]);
    // opset 13 normalises along axis 1 alone: pairs
    let new = model(13, &[1, 2, 2], vec![], vec![node("Softmax", &["x"], &["y"], vec![attr_int("axis", 1)])]);
    assert_close(&run(backend, &new, &[1, 2, 2], x).1, &[0.5; 4]);
}

test_on_backends!(hard_activations);
fn hard_activations<B: TestBackend>(backend: &B) {
    let x = vec![-4.0, -1.0, 0.0, 1.0, 4.0];
    let hs = model(13, &[5], vec![], vec![node("HardSigmoid", &["x"], &["y"], vec![attr_float("alpha", 0.2)])]);
    assert_close(&run(backend, &hs, &[5], x.clone()).1, &[0.0, 0.3, 0.5, 0.7, 1.0]);
    let hw = model(14, &[5], vec![], vec![node("HardSwish", &["x"], &["y"], vec![])]);
    assert_close(&run(backend, &hw, &[5], x).1, &[0.0, -1.0 / 3.0, 0.0, 2.0 / 3.0, 4.0]);
}

/// Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5 over `x`, as Paddle exports GELU.
fn gelu_nodes(x: &str) -> Vec<NodeProto> {
    vec![
        node("Div", &[x, "root2"], &["d"], vec![]),
        node("Erf", &["d"], &["e"], vec![]),
        node("Add", &["e", "one"], &["a"], vec![]),
        node("Mul", &[x, "a"], &["m"], vec![]),
        node("Mul", &["m", "half"], &["y"], vec![]),
    ]
}

fn gelu_constants() -> Vec<TensorProto> {
    vec![floats("root2", &[], &[std::f32::consts::SQRT_2]), floats("one", &[], &[1.0]), floats("half", &[], &[0.5])]
}

test_on_backends!(erf_values);
fn erf_values<B: TestBackend>(backend: &B) {
    let x = vec![-5.0, -2.0, -0.5, 0.0, 0.3, 1.0, 3.5];
    let bytes = model(13, &[7], vec![], vec![node("Erf", &["x"], &["y"], vec![])]);
    assert_close(
        &run(backend, &bytes, &[7], x).1,
        &[-1.0, -0.995_322_3, -0.520_499_9, 0.0, 0.328_626_76, 0.842_700_8, 0.999_999_3],
    );
}

test_on_backends!(gelu_pattern_becomes_one_step);
fn gelu_pattern_becomes_one_step<B: TestBackend>(backend: &B) {
    let x = vec![-3.0, -1.0, 0.0, 0.5, 2.0];
    let want = [-0.004_049_5, -0.158_655_25, 0.0, 0.345_731_23, 1.954_499_7];
    let alone = model(13, &[5], gelu_constants(), gelu_nodes("x"));
    let plan = Model::from_bytes(&alone).unwrap().plan(&[("x", &[5])], None).unwrap();
    assert_eq!(plan.steps.len(), 1, "the five nodes lower to one activation");
    assert_close(&run(backend, &alone, &[5], x.clone()).1, &want);

    // after a 1x1 conv that doubles its input, GELU fuses into the conv
    let mut inits = gelu_constants();
    inits.push(floats("w", &[1, 1, 1, 1], &[2.0]));
    let mut nodes = vec![node("Conv", &["x", "w"], &["c"], vec![])];
    nodes.extend(gelu_nodes("c"));
    let fused = model(13, &[1, 1, 1, 5], inits, nodes);
    let plan = Model::from_bytes(&fused).unwrap().plan(&[("x", &[1, 1, 1, 5])], None).unwrap();
    assert_eq!(plan.steps.len(), 1, "GELU fuses into the conv");
    let halves: Vec<f32> = x.iter().map(|v| v / 2.0).collect();
    assert_close(&run(backend, &fused, &[1, 1, 1, 5], halves).1, &want);

    // a Div by another constant is left alone
    let mut other = gelu_constants();
    other[0] = floats("root2", &[], &[1.5]);
    let plan = Model::from_bytes(&model(13, &[5], other, gelu_nodes("x"))).unwrap().plan(&[("x", &[5])], None).unwrap();
    assert_eq!(plan.steps.len(), 5);
}

test_on_backends!(instance_norm_and_reductions);
fn instance_norm_and_reductions<B: TestBackend>(backend: &B) {
    let inorm = model(
        13,
        &[1, 1, 1, 4],
        vec![floats("s", &[1], &[2.0]), floats("b", &[1], &[1.0])],
        vec![node("InstanceNormalization", &["x", "s", "b"], &["y"], vec![attr_float("epsilon", 0.0)])],
    );
    // mean 2.5, variance 1.25
    let k = 2.0 / 1.25f32.sqrt();
    let want: Vec<f32> = [1.0f32, 2.0, 3.0, 4.0].iter().map(|v| (v - 2.5) * k + 1.0).collect();
    assert_close(&run(backend, &inorm, &[1, 1, 1, 4], vec![1.0, 2.0, 3.0, 4.0]).1, &want);
    let mean = model(
        13,
        &[2, 2],
        vec![],
        vec![node("ReduceMean", &["x"], &["y"], vec![attr_ints("axes", &[-1]), attr_int("keepdims", 0)])],
    );
    let (dims, y) = run(backend, &mean, &[2, 2], vec![1.0, 3.0, 5.0, 9.0]);
    assert_eq!(dims, [2]);
    assert_close(&y, &[2.0, 7.0]);
}

// Statistics over the whole image, measured in one run and fixed in another: instance
// normalisation as networks export it (a spatial mean, then the mean of squared deviations) is
// found, the measured values are those it computes, fixing its own changes nothing, and fixing
// others normalises by them (mean 0 and variance 1 here, so y = x / √(1 + ε)).
test_on_backends!(spatial_statistics_can_be_measured_and_fixed);
fn spatial_statistics_can_be_measured_and_fixed<B: TestBackend>(backend: &B) {
    let spatial = || vec![attr_ints("axes", &[2, 3]), attr_int("keepdims", 1)];
    let bytes = model(
        13,
        &[1, 2, 2, 3],
        vec![floats("epsilon", &[1], &[1e-5])],
        vec![
            node("ReduceMean", &["x"], &["mean"], spatial()),
            node("Sub", &["x", "mean"], &["centred"], vec![]),
            node("Mul", &["centred", "centred"], &["square"], vec![]),
            node("ReduceMean", &["square"], &["variance"], spatial()),
            // Over the channels: not a spatial statistic.
            node("ReduceMean", &["x"], &["across"], vec![attr_ints("axes", &[1]), attr_int("keepdims", 1)]),
            node("Add", &["variance", "epsilon"], &["padded"], vec![]),
            node("Sqrt", &["padded"], &["deviation"], vec![]),
            node("Div", &["centred", "deviation"], &["normalised"], vec![]),
            node("Add", &["normalised", "across"], &["y"], vec![]),
        ],
    );
    let x: Vec<f32> = vec![1.0, 2.0, 3.0, 4.0, 5.0, 9.0, -1.0, 0.0, 2.0, 2.0, 6.0, 3.0];
    let run_model = |model: &Model| {
        let plan = model.plan(&[("x", &[1, 2, 2, 3])], None).expect("plans");
        let session = Session::new(plan, backend.clone()).expect("session");
        let input = Tensor::from_vec(x.clone(), (1, 2, 2, 3), &lantern_engine::Device::Cpu).unwrap();
        session.run(&[input]).expect("runs")
    };
    let original = Model::from_bytes(&bytes).unwrap();
    let names = original.spatial_means();
    assert_eq!(names, ["mean", "variance"]);
    let measured = run_model(&original.with_outputs(&names));
    let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    // Channel 0: 1 2 3 4 5 9, mean 4, variance 40/6. Channel 1: -1 0 2 2 6 3, mean 2, variance 30/6.
    assert_close(&values(&measured[1]), &[4.0, 2.0]);
    assert_close(&values(&measured[2]), &[40.0 / 6.0, 30.0 / 6.0]);
    let own: Vec<(String, Tensor)> = names.iter().cloned().zip(measured[1..].iter().cloned()).collect();
    let fixed = original.with_values_fixed(own).unwrap();
    assert_close(&values(&run_model(&fixed)[0]), &values(&measured[0]));
    let per_channel = |v: f32| Tensor::from_vec(vec![v; 2], (1, 2, 1, 1), &lantern_engine::Device::Cpu).unwrap();
    let unit = vec![("mean".to_string(), per_channel(0.0)), ("variance".to_string(), per_channel(1.0))];
    let got = values(&run_model(&original.with_values_fixed(unit).unwrap())[0]);
    let across: Vec<f32> = (0..6).map(|i| (x[i] + x[i + 6]) / 2.0).collect();
    for (i, g) in got.iter().enumerate() {
        let want = x[i] / (1.0f32 + 1e-5).sqrt() + across[i % 6];
        assert!((g - want).abs() < 1e-4, "got {got:?} at {i}, want {want}");
    }
    let missing = original.with_values_fixed(vec![("nothing".to_string(), per_channel(0.0))]);
    assert!(matches!(missing, Err(Error::Model(_))));
}

// Concatenations of computed values, which the GPU writes in place: one nested in another, a
// value read again after it is placed (Relu of the first input), the same value twice, and an
// axis with rows before it (never in place).
test_on_backends!(concatenations_of_computed_values);
fn concatenations_of_computed_values<B: TestBackend>(backend: &B) {
    let x = [1.0f32, -2.0, 3.0, -4.0, 5.0, -6.0];
    let neg: Vec<f32> = x.iter().map(|v| -v).collect();
    let abs: Vec<f32> = x.iter().map(|v| v.abs()).collect();
    let relu: Vec<f32> = neg.iter().map(|v| v.max(0.0)).collect();
    let axis1 = || vec![attr_int("axis", 1)];
    let nested = model(
        13,
        &[1, 2, 3],
        vec![],
        vec![
            node("Neg", &["x"], &["a"], vec![]),
            node("Abs", &["x"], &["b"], vec![]),
            node("Concat", &["b", "x"], &["inner"], axis1()),
            node("Relu", &["a"], &["d"], vec![]),
            node("Concat", &["a", "inner", "d"], &["y"], axis1()),
        ],
    );
    let (dims, y) = run(backend, &nested, &[1, 2, 3], x.to_vec());
    assert_eq!(dims, [1, 8, 3]);
    assert_close(&y, &[neg.as_slice(), &abs, &x, &relu].concat());

    let twice = model(
        13,
        &[1, 2, 3],
        vec![],
        vec![node("Neg", &["x"], &["a"], vec![]), node("Concat", &["a", "a"], &["y"], axis1())],
    );
    assert_close(&run(backend, &twice, &[1, 2, 3], x.to_vec()).1, &[neg.as_slice(), &neg].concat());

    let rows = model(
        13,
        &[2, 3],
        vec![],
        vec![
            node("Neg", &["x"], &["a"], vec![]),
            node("Abs", &["x"], &["b"], vec![]),
            node("Concat", &["a", "b"], &["y"], axis1()),
        ],
    );
    let (dims, y) = run(backend, &rows, &[2, 3], x.to_vec());
    assert_eq!(dims, [2, 6]);
    assert_close(&y, &[&neg[..3], &abs[..3], &neg[3..], &abs[3..]].concat());
}

// Backend-free: the shape path folds in the planner, so only the plan is checked.
#[test]
fn shape_arithmetic_folds_at_plan_time() {
    // y = Reshape(x, Concat(Shape(x)[0:1], [-1])): the shape path leaves no runtime step
    let bytes = model(
        13,
        &[2, 3, 4],
        vec![int64s("start", &[0]), int64s("end", &[1]), int64s("minus_one", &[-1])],
        vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Slice", &["s", "start", "end"], &["n"], vec![]),
            node("Concat", &["n", "minus_one"], &["target"], vec![attr_int("axis", 0)]),
            node("Reshape", &["x", "target"], &["y"], vec![]),
        ],
    );
    let plan = Model::from_bytes(&bytes).unwrap().plan(&[("x", &[2, 3, 4])], None).unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.outputs[0].shape, [2, 12]);
}

test_on_backends!(unsorted_graphs_are_ordered);
fn unsorted_graphs_are_ordered<B: TestBackend>(backend: &B) {
    let bytes = model(13, &[2], vec![], vec![node("Neg", &["a"], &["y"], vec![]), node("Abs", &["x"], &["a"], vec![])]);
    assert_close(&run(backend, &bytes, &[2], vec![-1.0, 2.0]).1, &[-1.0, -2.0]);
}

// Backend-free: loading refuses what is not a model, in words for the person who picked it.
#[test]
fn files_that_are_not_models_are_refused_in_plain_words() {
    let whole = model(13, &[2], vec![], vec![node("Neg", &["x"], &["y"], vec![])]);
    for bytes in [&b"GIF89a, a picture and no model"[..], &whole[..whole.len() / 2]] {
        let err = Model::from_bytes(bytes).expect_err("refused");
        assert_eq!(err.to_string(), "invalid model: the file is not an ONNX model, or it is truncated or damaged");
    }
}

// Backend-free: weights that would take more than wasm's 4 GB are refused before any is read
// (here one claims 65536² floats, 17.2 GB, and holds a single value).
#[test]
fn weights_over_4_gb_are_refused_before_reading() {
    let bytes =
        model(13, &[2], vec![floats("w", &[65536, 65536], &[1.0])], vec![node("Add", &["x", "w"], &["y"], vec![])]);
    let err = Model::from_bytes(&bytes).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "invalid model: its weights need 17.2 GB in memory, more than the 4 GB a browser tab can hold"
    );
}

// Backend-free: a model whose output ignores its input (here y = 1 + 1) is refused at planning.
#[test]
fn an_output_that_ignores_the_input_is_refused() {
    let bytes = model(13, &[2], vec![floats("one", &[1], &[1.0])], vec![node("Add", &["one", "one"], &["y"], vec![])]);
    let err = Model::from_bytes(&bytes).unwrap().plan(&[("x", &[2])], None).expect_err("refused");
    assert_eq!(err.to_string(), "invalid model: the output 'y' does not depend on the model's input");
}

// Backend-free: planning refuses the model before any backend sees it.
#[test]
fn unknown_op_names_the_node() {
    let bytes = model(13, &[2], vec![], vec![node("FancyOp", &["x"], &["y"], vec![])]);
    let err = Model::from_bytes(&bytes).unwrap().plan(&[("x", &[2])], None).unwrap_err();
    assert!(matches!(&err, Error::Node { node, op, .. } if node == "FancyOp_node" && op == "FancyOp"), "{err}");
    assert!(err.to_string().contains("not supported"), "{err}");
}

// Backend-free: planning refuses the model before any backend sees it.
#[test]
fn unsupported_attribute_names_the_node() {
    let bytes = model(
        13,
        &[1, 1, 1, 2],
        vec![int64s("sizes", &[1, 1, 1, 4])],
        vec![node("Resize", &["x", "", "", "sizes"], &["y"], vec![attr_str("mode", "cubic")])],
    );
    let err = Model::from_bytes(&bytes).unwrap().plan(&[("x", &[1, 1, 1, 2])], None).unwrap_err();
    assert!(err.to_string().contains("Resize_node") && err.to_string().contains("cubic"), "{err}");
}

test_on_backends!(wrong_input_shape_is_refused);
fn wrong_input_shape_is_refused<B: TestBackend>(backend: &B) {
    let bytes = model(13, &[1, 3], vec![], vec![node("Relu", &["x"], &["y"], vec![])]);
    let model = Model::from_bytes(&bytes).unwrap();
    assert!(matches!(model.plan(&[("x", &[1, 4])], None), Err(Error::Input(_))));
    assert!(matches!(model.plan(&[("x", &[3])], None), Err(Error::Input(_))));
    assert!(matches!(model.plan(&[], None), Err(Error::Input(_))));
    let plan = model.plan(&[("x", &[1, 3])], None).unwrap();
    let session = Session::new(plan, backend.clone()).unwrap();
    let wrong = Tensor::zeros((1, 2), lantern_engine::DType::F32, &lantern_engine::Device::Cpu).unwrap();
    assert!(matches!(session.run(&[wrong]), Err(Error::Input(_))));
}

// Backend-free: loading refuses the file before any plan is made.
#[test]
fn truncated_and_corrupt_files_are_refused() {
    let bytes = model(13, &[1, 3], vec![floats("w", &[64], &[1.0; 64])], vec![node("Relu", &["x"], &["y"], vec![])]);
    for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        match Model::from_bytes(&bytes[..cut]) {
            Err(Error::Model(_)) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    assert!(matches!(Model::from_bytes(b"\x89PNG\r\n\x1a\n not a model"), Err(Error::Model(_))));
}

test_on_backends!(fp16_initializers_are_upcast);
fn fp16_initializers_are_upcast<B: TestBackend>(backend: &B) {
    let half: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect();
    let w = TensorProto { name: "w".into(), dims: vec![2], data_type: 10, raw_data: half, ..Default::default() };
    let bytes = model(13, &[2], vec![w], vec![node("Mul", &["x", "w"], &["y"], vec![])]);
    assert_close(&run(backend, &bytes, &[2], vec![2.0, 3.0]).1, &[3.0, -6.0]);
}

test_on_backends!(buffers_are_recycled_after_their_last_view);
/// A buffer goes back for reuse only once nothing reads it: not while a view of it is still to be
/// read, and never while an output views it; runs that reuse buffers give the first run's results.
fn buffers_are_recycled_after_their_last_view<B: TestBackend>(backend: &B) {
    let bytes = model(
        13,
        &[1, 2, 2, 2],
        vec![int64s("flat", &[1, 8])],
        vec![
            node("Relu", &["x"], &["a"], vec![]),
            node("Reshape", &["a", "flat"], &["a_view"], vec![]),
            node("Sigmoid", &["a"], &["b"], vec![]),
            node("Reshape", &["b", "flat"], &["b_view"], vec![]),
            node("Mul", &["b", "b"], &["c"], vec![]),
            node("Reshape", &["c", "flat"], &["c_view"], vec![]),
            node("Add", &["c_view", "a_view"], &["y"], vec![]),
        ],
    );
    let mut proto = ModelProto::decode(bytes.as_slice()).unwrap();
    proto.graph.as_mut().unwrap().output.push(value_info("b_view", &[]));
    let plan = Model::from_bytes(&proto.encode_to_vec()).unwrap().plan(&[("x", &[1, 2, 2, 2])], None).unwrap();
    let output_of = |label: &str| plan.steps.iter().find(|s| s.op.label() == label).unwrap().output;
    let add = plan.steps.iter().find(|s| s.op.label() == "Add").unwrap();
    let mut ending = vec![output_of("Relu"), output_of("Mul")];
    ending.sort();
    assert_eq!(
        add.recycle.iter().map(|r| r.0).collect::<Vec<_>>(),
        ending,
        "a's and c's buffers end with the last read of their views"
    );
    assert_eq!(plan.steps.iter().filter(|s| !s.recycle.is_empty()).count(), 1);
    assert!(plan.steps.iter().all(|s| s.recycle.iter().all(|r| r.0 != output_of("Sigmoid"))), "an output views b");
    assert_eq!(plan.buffers, [8, 8], "a and c live at once; b and y are outputs' own");

    let session = Session::new(plan, backend.clone()).unwrap();
    let x: Vec<f32> = (0..8).map(|i| i as f32 - 3.5).collect();
    let a: Vec<f32> = x.iter().map(|v| v.max(0.0)).collect();
    let b: Vec<f32> = a.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    let y: Vec<f32> = b.iter().zip(&a).map(|(b, a)| b * b + a).collect();
    let input = Tensor::from_vec(x, (1, 2, 2, 2), &lantern_engine::Device::Cpu).unwrap();
    for _ in 0..3 {
        let out = session.run(std::slice::from_ref(&input)).unwrap();
        assert_close(&out[0].flatten_all().unwrap().to_vec1::<f32>().unwrap(), &y);
        assert_close(&out[1].flatten_all().unwrap().to_vec1::<f32>().unwrap(), &b);
    }
}

test_on_backends!(buffers_are_shared_between_lifetimes_apart);
/// Outputs whose lifetimes do not meet share a buffer; runs that reuse it keep their results.
fn buffers_are_shared_between_lifetimes_apart<B: TestBackend>(backend: &B) {
    let bytes = model(
        13,
        &[4],
        vec![],
        vec![
            node("Relu", &["x"], &["a"], vec![]),
            node("Neg", &["a"], &["b"], vec![]),
            node("Abs", &["b"], &["c"], vec![]),
            node("Neg", &["c"], &["y"], vec![]),
        ],
    );
    let plan = Model::from_bytes(&bytes).unwrap().plan(&[("x", &[4])], None).unwrap();
    let assigned: Vec<Option<usize>> = plan.steps.iter().map(|s| s.buffer).collect();
    assert_eq!(assigned, [Some(0), Some(1), Some(0), None], "a and c never live at once; y is the output");
    let session = Session::new(plan, backend.clone()).unwrap();
    let x = Tensor::new(&[-2f32, -1.0, 1.0, 2.0], &lantern_engine::Device::Cpu).unwrap();
    for _ in 0..3 {
        assert_close(
            &session.run(std::slice::from_ref(&x)).unwrap()[0].to_vec1::<f32>().unwrap(),
            &[0.0, 0.0, -1.0, -2.0],
        );
    }
}

test_on_backends!(cancelling_stops_the_run);
fn cancelling_stops_the_run<B: TestBackend>(backend: &B) {
    let bytes = model(13, &[2], vec![], vec![node("Abs", &["x"], &["a"], vec![]), node("Neg", &["a"], &["y"], vec![])]);
    let plan = Model::from_bytes(&bytes).unwrap().plan(&[("x", &[2])], None).unwrap();
    let session = Session::new(plan, backend.clone()).unwrap();
    let x = Tensor::new(&[1f32, 2.0], &lantern_engine::Device::Cpu).unwrap();
    let mut steps_seen = 0;
    let result = session.run_with(&[x], &mut |done, _| {
        steps_seen = done;
        false
    });
    assert_eq!(result.unwrap_err(), Error::Cancelled);
    assert_eq!(steps_seen, 1);
}

// Backend-free: a plain function of the engine's ops module, checked against libm directly.
#[test]
fn exp_is_within_a_few_ulp_of_libm() {
    for i in -8700..8800 {
        let x = i as f32 * 0.01 + 0.003;
        let (got, want) = (lantern_engine::ops::exp(x), x.exp());
        assert!(((got - want) / want).abs() < 4e-7, "exp({x}) = {got}, libm says {want}");
    }
    assert!(lantern_engine::ops::exp(-1000.0) < 1e-37, "far below the range flushes towards 0");
}

test_on_backends!(softmax_rows_of_real_values);
fn softmax_rows_of_real_values<B: TestBackend>(backend: &B) {
    let x: Vec<f32> = (0..2 * 37).map(|i| ((i * 7 % 23) as f32 - 11.0) * 0.9).collect();
    let bytes = model(13, &[2, 37], vec![], vec![node("Softmax", &["x"], &["y"], vec![attr_int("axis", -1)])]);
    let want: Vec<f32> = x
        .chunks(37)
        .flat_map(|row| {
            let max = row.iter().cloned().fold(f32::MIN, f32::max);
            let sum: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
            row.iter().map(move |&v| (((v - max) as f64).exp() / sum) as f32).collect::<Vec<_>>()
        })
        .collect();
    assert_close(&run(backend, &bytes, &[2, 37], x).1, &want);
}

/// Row-major [batch, m, k] x [batch or 1, k, n], in f64.
fn reference_matmul(a: &[f32], b: &[f32], [batch, m, k, n]: [usize; 4], b_batched: bool) -> Vec<f32> {
    let mut out = vec![0f32; batch * m * n];
    for bi in 0..batch {
        let bb = if b_batched { &b[bi * k * n..][..k * n] } else { b };
        for i in 0..m {
            for j in 0..n {
                let sum: f64 = (0..k).map(|d| a[(bi * m + i) * k + d] as f64 * bb[d * n + j] as f64).sum();
                out[(bi * m + i) * n + j] = sum as f32;
            }
        }
    }
    out
}

test_on_backends!(matmul_by_constant_and_batched);
fn matmul_by_constant_and_batched<B: TestBackend>(backend: &B) {
    // Sizes off every tile multiple, and a depth past one pass of the packed kernel.
    for [batch, m, k, n] in [[2, 3, 5, 11], [1, 9, 600, 21], [3, 1, 1, 1]] {
        let a: Vec<f32> = (0..batch * m * k).map(|i| ((i * 13 % 17) as f32 - 8.0) / 8.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0).collect();
        let dims = [batch as i64, m as i64, k as i64];
        let by_constant = model(
            13,
            &dims,
            vec![floats("b", &[k as i64, n as i64], &b)],
            vec![node("MatMul", &["x", "b"], &["y"], vec![])],
        );
        let (shape, got) = run(backend, &by_constant, &[batch, m, k], a.clone());
        assert_eq!(shape, vec![batch, m, n]);
        assert_close(&got, &reference_matmul(&a, &b, [batch, m, k, n], false));

        let bs: Vec<f32> = (0..batch * k * n).map(|i| ((i * 3 % 7) as f32 - 3.0) / 2.0).collect();
        let batched = model(
            13,
            &dims,
            vec![floats("b", &[batch as i64, k as i64, n as i64], &bs)],
            vec![node("MatMul", &["x", "b"], &["y"], vec![])],
        );
        assert_close(
            &run(backend, &batched, &[batch, m, k], a.clone()).1,
            &reference_matmul(&a, &bs, [batch, m, k, n], true),
        );
    }
}

test_on_backends!(large_elementwise_and_concat_split_into_pieces);
fn large_elementwise_and_concat_split_into_pieces<B: TestBackend>(backend: &B) {
    // Past the size where runs and slabs are split across threads, with element-wise checks.
    let dims = [1usize, 2, 150, 150];
    let len: usize = dims.iter().product();
    let x: Vec<f32> = (0..len).map(|i| (i % 97) as f32).collect();
    let dims_i64 = dims.map(|d| d as i64);
    let scale = floats("s", &[1, 2, 1, 1], &[2.0, -1.0]);
    let nodes = vec![
        node("Add", &["x", "x"], &["doubled"], vec![]),
        node("Mul", &["doubled", "s"], &["scaled"], vec![]),
        node("Concat", &["x", "scaled"], &["y"], vec![attr_int("axis", 1)]),
    ];
    let (shape, got) = run(backend, &model(13, &dims_i64, vec![scale], nodes), &dims, x.clone());
    assert_eq!(shape, vec![1, 4, 150, 150]);
    let plane = 150 * 150;
    let want: Vec<f32> = x
        .iter()
        .copied()
        .chain(x.iter().enumerate().map(|(i, &v)| 2.0 * v * if i < plane { 2.0 } else { -1.0 }))
        .collect();
    assert_close(&got, &want);
}

test_on_backends!(global_average_pool_over_ragged_planes);
fn global_average_pool_over_ragged_planes<B: TestBackend>(backend: &B) {
    let (h, w) = (37usize, 41usize);
    let x: Vec<f32> = (0..2 * h * w).map(|i| ((i * 31 % 101) as f32 - 50.0) * 0.37).collect();
    let bytes = model(13, &[1, 2, h as i64, w as i64], vec![], vec![node("GlobalAveragePool", &["x"], &["y"], vec![])]);
    let (shape, got) = run(backend, &bytes, &[1, 2, h, w], x.clone());
    assert_eq!(shape, vec![1, 2, 1, 1]);
    let want: Vec<f32> =
        x.chunks(h * w).map(|p| (p.iter().map(|&v| v as f64).sum::<f64>() / (h * w) as f64) as f32).collect();
    assert_close(&got, &want);
}

test_on_backends!(concat_chunks_span_unequal_slabs_and_batches);
fn concat_chunks_span_unequal_slabs_and_batches<B: TestBackend>(backend: &B) {
    let dims = [2usize, 3, 40, 70];
    let x: Vec<f32> = (0..dims.iter().product::<usize>()).map(|i| (i % 89) as f32).collect();
    let nodes =
        vec![node("Neg", &["x"], &["n"], vec![]), node("Concat", &["x", "n", "x"], &["y"], vec![attr_int("axis", 2)])];
    let (shape, got) = run(backend, &model(13, &dims.map(|d| d as i64), vec![], nodes), &dims, x.clone());
    assert_eq!(shape, vec![2, 3, 120, 70]);
    let slab = 40 * 70;
    let want: Vec<f32> =
        x.chunks(slab).flat_map(|s| s.iter().copied().chain(s.iter().map(|v| -v)).chain(s.iter().copied())).collect();
    assert_close(&got, &want);
}

test_on_backends!(pad_over_many_rows);
fn pad_over_many_rows<B: TestBackend>(backend: &B) {
    let (h, w) = (30usize, 300usize);
    let x: Vec<f32> = (0..2 * h * w).map(|i| (i % 113) as f32).collect();
    for (mode, fill) in [("reflect", None), ("edge", None), ("constant", Some(-5.0))] {
        let mut init = vec![int64s("pads", &[0, 0, 3, 2, 0, 0, 1, 4])];
        let mut inputs = vec!["x", "pads"];
        if let Some(v) = fill {
            init.push(floats("value", &[], &[v]));
            inputs.push("value");
        }
        let dims = [1, 2, h, w];
        let bytes = model(
            13,
            &[1, 2, h as i64, w as i64],
            init,
            vec![node("Pad", &inputs, &["y"], vec![attr_str("mode", mode)])],
        );
        let (shape, got) = run(backend, &bytes, &dims, x.clone());
        assert_eq!(shape, vec![1, 2, h + 4, w + 6]);
        let source = |o: usize, before: usize, n: usize| -> Option<usize> {
            let i = o as isize - before as isize;
            match mode {
                "reflect" => Some(if i < 0 {
                    -i
                } else if i >= n as isize {
                    2 * (n as isize - 1) - i
                } else {
                    i
                } as usize),
                "edge" => Some(i.clamp(0, n as isize - 1) as usize),
                _ => (0..n as isize).contains(&i).then_some(i as usize),
            }
        };
        let mut want = Vec::new();
        for c in 0..2 {
            for oy in 0..h + 4 {
                for ox in 0..w + 6 {
                    want.push(match (source(oy, 3, h), source(ox, 2, w)) {
                        (Some(iy), Some(ix)) => x[(c * h + iy) * w + ix],
                        _ => fill.unwrap(),
                    });
                }
            }
        }
        assert_close(&got, &want);
    }
}

test_on_backends!(gelu_over_vector_lanes_matches_the_series);
fn gelu_over_vector_lanes_matches_the_series<B: TestBackend>(backend: &B) {
    // erf by its Taylor series in f64: for |x| <= 4.3 the cancellation costs 8 of its 16 digits.
    let erf = |x: f64| -> f64 {
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    };
    let x: Vec<f32> = (0..203).map(|i| -6.0 + 12.0 * i as f32 / 202.0).collect();
    let want: Vec<f32> =
        x.iter().map(|&v| (0.5 * v as f64 * (1.0 + erf(v as f64 / std::f64::consts::SQRT_2))) as f32).collect();
    let bytes = model(13, &[203], gelu_constants(), gelu_nodes("x"));
    assert_close(&run(backend, &bytes, &[203], x).1, &want);
}

test_on_backends!(conv_transpose_groups_batches_and_pads_match_a_scatter_loop);
fn conv_transpose_groups_batches_and_pads_match_a_scatter_loop<B: TestBackend>(backend: &B) {
    let (n, c, m, g, h, w) = (2usize, 4usize, 6usize, 2usize, 5usize, 9usize);
    let ([kh, kw], [sh, sw], [pt, pl, pb, pr]) = ([3usize, 2usize], [2usize, 2usize], [1usize, 0, 0, 1]);
    let (cg, mg) = (c / g, m / g);
    let x: Vec<f32> = (0..n * c * h * w).map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.1).collect();
    let wt: Vec<f32> = (0..c * mg * kh * kw).map(|i| ((i * 17 % 13) as f32 - 6.0) * 0.2).collect();
    let b: Vec<f32> = (0..m).map(|i| i as f32 * 0.5 - 1.0).collect();
    let (oh, ow) = ((h - 1) * sh + kh - pt - pb, (w - 1) * sw + kw - pl - pr);
    let mut want = vec![0f32; n * m * oh * ow];
    for ni in 0..n {
        for mo in 0..m {
            want[(ni * m + mo) * oh * ow..][..oh * ow].iter_mut().for_each(|v| *v = b[mo]);
            let (gi, mi) = (mo / mg, mo % mg);
            for ci in gi * cg..(gi + 1) * cg {
                for (iy, ix, ky, kx) in (0..h).flat_map(|iy| {
                    (0..w).flat_map(move |ix| (0..kh).flat_map(move |ky| (0..kw).map(move |kx| (iy, ix, ky, kx))))
                }) {
                    let (oy, ox) = ((iy * sh + ky) as isize - pt as isize, (ix * sw + kx) as isize - pl as isize);
                    if oy >= 0 && ox >= 0 && (oy as usize) < oh && (ox as usize) < ow {
                        want[((ni * m + mo) * oh + oy as usize) * ow + ox as usize] +=
                            x[((ni * c + ci) * h + iy) * w + ix] * wt[((ci * mg + mi) * kh + ky) * kw + kx];
                    }
                }
            }
        }
    }
    let attrs = vec![
        attr_ints("strides", &[sh as i64, sw as i64]),
        attr_ints("pads", &[pt as i64, pl as i64, pb as i64, pr as i64]),
        attr_int("group", g as i64),
    ];
    let inits = vec![floats("w", &[c as i64, mg as i64, kh as i64, kw as i64], &wt), floats("b", &[m as i64], &b)];
    let bytes = model(
        13,
        &[n as i64, c as i64, h as i64, w as i64],
        inits,
        vec![node("ConvTranspose", &["x", "w", "b"], &["y"], attrs)],
    );
    let (dims, got) = run(backend, &bytes, &[n, c, h, w], x);
    assert_eq!(dims, [n, m, oh, ow]);
    assert_close(&got, &want);
}

test_on_backends!(channel_constant_adds_fold_into_the_bias);
fn channel_constant_adds_fold_into_the_bias<B: TestBackend>(backend: &B) {
    // ConvTranspose without bias, then Add of a [C,1,1] constant and a Relu: one step.
    let bytes = model(
        13,
        &[1, 1, 1, 2],
        vec![floats("w", &[1, 2, 1, 1], &[1.0, -1.0]), floats("shift", &[2, 1, 1], &[0.5, 3.0])],
        vec![
            node("ConvTranspose", &["x", "w"], &["c"], vec![]),
            node("Add", &["shift", "c"], &["a"], vec![]),
            node("Relu", &["a"], &["y"], vec![]),
        ],
    );
    let plan = Model::from_bytes(&bytes).unwrap().plan(&[("x", &[1, 1, 1, 2])], None).unwrap();
    assert_eq!(plan.steps.len(), 1, "the Add and the Relu fold into the transposed conv");
    assert_close(&run(backend, &bytes, &[1, 1, 1, 2], vec![1.0, -2.0]).1, &[1.5, 0.0, 2.0, 5.0]);

    // a scalar Add onto a biased conv folds too; a constant that varies along the width does not
    let scalar = model(
        13,
        &[1, 1, 1, 2],
        vec![floats("w", &[1, 1, 1, 1], &[2.0]), floats("b", &[1], &[1.0]), floats("s", &[], &[0.25])],
        vec![node("Conv", &["x", "w", "b"], &["c"], vec![]), node("Add", &["c", "s"], &["y"], vec![])],
    );
    assert_eq!(Model::from_bytes(&scalar).unwrap().plan(&[("x", &[1, 1, 1, 2])], None).unwrap().steps.len(), 1);
    assert_close(&run(backend, &scalar, &[1, 1, 1, 2], vec![1.0, 2.0]).1, &[3.25, 5.25]);
    let along_width = model(
        13,
        &[1, 1, 1, 2],
        vec![floats("w", &[1, 1, 1, 1], &[2.0]), floats("s", &[1, 2], &[0.25, 0.5])],
        vec![node("Conv", &["x", "w"], &["c"], vec![]), node("Add", &["c", "s"], &["y"], vec![])],
    );
    assert_eq!(Model::from_bytes(&along_width).unwrap().plan(&[("x", &[1, 1, 1, 2])], None).unwrap().steps.len(), 2);
    assert_close(&run(backend, &along_width, &[1, 1, 1, 2], vec![1.0, 2.0]).1, &[2.25, 4.5]);
}

#[test]
fn gpu_self_test_passes() {
    pollster::block_on(gpu().self_test()).expect("the GPU agrees with the CPU");
}

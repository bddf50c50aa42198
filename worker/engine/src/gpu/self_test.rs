//! A one-time check that the GPU computes what the CPU does, before a page trusts it with a
//! person's photo: a broken driver gives garbage, not errors. The network is small and made
//! here (conv with bias and activation, pooling, a bilinear resize, a residual add and a
//! sigmoid: the ops the product networks spend their time in), so the check costs milliseconds.

use candle_core::{Device, Tensor};
use candle_onnx::onnx::{
    self, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TypeProto, ValueInfoProto,
};
use prost::Message;

use super::GpuBackend;
use crate::cpu::CpuBackend;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::session::Session;

/// Largest difference from the CPU the check accepts: f32 sums in another order stay far inside it.
const TOLERANCE: f32 = 1e-3;
const SIDE: usize = 24;

impl GpuBackend {
    /// Runs the check network on this GPU and on the CPU, and fails naming the difference when
    /// they disagree.
    pub async fn self_test(&self) -> Result<()> {
        let model = Model::from_bytes(&network())?;
        let dims = [1, 3, SIDE, SIDE];
        let input: Vec<f32> = (0..3 * SIDE * SIDE).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let input = Tensor::from_vec(input, dims.as_slice(), &Device::Cpu)?;
        let plan = model.plan(&[("x", &dims)], None)?;
        let want = Session::new(plan.clone(), CpuBackend)?.run(std::slice::from_ref(&input))?.remove(0);
        let got = Session::new(plan, self.clone())?.run_async(&[input], &mut |_, _| true).await?.remove(0);
        let diff = (got - want)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        if diff.is_nan() || diff > TOLERANCE {
            return Err(Error::Backend(format!(
                "the GPU ({}) computes a test network {diff:e} away from the CPU",
                self.adapter
            )));
        }
        Ok(())
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 7, ints: v.to_vec(), ..Default::default() }
}

fn text(name: &str, v: &str) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 3, s: v.as_bytes().to_vec(), ..Default::default() }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: output.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

/// Weights that are fixed, varied and small: a sawtooth over the index.
fn floats(name: &str, dims: &[i64]) -> TensorProto {
    let n: i64 = dims.iter().product();
    let data = (0..n).map(|i| ((i * 29 % 23) as f32 - 11.0) / 40.0).collect();
    TensorProto { name: name.into(), dims: dims.to_vec(), data_type: 1, float_data: data, ..Default::default() }
}

fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
    use onnx::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = dims.iter().map(|&d| Dimension { value: Some(Value::DimValue(d)), ..Default::default() }).collect();
    let tensor = onnx::type_proto::Tensor { elem_type: 1, shape: Some(onnx::TensorShapeProto { dim }) };
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto { value: Some(onnx::type_proto::Value::TensorType(tensor)), ..Default::default() }),
        ..Default::default()
    }
}

/// x → conv 3×3 (8) + relu → maxpool 2 → conv 3×3 dilated (8) → resize ×2 bilinear → + first
/// conv → conv 1×1 (1) → sigmoid.
fn network() -> Vec<u8> {
    let side = SIDE as i64;
    let nodes = vec![
        node("Conv", &["x", "w1", "b1"], "c1", vec![ints("pads", &[1, 1, 1, 1])]),
        node("Relu", &["c1"], "r1", vec![]),
        node("MaxPool", &["r1"], "p1", vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]),
        node("Conv", &["p1", "w2", "b2"], "c2", vec![ints("pads", &[2, 2, 2, 2]), ints("dilations", &[2, 2])]),
        node("Resize", &["c2", "", "scales"], "u2", vec![text("mode", "linear")]),
        node("Add", &["u2", "r1"], "s", vec![]),
        node("Conv", &["s", "w3", "b3"], "c3", vec![]),
        node("Sigmoid", &["c3"], "y", vec![]),
    ];
    let scales = TensorProto {
        name: "scales".into(),
        dims: vec![4],
        data_type: 1,
        float_data: vec![1.0, 1.0, 2.0, 2.0],
        ..Default::default()
    };
    let initializer = vec![
        floats("w1", &[8, 3, 3, 3]),
        floats("b1", &[8]),
        floats("w2", &[8, 8, 3, 3]),
        floats("b2", &[8]),
        floats("w3", &[1, 8, 1, 1]),
        floats("b3", &[1]),
        scales,
    ];
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(GraphProto {
            node: nodes,
            initializer,
            input: vec![value("x", &[1, 3, side, side])],
            output: vec![value("y", &[1, 1, side, side])],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

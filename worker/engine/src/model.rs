//! Reads an ONNX file into a topologically sorted graph with host tensors for every initializer.

use std::collections::{HashMap, HashSet, VecDeque};

use candle_core::{Device, Tensor};
use candle_onnx::onnx;
use prost::Message;

use crate::error::{Error, Result};

/// A graph input's dimension: fixed by the model or named and chosen at plan time.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    Fixed(usize),
    Named(String),
}

#[derive(Debug, Clone)]
pub struct ValueInfo {
    pub name: String,
    pub dims: Vec<Dim>,
}

#[derive(Debug, Clone)]
pub enum Attr {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    String(String),
    Tensor(Tensor),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub op: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: HashMap<String, Attr>,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub opset: i64,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<String>,
    pub initializers: HashMap<String, Tensor>,
    /// Nodes in an order where every input is produced before it is read.
    pub nodes: Vec<Node>,
}

impl Model {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Err(Error::Model("the file is empty".into()));
        }
        let proto = onnx::ModelProto::decode(bytes)
            // The decoder's own words ("invalid wire type") mean nothing to the person who picked the file.
            .map_err(|_| Error::Model("the file is not an ONNX model, or it is truncated or damaged".into()))?;
        let graph = proto.graph.ok_or_else(|| Error::Model("the file holds no graph".into()))?;
        let opset = proto
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map(|o| o.version)
            .ok_or_else(|| Error::Model("no default-domain opset is imported".into()))?;

        let constants = constant_bytes(&graph);
        if constants > MAX_CONSTANT_BYTES {
            return Err(Error::Model(format!(
                "its weights need {:.1} GB in memory, more than the {} GB a browser tab can hold",
                constants as f64 / 1e9,
                MAX_CONSTANT_BYTES >> 30
            )));
        }
        let mut initializers = HashMap::new();
        for t in &graph.initializer {
            initializers.insert(t.name.clone(), tensor_from_proto(t)?);
        }
        let inputs = graph
            .input
            .iter()
            .filter(|i| !initializers.contains_key(&i.name))
            .map(value_info)
            .collect::<Result<Vec<_>>>()?;
        let outputs = graph.output.iter().map(|o| o.name.clone()).collect();
        let nodes = graph.node.iter().enumerate().map(|(i, n)| node_from_proto(i, n)).collect::<Result<Vec<_>>>()?;
        let known: HashSet<&str> =
            inputs.iter().map(|i| i.name.as_str()).chain(initializers.keys().map(String::as_str)).collect();
        let nodes = topological_order(nodes, &known)?;
        Ok(Model { opset, inputs, outputs, initializers, nodes })
    }
}

/// The most bytes a model's weights may take once read: all that wasm addresses.
const MAX_CONSTANT_BYTES: u64 = 4 << 30;

/// What the graph's initializers and Constant nodes will take once read (floats as f32, integers
/// as i64), from their claimed shapes: summed before any is converted, so a model whose int8
/// weights would grow eightfold, or whose shapes claim more than the file holds, is refused
/// before it is allocated.
fn constant_bytes(graph: &onnx::GraphProto) -> u64 {
    use onnx::tensor_proto::DataType as D;
    let size = |t: &onnx::TensorProto| {
        let elements = t.dims.iter().try_fold(1u64, |n, &d| n.checked_mul(u64::try_from(d).ok()?));
        let width = match D::try_from(t.data_type) {
            Ok(D::Float | D::Float16 | D::Double) => 4,
            _ => 8,
        };
        elements.and_then(|n| n.checked_mul(width)).unwrap_or(u64::MAX)
    };
    let attributes = graph.node.iter().flat_map(|n| &n.attribute).filter_map(|a| a.t.as_ref());
    graph.initializer.iter().chain(attributes).map(size).fold(0, u64::saturating_add)
}

fn value_info(v: &onnx::ValueInfoProto) -> Result<ValueInfo> {
    let shape = v
        .r#type
        .as_ref()
        .and_then(|t| t.value.as_ref())
        .and_then(|value| match value {
            onnx::type_proto::Value::TensorType(t) => t.shape.as_ref(),
            _ => None,
        })
        .ok_or_else(|| Error::Model(format!("graph input '{}' is not a tensor with a shape", v.name)))?;
    let dims = shape
        .dim
        .iter()
        .enumerate()
        .map(|(i, d)| match &d.value {
            Some(onnx::tensor_shape_proto::dimension::Value::DimValue(n)) if *n > 0 => Dim::Fixed(*n as usize),
            Some(onnx::tensor_shape_proto::dimension::Value::DimParam(p)) if !p.is_empty() => Dim::Named(p.clone()),
            _ => Dim::Named(format!("{}:{i}", v.name)),
        })
        .collect();
    Ok(ValueInfo { name: v.name.clone(), dims })
}

fn node_from_proto(index: usize, n: &onnx::NodeProto) -> Result<Node> {
    let name = if n.name.is_empty() { format!("{}_{index}", n.op_type) } else { n.name.clone() };
    if !(n.domain.is_empty() || n.domain == "ai.onnx") {
        return Err(Error::node(&name, &n.op_type, format!("operator domain '{}' is not supported", n.domain)));
    }
    let mut attrs = HashMap::new();
    for a in &n.attribute {
        let value = attr_from_proto(a).map_err(|reason| Error::node(&name, &n.op_type, reason))?;
        attrs.insert(a.name.clone(), value);
    }
    Ok(Node { name, op: n.op_type.clone(), inputs: n.input.clone(), outputs: n.output.clone(), attrs })
}

fn attr_from_proto(a: &onnx::AttributeProto) -> std::result::Result<Attr, String> {
    use onnx::attribute_proto::AttributeType as T;
    let kind = T::try_from(a.r#type).unwrap_or(T::Undefined);
    Ok(match kind {
        T::Int => Attr::Int(a.i),
        T::Float => Attr::Float(a.f),
        T::Ints => Attr::Ints(a.ints.clone()),
        T::Floats => Attr::Floats(a.floats.clone()),
        T::String => Attr::String(String::from_utf8_lossy(&a.s).into_owned()),
        T::Tensor => {
            let t = a.t.as_ref().ok_or_else(|| format!("attribute '{}' has no tensor", a.name))?;
            Attr::Tensor(tensor_from_proto(t).map_err(|e| e.to_string())?)
        }
        other => return Err(format!("attribute '{}' of type {other:?} is not supported", a.name)),
    })
}

/// Converts an initializer or constant to a CPU tensor: floats become f32 (fp16 and f64 upcast or
/// narrowed), integers and booleans become i64.
pub fn tensor_from_proto(t: &onnx::TensorProto) -> Result<Tensor> {
    let bad = |reason: String| Error::Model(format!("tensor '{}': {reason}", t.name));
    if t.data_location == onnx::tensor_proto::DataLocation::External as i32 {
        return Err(bad("external data files are not supported; embed the weights in the model".into()));
    }
    let dims = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(format!("negative dimension {d}"))))
        .collect::<Result<Vec<_>>>()?;
    let count = crate::plan::element_count(&dims)
        .ok_or_else(|| bad(format!("its shape {dims:?} claims more elements than can be held")))?;
    let raw = &t.raw_data;
    use onnx::tensor_proto::DataType as D;
    let kind = D::try_from(t.data_type).unwrap_or(D::Undefined);
    let floats: Option<Vec<f32>> = match kind {
        D::Float if !raw.is_empty() => Some(le_chunks::<4>(raw).map(f32::from_le_bytes).collect()),
        D::Float => Some(t.float_data.clone()),
        D::Float16 if !raw.is_empty() => {
            Some(le_chunks::<2>(raw).map(|b| half::f16::from_le_bytes(b).to_f32()).collect())
        }
        D::Float16 => Some(t.int32_data.iter().map(|&v| half::f16::from_bits(v as u16).to_f32()).collect()),
        D::Double if !raw.is_empty() => Some(le_chunks::<8>(raw).map(|b| f64::from_le_bytes(b) as f32).collect()),
        D::Double => Some(t.double_data.iter().map(|&v| v as f32).collect()),
        _ => None,
    };
    let tensor = if let Some(mut data) = floats {
        check_count(data.len(), count).map_err(bad)?;
        // Denormal weights make every multiply that touches them many times slower on x86 and wasm.
        for v in &mut data {
            if v.is_subnormal() {
                *v = 0.0;
            }
        }
        Tensor::from_vec(data, dims, &Device::Cpu)
    } else {
        let ints: Vec<i64> = match kind {
            D::Int64 if !raw.is_empty() => le_chunks::<8>(raw).map(i64::from_le_bytes).collect(),
            D::Int64 => t.int64_data.clone(),
            D::Int32 if !raw.is_empty() => le_chunks::<4>(raw).map(|b| i32::from_le_bytes(b) as i64).collect(),
            D::Int16 if !raw.is_empty() => le_chunks::<2>(raw).map(|b| i16::from_le_bytes(b) as i64).collect(),
            D::Uint16 if !raw.is_empty() => le_chunks::<2>(raw).map(|b| u16::from_le_bytes(b) as i64).collect(),
            D::Int8 if !raw.is_empty() => raw.iter().map(|&b| b as i8 as i64).collect(),
            D::Uint8 | D::Bool if !raw.is_empty() => raw.iter().map(|&b| b as i64).collect(),
            D::Int32 | D::Int16 | D::Uint16 | D::Int8 | D::Uint8 | D::Bool => {
                t.int32_data.iter().map(|&v| v as i64).collect()
            }
            other => return Err(bad(format!("element type {other:?} is not supported"))),
        };
        check_count(ints.len(), count).map_err(bad)?;
        Tensor::from_vec(ints, dims, &Device::Cpu)
    };
    Ok(tensor?)
}

fn le_chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.chunks_exact(N).map(|c| c.try_into().expect("chunks_exact yields N bytes"))
}

fn check_count(have: usize, want: usize) -> std::result::Result<(), String> {
    if have == want { Ok(()) } else { Err(format!("holds {have} values but its shape needs {want} (truncated?)")) }
}

/// Kahn's algorithm: exported graphs are not always sorted (IS-Net medium is not).
fn topological_order(nodes: Vec<Node>, known: &HashSet<&str>) -> Result<Vec<Node>> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for o in n.outputs.iter().filter(|o| !o.is_empty()) {
            producer.insert(o, i);
        }
    }
    let mut pending = vec![0usize; nodes.len()];
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for input in n.inputs.iter().filter(|s| !s.is_empty()) {
            match producer.get(input.as_str()) {
                Some(&p) => {
                    pending[i] += 1;
                    consumers[p].push(i);
                }
                None if known.contains(input.as_str()) => {}
                None => {
                    return Err(Error::node(&n.name, &n.op, format!("input '{input}' is produced by no node")));
                }
            }
        }
    }
    let mut ready: VecDeque<usize> = (0..nodes.len()).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &c in &consumers[i] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.push_back(c);
            }
        }
    }
    if order.len() != nodes.len() {
        return Err(Error::Model("the graph has a cycle".into()));
    }
    let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    Ok(order.into_iter().map(|i| slots[i].take().expect("each node is ordered once")).collect())
}

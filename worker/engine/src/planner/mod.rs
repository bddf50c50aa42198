//! Planning: one pass over the sorted graph for a given input size resolves every shape, folds
//! everything computable ahead of time (on the CPU backend's kernels), fuses BatchNorm and
//! activations into convolutions, and records when each buffer is last read. Running the plan then
//! does no name lookups.
//!
//! This module holds the planner's state, `Model::plan`, the per-node dispatch and the helpers
//! every lowering shares (`emit`, `push_const`, `shape_of`); `lower` holds one function per op
//! family, `fuse` the fusions they call, `memory` the buffers' lifetimes and sharing, and `attrs`
//! attribute access and the small shape arithmetic the lowerings share.

use std::collections::{HashMap, HashSet};

use candle_core::{DType, Tensor};

use crate::cpu;
use crate::error::{Error, Result};
use crate::model::{Dim, Model, Node};
use crate::ops::*;
use crate::plan::{Plan, PlanInput, PlanOutput, Step, ValueRef};

mod attrs;
mod fuse;
mod lower;
mod memory;

use lower::NodeCtx;

#[derive(Debug, Clone)]
enum Value {
    Const(usize),
    Dynamic { slot: usize, shape: Vec<usize> },
}

impl Model {
    /// Plans the model for concrete input shapes. `outputs` picks the graph outputs to compute
    /// (all when None); nodes that feed none of them are dropped.
    pub fn plan(&self, input_shapes: &[(&str, &[usize])], outputs: Option<&[&str]>) -> Result<Plan> {
        let mut planner = Planner::new(self);
        let mut inputs = Vec::new();
        for info in &self.inputs {
            let (_, shape) = input_shapes
                .iter()
                .find(|(name, _)| *name == info.name)
                .ok_or_else(|| Error::Input(format!("no shape given for model input '{}'", info.name)))?;
            if shape.len() != info.dims.len() {
                return Err(Error::Input(format!(
                    "input '{}' needs {} dimensions, got {:?}",
                    info.name,
                    info.dims.len(),
                    shape
                )));
            }
            for (axis, (dim, &got)) in info.dims.iter().zip(shape.iter()).enumerate() {
                if got == 0 || matches!(dim, Dim::Fixed(n) if *n != got) {
                    return Err(Error::Input(format!(
                        "input '{}' dimension {axis} must be {dim:?}, got {got}",
                        info.name
                    )));
                }
            }
            let slot = planner.new_slot();
            planner.values.insert(info.name.clone(), Value::Dynamic { slot, shape: shape.to_vec() });
            inputs.push(PlanInput { name: info.name.clone(), shape: shape.to_vec(), slot });
        }
        if let Some((name, _)) = input_shapes.iter().find(|(n, _)| !self.inputs.iter().any(|i| i.name == *n)) {
            return Err(Error::Input(format!("the model has no input named '{name}'")));
        }
        for node in &self.nodes {
            planner.lower(node)?;
        }
        let wanted: Vec<&str> = match outputs {
            Some(names) => names.to_vec(),
            None => self.outputs.iter().map(String::as_str).collect(),
        };
        let mut plan_outputs = Vec::new();
        for name in wanted {
            if !self.outputs.iter().any(|o| o == name) {
                return Err(Error::Input(format!("the model has no output named '{name}'")));
            }
            let value = planner
                .values
                .get(name)
                .ok_or_else(|| Error::Model(format!("output '{name}' is produced by no node")))?;
            let shape = planner.shape_of(value);
            let value = match value {
                // Whatever it is given, such a model answers the same: a broken or a hostile one.
                Value::Const(_) if !self.inputs.is_empty() => {
                    return Err(Error::Model(format!("the output '{name}' does not depend on the model's input")));
                }
                Value::Const(i) => ValueRef::Const(*i),
                Value::Dynamic { slot, .. } => ValueRef::Slot(*slot),
            };
            plan_outputs.push(PlanOutput { name: name.to_string(), shape, value });
        }
        Ok(planner.finish(inputs, plan_outputs))
    }
}

/// The most f32 elements one tensor may have: 4 GB of them, all that wasm addresses.
const MAX_TENSOR_ELEMENTS: usize = 1 << 30;

pub(crate) use crate::plan::element_count;

struct Planner<'m> {
    model: &'m Model,
    constants: Vec<Tensor>,
    steps: Vec<Step>,
    values: HashMap<String, Value>,
    /// How many node inputs and graph outputs read each name: fusion needs a single reader.
    readers: HashMap<String, usize>,
    /// The step that writes each slot, so a fusion can reach back to the step before it.
    producer: HashMap<usize, usize>,
    /// The nodes that read each name, by index into the model's nodes.
    consumers: HashMap<String, Vec<usize>>,
    /// Outputs of nodes already lowered as part of a fused pattern: their nodes are skipped.
    fused: HashSet<String>,
    slots: usize,
}

impl<'m> Planner<'m> {
    fn new(model: &'m Model) -> Self {
        let mut readers: HashMap<String, usize> = HashMap::new();
        for name in model.nodes.iter().flat_map(|n| n.inputs.iter()).chain(model.outputs.iter()) {
            *readers.entry(name.clone()).or_default() += 1;
        }
        let mut consumers: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, node) in model.nodes.iter().enumerate() {
            for name in &node.inputs {
                consumers.entry(name.clone()).or_default().push(i);
            }
        }
        let mut planner = Planner {
            model,
            constants: Vec::new(),
            steps: Vec::new(),
            values: HashMap::new(),
            readers,
            producer: HashMap::new(),
            consumers,
            fused: Default::default(),
            slots: 0,
        };
        for (name, t) in &model.initializers {
            let v = planner.push_const(t.clone());
            planner.values.insert(name.clone(), v);
        }
        planner
    }

    fn new_slot(&mut self) -> usize {
        self.slots += 1;
        self.slots - 1
    }

    fn push_const(&mut self, t: Tensor) -> Value {
        self.constants.push(t);
        Value::Const(self.constants.len() - 1)
    }

    fn shape_of(&self, v: &Value) -> Vec<usize> {
        match v {
            Value::Const(i) => self.constants[*i].dims().to_vec(),
            Value::Dynamic { shape, .. } => shape.clone(),
        }
    }

    /// Adds `op` over `inputs`: evaluated now when every input is known, else a plan step.
    fn emit(&mut self, node: &Node, op: Op, inputs: Vec<Value>, shape: Vec<usize>) -> Result<Value> {
        let err = |reason: String| Error::node(&node.name, &node.op, reason);
        // Refused before anything is allocated: a model may claim any shape (a fuzzed one claimed
        // more elements than a usize holds).
        if element_count(&shape).is_none_or(|n| n > MAX_TENSOR_ELEMENTS) {
            return Err(err(format!("its output {shape:?} is larger than a browser tab's memory (at most 4 GB)")));
        }
        if inputs.iter().all(|v| matches!(v, Value::Const(_))) {
            let tensors: Vec<&Tensor> = inputs
                .iter()
                .map(|v| match v {
                    Value::Const(i) => &self.constants[*i],
                    Value::Dynamic { .. } => unreachable!("all inputs are constant"),
                })
                .collect();
            let out = cpu::eval(&op, &tensors, &shape, &cpu::OutputBuffer::fresh()).map_err(|e| err(e.to_string()))?;
            if out.dims() != shape.as_slice() {
                return Err(err(format!("folded to shape {:?}, expected {shape:?}", out.dims())));
            }
            return Ok(self.push_const(out));
        }
        let mut refs = Vec::with_capacity(inputs.len());
        for v in &inputs {
            refs.push(match v {
                Value::Const(i) => {
                    if self.constants[*i].dtype() != DType::F32 {
                        return Err(err("integer tensors are only supported where they are known at plan time".into()));
                    }
                    ValueRef::Const(*i)
                }
                Value::Dynamic { slot, .. } => ValueRef::Slot(*slot),
            });
        }
        let slot = self.new_slot();
        self.producer.insert(slot, self.steps.len());
        self.steps.push(Step {
            node: node.name.clone(),
            op,
            inputs: refs,
            output: slot,
            shape: shape.clone(),
            free: Vec::new(),
            buffer: None,
            recycle: Vec::new(),
        });
        Ok(Value::Dynamic { slot, shape })
    }

    /// Lowers one node by its op family (`lower.rs`), unless a fusion already took it.
    fn lower(&mut self, node: &Node) -> Result<()> {
        if node.outputs.first().is_some_and(|o| self.fused.contains(o)) {
            return Ok(());
        }
        if node.op == "Div" && self.lower_gelu(node)? {
            return Ok(());
        }
        let cx = NodeCtx::new(self, node)?;
        let out: Value = match node.op.as_str() {
            "Constant" => self.lower_constant(&cx)?,
            "Shape" | "Size" => self.lower_shape(&cx)?,
            "ConstantOfShape" => self.lower_constant_of_shape(&cx)?,
            "Identity" | "Dropout" => cx.input(0)?,
            "Cast" => self.lower_cast(&cx)?,
            "Conv" | "ConvTranspose" => self.lower_conv(&cx)?,
            "BatchNormalization" => self.lower_batch_norm(&cx)?,
            "Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "HardSigmoid" | "HardSwish" | "Clip" => {
                self.lower_activation(&cx)?
            }
            "Erf" | "Sqrt" | "Exp" | "Neg" | "Abs" | "Reciprocal" | "Pow" => self.lower_unary(&cx)?,
            "Add" | "Sub" | "Mul" | "Div" => self.lower_binary(&cx)?,
            "MatMul" => self.lower_matmul(&cx)?,
            "Softmax" => self.lower_softmax(&cx)?,
            "ReduceMean" | "ReduceSum" => self.lower_reduce(&cx)?,
            "GlobalAveragePool" => self.lower_global_pool(&cx)?,
            "MaxPool" | "AveragePool" => self.lower_pool(&cx)?,
            "Resize" | "Upsample" => self.lower_resize(&cx)?,
            "Pad" => self.lower_pad(&cx)?,
            "InstanceNormalization" => self.lower_instance_norm(&cx)?,
            "Transpose" => self.lower_transpose(&cx)?,
            "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => self.lower_reshape(&cx)?,
            "Concat" => self.lower_concat(&cx)?,
            "Slice" => self.lower_slice(&cx)?,
            "Gather" => self.lower_gather(&cx)?,
            other => return Err(cx.err(format!("operator '{other}' is not supported"))),
        };
        let first = node.outputs.first().ok_or_else(|| cx.err("the node has no output".into()))?;
        if let Some(extra) = node.outputs.iter().skip(1).find(|o| !o.is_empty() && self.readers.contains_key(*o)) {
            return Err(cx.err(format!("output '{extra}' is not supported")));
        }
        self.values.insert(first.clone(), out);
        Ok(())
    }

    /// Drops steps no output needs, renumbers constants, and records each slot's last reader
    /// (`memory::plan_memory`).
    fn finish(mut self, inputs: Vec<PlanInput>, mut outputs: Vec<PlanOutput>) -> Plan {
        let mut needed = vec![false; self.slots];
        for o in &outputs {
            if let ValueRef::Slot(s) = o.value {
                needed[s] = true;
            }
        }
        let mut steps: Vec<Step> = Vec::new();
        for step in std::mem::take(&mut self.steps).into_iter().rev() {
            if needed[step.output] {
                for r in &step.inputs {
                    if let ValueRef::Slot(s) = r {
                        needed[*s] = true;
                    }
                }
                steps.push(step);
            }
        }
        steps.reverse();

        let mut const_index: HashMap<usize, usize> = HashMap::new();
        let mut constants = Vec::new();
        let mut remap = |r: &mut ValueRef| {
            if let ValueRef::Const(c) = r {
                let next = const_index.len();
                let index = *const_index.entry(*c).or_insert_with(|| {
                    constants.push(self.constants[*c].clone());
                    next
                });
                *c = index;
            }
        };
        for step in &mut steps {
            step.inputs.iter_mut().for_each(&mut remap);
        }
        for o in &mut outputs {
            remap(&mut o.value);
        }

        let buffers = memory::plan_memory(&mut steps, &outputs, self.slots);
        Plan { inputs, outputs, constants, steps, slots: self.slots, buffers }
    }
}

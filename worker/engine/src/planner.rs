//! Planning: one pass over the sorted graph for a given input size resolves every shape, folds
//! everything computable ahead of time (on the CPU backend's kernels), fuses BatchNorm and
//! activations into convolutions, and records when each buffer is last read. Running the plan then
//! does no name lookups.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use crate::cpu;
use crate::error::{Error, Result};
use crate::model::{Attr, Dim, Model, Node};
use crate::ops::*;
use crate::plan::{Plan, PlanInput, PlanOutput, Step, ValueRef};

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
                Value::Const(i) => ValueRef::Const(*i),
                Value::Dynamic { slot, .. } => ValueRef::Slot(*slot),
            };
            plan_outputs.push(PlanOutput { name: name.to_string(), shape, value });
        }
        Ok(planner.finish(inputs, plan_outputs))
    }
}

struct Planner<'m> {
    model: &'m Model,
    constants: Vec<Tensor>,
    steps: Vec<Step>,
    values: HashMap<String, Value>,
    /// How many node inputs and graph outputs read each name: fusion needs a single reader.
    readers: HashMap<String, usize>,
    producer: HashMap<usize, usize>,
    /// The nodes that read each name, by index into the model's nodes.
    consumers: HashMap<String, Vec<usize>>,
    /// Outputs of nodes already lowered as part of a fused pattern: their nodes are skipped.
    fused: std::collections::HashSet<String>,
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

    /// The conv step producing `name`, when `name` has no other reader and no activation yet.
    fn fusable_conv(&self, name: &str, value: &Value) -> Option<usize> {
        self.fusable_conv_read_by(name, value, 1)
    }

    /// The conv step producing `name`, when exactly `readers` nodes read it and it has no activation yet.
    fn fusable_conv_read_by(&self, name: &str, value: &Value, readers: usize) -> Option<usize> {
        let Value::Dynamic { slot, .. } = value else { return None };
        if self.readers.get(name).copied() != Some(readers) {
            return None;
        }
        let step = *self.producer.get(slot)?;
        match &self.steps[step].op {
            Op::Conv(c) | Op::ConvTranspose(c) if c.activation == Activation::None && !c.residual => Some(step),
            _ => None,
        }
    }

    /// Folds Add(conv, constant per output channel) into the conv's bias, as exports write a
    /// transposed conv's bias (so the activation after it can fuse too).
    fn fold_channel_shift(&mut self, add: &Node, x: &Value, y: &Value) -> Result<Option<Value>> {
        for (conv_side, (conv_value, shift)) in [(x, y), (y, x)].into_iter().enumerate() {
            let (Value::Dynamic { shape, .. }, Value::Const(shift)) = (conv_value, shift) else { continue };
            let Some(step) = self.fusable_conv(&add.inputs[conv_side], conv_value) else { continue };
            let shift = &self.constants[*shift];
            let channels = shape[1];
            // Constant along every axis but the channels: one value, or one per channel.
            let dims = shift.dims();
            let fits = shape
                .len()
                .checked_sub(dims.len())
                .is_some_and(|lead| dims.iter().enumerate().all(|(i, &d)| d == 1 || (lead + i == 1 && d == channels)));
            if !fits || shift.dtype() != DType::F32 {
                continue;
            }
            let shift = shift.flatten_all()?.to_vec1::<f32>()?;
            let shift = if shift.len() == 1 { vec![shift[0]; channels] } else { shift };
            let Some(bias) = self.constant_bias(step, channels)? else { continue };
            let bias: Vec<f32> = bias.iter().zip(&shift).map(|(b, s)| b + s).collect();
            let Value::Const(b) = self.push_const(Tensor::new(bias.as_slice(), &Device::Cpu)?) else { unreachable!() };
            self.steps[step].inputs.truncate(2);
            self.steps[step].inputs.push(ValueRef::Const(b));
            return Ok(Some(conv_value.clone()));
        }
        Ok(None)
    }

    /// Lowers Add(conv, residual) into the conv step, when the conv's output has this Add as its
    /// only reader, both sides have the same shape, and the residual exists before the conv runs.
    fn fuse_residual(&mut self, add: &Node, x: &Value, y: &Value) -> Result<Option<Value>> {
        for (conv_side, (conv_value, residual)) in [(x, y), (y, x)].into_iter().enumerate() {
            let name = &add.inputs[conv_side];
            let (Value::Dynamic { slot, shape }, Value::Dynamic { slot: residual_slot, shape: residual_shape }) =
                (conv_value, residual)
            else {
                continue;
            };
            if shape != residual_shape || self.readers.get(name).copied() != Some(1) {
                continue;
            }
            let Some(&step) = self.producer.get(slot) else { continue };
            let Op::Conv(c) = &self.steps[step].op else { continue };
            let ready = self.producer.get(residual_slot).is_none_or(|&p| p < step);
            if c.residual || !ready {
                continue;
            }
            if self.steps[step].inputs.len() == 2 {
                let Value::Const(zero) = self.push_const(Tensor::zeros(shape[1], DType::F32, &Device::Cpu)?) else {
                    unreachable!()
                };
                self.steps[step].inputs.push(ValueRef::Const(zero));
            }
            self.steps[step].inputs.push(ValueRef::Slot(*residual_slot));
            if let Op::Conv(c) = &mut self.steps[step].op {
                c.residual = true;
            }
            return Ok(Some(conv_value.clone()));
        }
        Ok(None)
    }

    /// Whether `name` is a plan-time constant holding the single value `want`.
    fn is_scalar(&self, name: &str, want: f32) -> bool {
        let Some(Value::Const(i)) = self.values.get(name) else { return false };
        let t = &self.constants[*i];
        t.elem_count() == 1
            && t.to_dtype(DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .is_ok_and(|v| (v[0] - want).abs() <= 1e-6 * want.abs())
    }

    /// The node reading `name`, when it is its only reader, is an `op`, and its other input (if
    /// any) satisfies `other`.
    fn sole_consumer(&self, name: &str, op: &str, other: impl Fn(&str) -> bool) -> Option<&'m Node> {
        let model = self.model;
        let [index] = self.consumers.get(name)?.as_slice() else { return None };
        let node = &model.nodes[*index];
        if node.op != op || self.readers.get(name).copied() != Some(1) {
            return None;
        }
        match node.inputs.as_slice() {
            [only] if only == name => Some(node),
            [a, b] if a == name && other(b) => Some(node),
            [a, b] if b == name && other(a) => Some(node),
            _ => None,
        }
    }

    /// Recognises the exact GELU as Paddle and PyTorch export it, Div(x, sqrt 2) -> Erf -> Add 1
    /// -> Mul x -> Mul 0.5, at its Div: lowers it as one activation (fused into the conv producing
    /// x when nothing else reads x) and marks the pattern's other nodes done.
    fn lower_gelu(&mut self, div: &Node) -> Result<bool> {
        let ([x_name, divisor], [d]) = (div.inputs.as_slice(), div.outputs.as_slice()) else { return Ok(false) };
        if !self.is_scalar(divisor, std::f32::consts::SQRT_2) {
            return Ok(false);
        }
        let Some(erf) = self.sole_consumer(d, "Erf", |_| false) else { return Ok(false) };
        let Some(add) = self.sole_consumer(&erf.outputs[0], "Add", |c| self.is_scalar(c, 1.0)) else {
            return Ok(false);
        };
        let Some(times_x) = self.sole_consumer(&add.outputs[0], "Mul", |c| c == x_name) else { return Ok(false) };
        let Some(half) = self.sole_consumer(&times_x.outputs[0], "Mul", |c| self.is_scalar(c, 0.5)) else {
            return Ok(false);
        };
        let Some(x) = self.values.get(x_name).cloned() else { return Ok(false) };
        let out = match self.fusable_conv_read_by(x_name, &x, 2) {
            Some(step) => {
                if let Op::Conv(c) | Op::ConvTranspose(c) = &mut self.steps[step].op {
                    c.activation = Activation::Gelu;
                }
                x
            }
            None => {
                let shape = self.shape_of(&x);
                self.emit(half, Op::Unary(UnaryKind::Activation(Activation::Gelu)), vec![x], shape)?
            }
        };
        for node in [erf, add, times_x, half] {
            self.fused.insert(node.outputs[0].clone());
        }
        self.values.insert(half.outputs[0].clone(), out);
        Ok(true)
    }

    fn lower(&mut self, node: &Node) -> Result<()> {
        if node.outputs.first().is_some_and(|o| self.fused.contains(o)) {
            return Ok(());
        }
        if node.op == "Div" && self.lower_gelu(node)? {
            return Ok(());
        }
        let err = |reason: String| Error::node(&node.name, &node.op, reason);
        let inputs: Vec<Option<Value>> = node
            .inputs
            .iter()
            .map(|name| {
                if name.is_empty() {
                    Ok(None)
                } else {
                    self.values.get(name).cloned().map(Some).ok_or_else(|| err(format!("input '{name}' is undefined")))
                }
            })
            .collect::<Result<_>>()?;
        let a = NodeAttrs { node };
        let input = |i: usize| -> Result<Value> {
            inputs.get(i).cloned().flatten().ok_or_else(|| err(format!("input {i} is missing")))
        };
        let constant = |i: usize| -> Result<Option<Tensor>> {
            match inputs.get(i).cloned().flatten() {
                None => Ok(None),
                Some(Value::Const(c)) => Ok(Some(self.constants[c].clone())),
                Some(Value::Dynamic { .. }) => Err(err(format!("input {i} must be known at plan time"))),
            }
        };
        let ints_of = |t: &Tensor| -> Result<Vec<i64>> {
            t.to_dtype(DType::I64)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<i64>())
                .map_err(|e| err(e.to_string()))
        };
        let floats_of = |t: &Tensor| -> Result<Vec<f32>> {
            t.to_dtype(DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| err(e.to_string()))
        };
        let shape0 = || -> Result<Vec<usize>> { Ok(self.shape_of(&input(0)?)) };

        let out: Value = match node.op.as_str() {
            "Constant" => {
                let t = if let Some(Attr::Tensor(t)) = node.attrs.get("value") {
                    t.clone()
                } else if let Some(Attr::Float(f)) = node.attrs.get("value_float") {
                    Tensor::new(*f, &Device::Cpu)?
                } else if let Some(Attr::Floats(f)) = node.attrs.get("value_floats") {
                    Tensor::new(f.as_slice(), &Device::Cpu)?
                } else if let Some(Attr::Int(i)) = node.attrs.get("value_int") {
                    Tensor::new(*i, &Device::Cpu)?
                } else if let Some(Attr::Ints(i)) = node.attrs.get("value_ints") {
                    Tensor::new(i.as_slice(), &Device::Cpu)?
                } else {
                    return Err(err("no supported value attribute".into()));
                };
                self.push_const(t)
            }
            "Shape" => {
                let shape = shape0()?;
                let rank = shape.len() as i64;
                let start = clamp_axis(a.int("start", 0), rank) as usize;
                let end = clamp_axis(a.int("end", rank), rank) as usize;
                let dims: Vec<i64> = shape[start..end.max(start)].iter().map(|&d| d as i64).collect();
                self.push_const(Tensor::new(dims.as_slice(), &Device::Cpu)?)
            }
            "Size" => {
                let n: usize = shape0()?.iter().product();
                self.push_const(Tensor::new(n as i64, &Device::Cpu)?)
            }
            "ConstantOfShape" => {
                let shape: Vec<usize> = match constant(0)? {
                    Some(t) => ints_of(&t)?.into_iter().map(|d| d as usize).collect(),
                    None => return Err(err("shape input is missing".into())),
                };
                let fill = match node.attrs.get("value") {
                    Some(Attr::Tensor(t)) => t.flatten_all()?,
                    _ => Tensor::new(&[0f32], &Device::Cpu)?,
                };
                let n: usize = shape.iter().product();
                let t = fill.repeat(n)?.reshape(shape)?;
                self.push_const(t)
            }
            "Identity" | "Dropout" => input(0)?,
            "Cast" => {
                let to = match a.int("to", 1) {
                    1 | 10 | 11 | 16 => DType::F32,
                    6 | 7 | 9 | 2 | 3 | 4 | 5 | 12 | 13 => DType::I64,
                    other => return Err(err(format!("cast to element type {other} is not supported"))),
                };
                match input(0)? {
                    // Runtime values are f32 throughout; half-precision casts keep full precision.
                    v @ Value::Dynamic { .. } if to == DType::F32 => v,
                    v => {
                        let shape = self.shape_of(&v);
                        self.emit(node, Op::Cast(to), vec![v], shape)?
                    }
                }
            }
            "Conv" | "ConvTranspose" => {
                let x = input(0)?;
                let w = input(1)?;
                let xs = self.shape_of(&x);
                let ws = self.shape_of(&w);
                if xs.len() != 4 || ws.len() != 4 {
                    return Err(err(format!("only 2-D convolution is supported (input {xs:?}, weight {ws:?})")));
                }
                let group = a.int("group", 1) as usize;
                let transpose = node.op == "ConvTranspose";
                let in_channels = if transpose { ws[0] } else { ws[1] * group };
                if group == 0 || xs[1] != in_channels || !ws[0].is_multiple_of(group) {
                    return Err(err(format!("weight {ws:?} with group {group} does not fit input {xs:?}")));
                }
                let kernel = [ws[2], ws[3]];
                if let Some(k) = a.ints("kernel_shape")
                    && (k.len() != 2 || k[0] as usize != kernel[0] || k[1] as usize != kernel[1])
                {
                    return Err(err(format!("kernel_shape {k:?} disagrees with weight {ws:?}")));
                }
                let stride = a.pair("strides", 1).map_err(err)?;
                let dilation = a.pair("dilations", 1).map_err(err)?;
                let mut window = Window { kernel, stride, dilation, pads: a.pads().map_err(err)? };
                let out_channels = if transpose { ws[1] * group } else { ws[0] };
                let (oh, ow) = if transpose {
                    if a.string("auto_pad", "NOTSET") != "NOTSET" {
                        return Err(err("auto_pad on ConvTranspose is not supported".into()));
                    }
                    if a.ints("output_shape").is_some() {
                        return Err(err("output_shape on ConvTranspose is not supported".into()));
                    }
                    let extra = a.pair("output_padding", 0).map_err(err)?;
                    let p = window.pads;
                    let size = |axis: usize, pb: usize, pe: usize| {
                        ((xs[2 + axis] - 1) * stride[axis] + window.extent(axis) + extra[axis]).checked_sub(pb + pe)
                    };
                    match (size(0, p[0], p[2]), size(1, p[1], p[3])) {
                        (Some(h), Some(w)) if h > 0 && w > 0 => (h, w),
                        _ => return Err(err("padding larger than the output".into())),
                    }
                } else {
                    a.apply_auto_pad(&mut window, [xs[2], xs[3]]).map_err(err)?;
                    let p = window.pads;
                    match (
                        window_output(xs[2], [p[0], p[2]], window.extent(0), stride[0], false),
                        window_output(xs[3], [p[1], p[3]], window.extent(1), stride[1], false),
                    ) {
                        (Some(h), Some(w)) => (h, w),
                        _ => return Err(err(format!("kernel {kernel:?} is larger than the padded input {xs:?}"))),
                    }
                };
                let mut ins = vec![x, w];
                if let Some(b) = inputs.get(2).cloned().flatten() {
                    if self.shape_of(&b) != [out_channels] {
                        return Err(err("bias length differs from the output channels".into()));
                    }
                    ins.push(b);
                }
                let conv = Conv { window, group, activation: Activation::None, residual: false };
                let op = if transpose { Op::ConvTranspose(conv) } else { Op::Conv(conv) };
                self.emit(node, op, ins, vec![xs[0], out_channels, oh, ow])?
            }
            "BatchNormalization" => {
                let x = input(0)?;
                let xs = self.shape_of(&x);
                let channels = *xs.get(1).ok_or_else(|| err("input needs a channel axis".into()))?;
                let param = |i: usize| -> Result<Vec<f32>> {
                    let t = constant(i)?.ok_or_else(|| err(format!("input {i} is missing")))?;
                    let v = floats_of(&t)?;
                    if v.len() != channels {
                        return Err(err(format!("parameter {i} has {} values for {channels} channels", v.len())));
                    }
                    Ok(v)
                };
                let (gamma, beta, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
                let eps = a.float("epsilon", 1e-5);
                let scale: Vec<f32> = gamma.iter().zip(&var).map(|(g, v)| g / (v + eps).sqrt()).collect();
                let shift: Vec<f32> = (0..channels).map(|c| beta[c] - mean[c] * scale[c]).collect();
                match self.fusable_conv(&node.inputs[0], &x).filter(|&s| matches!(self.steps[s].op, Op::Conv(_))) {
                    Some(step) => {
                        self.fold_affine_into_conv(step, &scale, &shift)?;
                        x
                    }
                    None => {
                        let s = self.push_const(Tensor::new(scale.as_slice(), &Device::Cpu)?);
                        let t = self.push_const(Tensor::new(shift.as_slice(), &Device::Cpu)?);
                        self.emit(node, Op::ChannelAffine, vec![x, s, t], xs)?
                    }
                }
            }
            "Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "HardSigmoid" | "HardSwish" | "Clip" => {
                let activation = match node.op.as_str() {
                    "Relu" => Activation::Relu,
                    "LeakyRelu" => Activation::LeakyRelu(a.float("alpha", 0.01)),
                    "Sigmoid" => Activation::Sigmoid,
                    "Tanh" => Activation::Tanh,
                    "HardSigmoid" => {
                        Activation::HardSigmoid { alpha: a.float("alpha", 0.2), beta: a.float("beta", 0.5) }
                    }
                    "HardSwish" => Activation::HardSwish,
                    _ => {
                        let bound = |i: usize, attr: &str, default: f32| -> Result<f32> {
                            if self.model.opset < 11 {
                                return Ok(a.float(attr, default));
                            }
                            match constant(i)? {
                                Some(t) => Ok(*floats_of(&t)?.first().ok_or_else(|| err("empty bound".into()))?),
                                None => Ok(default),
                            }
                        };
                        Activation::Clip { min: bound(1, "min", f32::MIN)?, max: bound(2, "max", f32::MAX)? }
                    }
                };
                let x = input(0)?;
                match self.fusable_conv(&node.inputs[0], &x) {
                    Some(step) => {
                        if let Op::Conv(c) | Op::ConvTranspose(c) = &mut self.steps[step].op {
                            c.activation = activation;
                        }
                        x
                    }
                    None => {
                        let shape = self.shape_of(&x);
                        self.emit(node, Op::Unary(UnaryKind::Activation(activation)), vec![x], shape)?
                    }
                }
            }
            "Erf" | "Sqrt" | "Exp" | "Neg" | "Abs" | "Reciprocal" => {
                let kind = match node.op.as_str() {
                    "Erf" => UnaryKind::Erf,
                    "Sqrt" => UnaryKind::Sqrt,
                    "Exp" => UnaryKind::Exp,
                    "Neg" => UnaryKind::Neg,
                    "Abs" => UnaryKind::Abs,
                    _ => UnaryKind::Reciprocal,
                };
                let x = input(0)?;
                let shape = self.shape_of(&x);
                self.emit(node, Op::Unary(kind), vec![x], shape)?
            }
            "Pow" => {
                let exponent = constant(1)?.ok_or_else(|| err("exponent is missing".into()))?;
                let e = floats_of(&exponent)?;
                if e.len() != 1 {
                    return Err(err("only a single constant exponent is supported".into()));
                }
                let x = input(0)?;
                let shape = self.shape_of(&x);
                self.emit(node, Op::Unary(UnaryKind::Powf(e[0])), vec![x], shape)?
            }
            "Add" | "Sub" | "Mul" | "Div" => {
                let kind = match node.op.as_str() {
                    "Add" => BinaryKind::Add,
                    "Sub" => BinaryKind::Sub,
                    "Mul" => BinaryKind::Mul,
                    _ => BinaryKind::Div,
                };
                let (x, y) = (input(0)?, input(1)?);
                let (xs, ys) = (self.shape_of(&x), self.shape_of(&y));
                let shape = broadcast_shape(&xs, &ys)
                    .ok_or_else(|| err(format!("shapes {xs:?} and {ys:?} do not broadcast")))?;
                let fused = if kind == BinaryKind::Add {
                    match self.fold_channel_shift(node, &x, &y)? {
                        Some(out) => Some(out),
                        None => self.fuse_residual(node, &x, &y)?,
                    }
                } else {
                    None
                };
                match fused {
                    Some(out) => out,
                    None => self.emit(node, Op::Binary(kind), vec![x, y], shape)?,
                }
            }
            "MatMul" => {
                let (x, y) = (input(0)?, input(1)?);
                let (xs, ys) = (self.shape_of(&x), self.shape_of(&y));
                if xs.len() < 2 || ys.len() < 2 || xs[xs.len() - 1] != ys[ys.len() - 2] {
                    return Err(err(format!("cannot multiply {xs:?} by {ys:?}")));
                }
                let batch = broadcast_shape(&xs[..xs.len() - 2], &ys[..ys.len() - 2])
                    .ok_or_else(|| err(format!("batch dims of {xs:?} and {ys:?} do not broadcast")))?;
                let mut shape = batch;
                shape.extend([xs[xs.len() - 2], ys[ys.len() - 1]]);
                self.emit(node, Op::MatMul, vec![x, y], shape)?
            }
            "Softmax" => {
                let x = input(0)?;
                let shape = self.shape_of(&x);
                let rank = shape.len() as i64;
                let default_axis = if self.model.opset < 13 { 1 } else { -1 };
                let axis =
                    normalize_axis(a.int("axis", default_axis), rank).ok_or_else(|| err("axis out of range".into()))?;
                let outer: usize = shape[..axis].iter().product();
                let (len, inner) = if self.model.opset < 13 {
                    (shape[axis..].iter().product(), 1)
                } else {
                    (shape[axis], shape[axis + 1..].iter().product())
                };
                self.emit(node, Op::Softmax { outer, len, inner }, vec![x], shape)?
            }
            "ReduceMean" | "ReduceSum" => {
                let kind = if node.op == "ReduceMean" { ReduceKind::Mean } else { ReduceKind::Sum };
                let x = input(0)?;
                let shape = self.shape_of(&x);
                let rank = shape.len() as i64;
                let axes: Vec<i64> = match a.ints("axes") {
                    Some(axes) => axes,
                    None => match constant(1)? {
                        Some(t) => ints_of(&t)?,
                        None => Vec::new(),
                    },
                };
                let mut axes: Vec<usize> = if axes.is_empty() {
                    if a.int("noop_with_empty_axes", 0) != 0 { Vec::new() } else { (0..shape.len()).collect() }
                } else {
                    axes.iter()
                        .map(|&ax| normalize_axis(ax, rank).ok_or_else(|| err(format!("axis {ax} out of range"))))
                        .collect::<Result<_>>()?
                };
                axes.sort_unstable();
                axes.dedup();
                let keep = a.int("keepdims", 1) != 0;
                let out_shape: Vec<usize> = shape
                    .iter()
                    .enumerate()
                    .filter_map(|(i, &d)| if axes.contains(&i) { keep.then_some(1) } else { Some(d) })
                    .collect();
                self.emit(node, Op::Reduce { kind, axes }, vec![x], out_shape)?
            }
            "GlobalAveragePool" => {
                let x = input(0)?;
                let xs = self.shape_of(&x);
                if xs.len() != 4 {
                    return Err(err(format!("input {xs:?} is not NCHW")));
                }
                self.emit(node, Op::GlobalAveragePool, vec![x], vec![xs[0], xs[1], 1, 1])?
            }
            "MaxPool" | "AveragePool" => {
                let x = input(0)?;
                let xs = self.shape_of(&x);
                if xs.len() != 4 {
                    return Err(err(format!("only 2-D pooling is supported (input {xs:?})")));
                }
                let k = a.ints("kernel_shape").ok_or_else(|| err("kernel_shape is missing".into()))?;
                if k.len() != 2 || k.iter().any(|&v| v < 1) {
                    return Err(err(format!("kernel_shape {k:?} is not 2-D")));
                }
                let mut window = Window {
                    kernel: [k[0] as usize, k[1] as usize],
                    stride: a.pair("strides", 1).map_err(err)?,
                    dilation: a.pair("dilations", 1).map_err(err)?,
                    pads: a.pads().map_err(err)?,
                };
                a.apply_auto_pad(&mut window, [xs[2], xs[3]]).map_err(err)?;
                let ceil = a.int("ceil_mode", 0) != 0;
                let p = window.pads;
                let (oh, ow) = match (
                    window_output(xs[2], [p[0], p[2]], window.extent(0), window.stride[0], ceil),
                    window_output(xs[3], [p[1], p[3]], window.extent(1), window.stride[1], ceil),
                ) {
                    (Some(h), Some(w)) => (h, w),
                    _ => return Err(err(format!("window larger than the padded input {xs:?}"))),
                };
                let kind = if node.op == "MaxPool" {
                    if node.outputs.len() > 1 && !node.outputs[1].is_empty() {
                        return Err(err("the indices output is not supported".into()));
                    }
                    PoolKind::Max
                } else {
                    PoolKind::Average { count_include_pad: a.int("count_include_pad", 0) != 0 }
                };
                self.emit(node, Op::Pool { kind, window }, vec![x], vec![xs[0], xs[1], oh, ow])?
            }
            "Resize" | "Upsample" => {
                let x = input(0)?;
                let xs = self.shape_of(&x);
                if xs.len() != 4 {
                    return Err(err(format!("only NCHW resize is supported (input {xs:?})")));
                }
                let (scales_at, sizes_at) = if self.model.opset < 11 { (1, usize::MAX) } else { (2, 3) };
                let sizes = constant(sizes_at)?.map(|t| ints_of(&t)).transpose()?.filter(|v| !v.is_empty());
                let scales = constant(scales_at)?.map(|t| floats_of(&t)).transpose()?.filter(|v| !v.is_empty());
                let (out, scale): (Vec<usize>, Vec<f32>) = match (sizes, scales) {
                    (Some(sizes), _) if sizes.len() == 4 => {
                        let out: Vec<usize> = sizes.iter().map(|&s| s.max(0) as usize).collect();
                        let scale = out.iter().zip(&xs).map(|(&o, &i)| o as f32 / i as f32).collect();
                        (out, scale)
                    }
                    (None, Some(scales)) if scales.len() == 4 => {
                        let out = scales.iter().zip(&xs).map(|(&s, &i)| (i as f32 * s).floor() as usize).collect();
                        (out, scales)
                    }
                    _ => return Err(err("needs 4 constant scales or sizes".into())),
                };
                if out[0] != xs[0] || out[1] != xs[1] || out[2] == 0 || out[3] == 0 {
                    return Err(err(format!("only spatial resizing is supported ({xs:?} to {out:?})")));
                }
                let mode = match a.string("mode", "nearest").as_str() {
                    "nearest" => ResizeMode::Nearest(match a.string("nearest_mode", "round_prefer_floor").as_str() {
                        "round_prefer_floor" => NearestRounding::RoundPreferFloor,
                        "round_prefer_ceil" => NearestRounding::RoundPreferCeil,
                        "floor" => NearestRounding::Floor,
                        "ceil" => NearestRounding::Ceil,
                        other => return Err(err(format!("nearest_mode '{other}' is not supported"))),
                    }),
                    "linear" | "bilinear" => ResizeMode::Linear,
                    other => return Err(err(format!("mode '{other}' is not supported"))),
                };
                let default_transform = if self.model.opset < 11 { "asymmetric" } else { "half_pixel" };
                let transform = match a.string("coordinate_transformation_mode", default_transform).as_str() {
                    "half_pixel" => CoordinateTransform::HalfPixel,
                    "pytorch_half_pixel" => CoordinateTransform::PytorchHalfPixel,
                    "align_corners" => CoordinateTransform::AlignCorners,
                    "asymmetric" => CoordinateTransform::Asymmetric,
                    other => return Err(err(format!("coordinate_transformation_mode '{other}' is not supported"))),
                };
                if a.int("antialias", 0) != 0 || a.int("exclude_outside", 0) != 0 {
                    return Err(err("antialias and exclude_outside are not supported".into()));
                }
                let resize = Resize { mode, transform, scale: [scale[2], scale[3]] };
                self.emit(node, Op::Resize(resize), vec![x], out)?
            }
            "Pad" => {
                let x = input(0)?;
                let xs = self.shape_of(&x);
                let rank = xs.len();
                let (raw, fill) = if self.model.opset < 11 {
                    (a.ints("pads").ok_or_else(|| err("pads are missing".into()))?, a.float("value", 0.0))
                } else {
                    let pads = ints_of(&constant(1)?.ok_or_else(|| err("pads are missing".into()))?)?;
                    let fill = match constant(2)? {
                        Some(t) => floats_of(&t)?.first().copied().unwrap_or(0.0),
                        None => 0.0,
                    };
                    (pads, fill)
                };
                if inputs.get(3).cloned().flatten().is_some() {
                    return Err(err("the axes input is not supported".into()));
                }
                if raw.len() != 2 * rank || raw.iter().any(|&p| p < 0) {
                    return Err(err(format!("pads {raw:?} do not fit rank {rank} (negative pads are not supported)")));
                }
                let pads: Vec<[usize; 2]> = (0..rank).map(|i| [raw[i] as usize, raw[i + rank] as usize]).collect();
                let mode = match a.string("mode", "constant").as_str() {
                    "constant" => PadMode::Constant(fill),
                    "reflect" => PadMode::Reflect,
                    "edge" => PadMode::Edge,
                    other => return Err(err(format!("mode '{other}' is not supported"))),
                };
                if mode == PadMode::Reflect && pads.iter().zip(&xs).any(|(p, &d)| p[0] >= d || p[1] >= d) {
                    return Err(err(format!("reflect pads {raw:?} must be smaller than the input {xs:?}")));
                }
                let shape = xs.iter().zip(&pads).map(|(&d, p)| d + p[0] + p[1]).collect();
                self.emit(node, Op::Pad { pads, mode }, vec![x], shape)?
            }
            "InstanceNormalization" => {
                let x = input(0)?;
                let xs = self.shape_of(&x);
                let channels = *xs.get(1).ok_or_else(|| err("input needs a channel axis".into()))?;
                let (scale, bias) = (input(1)?, input(2)?);
                if self.shape_of(&scale) != [channels] || self.shape_of(&bias) != [channels] {
                    return Err(err("scale and bias must have one value per channel".into()));
                }
                let op = Op::InstanceNorm { epsilon: a.float("epsilon", 1e-5) };
                self.emit(node, op, vec![x, scale, bias], xs)?
            }
            "Transpose" => {
                let x = input(0)?;
                let xs = self.shape_of(&x);
                let perm: Vec<usize> = match a.ints("perm") {
                    Some(p) => p.iter().map(|&v| v as usize).collect(),
                    None => (0..xs.len()).rev().collect(),
                };
                let mut seen = perm.clone();
                seen.sort_unstable();
                if seen != (0..xs.len()).collect::<Vec<_>>() {
                    return Err(err(format!("perm {perm:?} is not a permutation of {} axes", xs.len())));
                }
                let shape = perm.iter().map(|&p| xs[p]).collect();
                self.emit(node, Op::Transpose { perm }, vec![x], shape)?
            }
            "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => {
                let x = input(0)?;
                let xs = self.shape_of(&x);
                let rank = xs.len() as i64;
                let count: usize = xs.iter().product();
                let axes_of = || -> Result<Vec<i64>> {
                    Ok(match a.ints("axes") {
                        Some(v) => v,
                        None => match constant(1)? {
                            Some(t) => ints_of(&t)?,
                            None => Vec::new(),
                        },
                    })
                };
                let shape: Vec<usize> = match node.op.as_str() {
                    "Reshape" => {
                        let target = ints_of(&constant(1)?.ok_or_else(|| err("shape is missing".into()))?)?;
                        reshape_target(&xs, &target, a.int("allowzero", 0) != 0).map_err(err)?
                    }
                    "Flatten" => {
                        let axis = normalize_axis_inclusive(a.int("axis", 1), rank)
                            .ok_or_else(|| err("axis out of range".into()))?;
                        vec![xs[..axis].iter().product(), xs[axis..].iter().product()]
                    }
                    "Squeeze" => {
                        let axes = axes_of()?;
                        let axes: Vec<usize> = axes
                            .iter()
                            .map(|&v| normalize_axis(v, rank).ok_or_else(|| err(format!("axis {v} out of range"))))
                            .collect::<Result<_>>()?;
                        xs.iter()
                            .enumerate()
                            .filter(|(i, d)| if axes.is_empty() { **d != 1 } else { !axes.contains(i) })
                            .map(|(_, &d)| d)
                            .collect()
                    }
                    _ => {
                        let axes = axes_of()?;
                        let out_rank = rank + axes.len() as i64;
                        let mut axes: Vec<usize> = axes
                            .iter()
                            .map(|&v| normalize_axis(v, out_rank).ok_or_else(|| err(format!("axis {v} out of range"))))
                            .collect::<Result<_>>()?;
                        axes.sort_unstable();
                        let mut rest = xs.iter();
                        (0..out_rank as usize)
                            .map(|i| if axes.contains(&i) { 1 } else { *rest.next().unwrap_or(&1) })
                            .collect()
                    }
                };
                if shape.iter().product::<usize>() != count {
                    return Err(err(format!("cannot reshape {xs:?} to {shape:?}")));
                }
                self.emit(node, Op::Reshape, vec![x], shape)?
            }
            "Concat" => {
                let values: Vec<Value> = inputs.iter().flatten().cloned().collect();
                let shapes: Vec<Vec<usize>> = values.iter().map(|v| self.shape_of(v)).collect();
                let first = shapes.first().ok_or_else(|| err("no inputs".into()))?.clone();
                let axis = normalize_axis(a.int("axis", 0), first.len() as i64)
                    .ok_or_else(|| err("axis out of range".into()))?;
                let mut shape = first.clone();
                shape[axis] = 0;
                for s in &shapes {
                    if s.len() != first.len() || s.iter().enumerate().any(|(i, &d)| i != axis && d != first[i]) {
                        return Err(err(format!("input shapes {shapes:?} differ off axis {axis}")));
                    }
                    shape[axis] += s[axis];
                }
                self.emit(node, Op::Concat { axis }, values, shape)?
            }
            "Slice" => {
                let x = input(0)?;
                let xs = self.shape_of(&x);
                let rank = xs.len() as i64;
                let list = |attr: &str, i: usize| -> Result<Option<Vec<i64>>> {
                    if self.model.opset < 10 { Ok(a.ints(attr)) } else { constant(i)?.map(|t| ints_of(&t)).transpose() }
                };
                let starts = list("starts", 1)?.ok_or_else(|| err("starts are missing".into()))?;
                let ends = list("ends", 2)?.ok_or_else(|| err("ends are missing".into()))?;
                let axes = list("axes", 3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
                let steps = list("steps", 4)?.unwrap_or_else(|| vec![1; starts.len()]);
                if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
                    return Err(err("starts, ends, axes and steps differ in length".into()));
                }
                let mut ranges: Vec<(i64, i64, usize)> = xs.iter().map(|&d| (0, 1, d)).collect();
                for i in 0..starts.len() {
                    let axis =
                        normalize_axis(axes[i], rank).ok_or_else(|| err(format!("axis {} out of range", axes[i])))?;
                    ranges[axis] =
                        slice_range(starts[i], ends[i], steps[i], xs[axis]).ok_or_else(|| err("step 0".into()))?;
                }
                let shape = ranges.iter().map(|r| r.2).collect();
                self.emit(node, Op::Slice { ranges }, vec![x], shape)?
            }
            "Gather" => {
                let x = input(0)?;
                let xs = self.shape_of(&x);
                let axis =
                    normalize_axis(a.int("axis", 0), xs.len() as i64).ok_or_else(|| err("axis out of range".into()))?;
                let idx = constant(1)?.ok_or_else(|| err("indices are missing".into()))?;
                let indices_shape = idx.dims().to_vec();
                let indices = ints_of(&idx)?
                    .into_iter()
                    .map(|i| {
                        let j = if i < 0 { i + xs[axis] as i64 } else { i };
                        if j < 0 || j >= xs[axis] as i64 {
                            Err(err(format!("index {i} out of range")))
                        } else {
                            Ok(j as usize)
                        }
                    })
                    .collect::<Result<Vec<_>>>()?;
                let mut shape = xs[..axis].to_vec();
                shape.extend(&indices_shape);
                shape.extend(&xs[axis + 1..]);
                self.emit(node, Op::Gather { axis, indices, indices_shape }, vec![x], shape)?
            }
            other => return Err(err(format!("operator '{other}' is not supported"))),
        };
        let first = node.outputs.first().ok_or_else(|| err("the node has no output".into()))?;
        if let Some(extra) = node.outputs.iter().skip(1).find(|o| !o.is_empty() && self.readers.contains_key(*o)) {
            return Err(err(format!("output '{extra}' is not supported")));
        }
        self.values.insert(first.clone(), out);
        Ok(())
    }

    /// Folds y = conv(x) * scale[c] + shift[c] into the conv's weights and bias.
    fn fold_affine_into_conv(&mut self, step: usize, scale: &[f32], shift: &[f32]) -> Result<()> {
        let inputs = self.steps[step].inputs.clone();
        let ValueRef::Const(w) = inputs[1] else {
            return Err(Error::node(&self.steps[step].node, "Conv", "weights must be constant to fold BatchNorm"));
        };
        let channels = scale.len();
        let weight = &self.constants[w];
        let s = Tensor::new(scale, &Device::Cpu)?.reshape((channels, 1, 1, 1))?;
        let weight = weight.broadcast_mul(&s)?;
        let Some(bias) = self.constant_bias(step, channels)? else {
            return Err(Error::node(&self.steps[step].node, "Conv", "bias must be constant to fold BatchNorm"));
        };
        let bias: Vec<f32> = (0..channels).map(|c| bias[c] * scale[c] + shift[c]).collect();
        let Value::Const(w) = self.push_const(weight) else { unreachable!() };
        let Value::Const(b) = self.push_const(Tensor::new(bias.as_slice(), &Device::Cpu)?) else { unreachable!() };
        self.steps[step].inputs = vec![inputs[0], ValueRef::Const(w), ValueRef::Const(b)];
        Ok(())
    }

    /// A conv step's bias values (zeros when it has none), or None when the bias is computed at run time.
    fn constant_bias(&self, step: usize, channels: usize) -> Result<Option<Vec<f32>>> {
        Ok(match self.steps[step].inputs.get(2) {
            Some(ValueRef::Const(b)) => Some(self.constants[*b].to_vec1::<f32>()?),
            Some(ValueRef::Slot(_)) => None,
            None => Some(vec![0.0; channels]),
        })
    }

    /// Drops steps no output needs, renumbers constants, and records each slot's last reader.
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

        let mut last_read: HashMap<usize, usize> = HashMap::new();
        for (i, step) in steps.iter().enumerate() {
            for r in &step.inputs {
                if let ValueRef::Slot(s) = r {
                    last_read.insert(*s, i);
                }
            }
        }
        // The step whose output owns the buffer each slot reads: itself, or for a view, its first
        // input's owner. Inputs and views of constants own none of the plan's.
        let mut owner: Vec<Option<usize>> = vec![None; self.slots];
        for step in &steps {
            owner[step.output] = match (step.op.may_view_input(step.inputs.len()), step.inputs.first()) {
                (false, _) => Some(step.output),
                (true, Some(ValueRef::Slot(s))) => owner[*s],
                (true, _) => None,
            };
        }
        // A buffer lives until the last read through any slot that owns or views it; one an output
        // reads lives on.
        let mut buffer_end: HashMap<usize, Option<usize>> = HashMap::new();
        for o in &outputs {
            if let ValueRef::Slot(s) = o.value {
                last_read.remove(&s);
                if let Some(buffer) = owner[s] {
                    buffer_end.insert(buffer, None);
                }
            }
        }
        for (&slot, &step) in &last_read {
            if let Some(buffer) = owner[slot] {
                let end = buffer_end.entry(buffer).or_insert(Some(step));
                *end = end.map(|e| e.max(step));
            }
        }
        for (slot, step) in last_read {
            if owner[slot] != Some(slot) {
                steps[step].free.push(slot);
            }
        }
        // Greedy by size: each lifetime, largest first, joins the first buffer free for all of it.
        let made_at: HashMap<usize, usize> = steps.iter().enumerate().map(|(i, s)| (s.output, i)).collect();
        let mut lifetimes: Vec<(usize, usize, usize, usize)> = buffer_end
            .into_iter()
            .filter_map(|(slot, end)| {
                end.map(|last| (slot, made_at[&slot], last, steps[made_at[&slot]].shape.iter().product::<usize>()))
            })
            .collect();
        lifetimes.sort_by_key(|&(_, first, _, len)| (std::cmp::Reverse(len), first));
        let mut buffers: Vec<(usize, Vec<(usize, usize)>)> = Vec::new();
        for (slot, first, last, len) in lifetimes {
            let id = match buffers.iter().position(|(_, lives)| lives.iter().all(|&(f, l)| last < f || l < first)) {
                Some(id) => id,
                None => {
                    buffers.push((len, Vec::new()));
                    buffers.len() - 1
                }
            };
            buffers[id].1.push((first, last));
            steps[first].buffer = Some(id);
            steps[last].recycle.push((slot, id));
        }
        for step in &mut steps {
            step.free.sort_unstable();
            step.recycle.sort_unstable();
        }
        let buffers = buffers.into_iter().map(|(len, _)| len).collect();
        Plan { inputs, outputs, constants, steps, slots: self.slots, buffers }
    }
}

/// Typed access to a node's attributes with ONNX defaults.
struct NodeAttrs<'n> {
    node: &'n Node,
}

impl NodeAttrs<'_> {
    fn int(&self, name: &str, default: i64) -> i64 {
        match self.node.attrs.get(name) {
            Some(Attr::Int(v)) => *v,
            _ => default,
        }
    }

    fn float(&self, name: &str, default: f32) -> f32 {
        match self.node.attrs.get(name) {
            Some(Attr::Float(v)) => *v,
            _ => default,
        }
    }

    fn ints(&self, name: &str) -> Option<Vec<i64>> {
        match self.node.attrs.get(name) {
            Some(Attr::Ints(v)) => Some(v.clone()),
            _ => None,
        }
    }

    fn string(&self, name: &str, default: &str) -> String {
        match self.node.attrs.get(name) {
            Some(Attr::String(v)) => v.clone(),
            _ => default.to_string(),
        }
    }

    fn pair(&self, name: &str, default: usize) -> std::result::Result<[usize; 2], String> {
        match self.ints(name) {
            None => Ok([default; 2]),
            Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 0) => Ok([v[0] as usize, v[1] as usize]),
            Some(v) => Err(format!("{name} {v:?} is not two non-negative numbers")),
        }
    }

    fn pads(&self) -> std::result::Result<[usize; 4], String> {
        match self.ints("pads") {
            None => Ok([0; 4]),
            Some(v) if v.len() == 4 && v.iter().all(|&x| x >= 0) => {
                Ok([v[0] as usize, v[1] as usize, v[2] as usize, v[3] as usize])
            }
            Some(v) => Err(format!("pads {v:?} are not four non-negative numbers")),
        }
    }

    /// Resolves auto_pad SAME_UPPER / SAME_LOWER / VALID into explicit pads.
    fn apply_auto_pad(&self, window: &mut Window, input: [usize; 2]) -> std::result::Result<(), String> {
        match self.string("auto_pad", "NOTSET").as_str() {
            "NOTSET" => Ok(()),
            "VALID" => {
                window.pads = [0; 4];
                Ok(())
            }
            mode @ ("SAME_UPPER" | "SAME_LOWER") => {
                for (axis, size) in input.into_iter().enumerate() {
                    let out = size.div_ceil(window.stride[axis]);
                    let total = ((out - 1) * window.stride[axis] + window.extent(axis)).saturating_sub(size);
                    let small = total / 2;
                    let (begin, end) =
                        if mode == "SAME_UPPER" { (small, total - small) } else { (total - small, small) };
                    window.pads[axis] = begin;
                    window.pads[axis + 2] = end;
                }
                Ok(())
            }
            other => Err(format!("auto_pad '{other}' is not supported")),
        }
    }
}

fn normalize_axis(axis: i64, rank: i64) -> Option<usize> {
    let a = if axis < 0 { axis + rank } else { axis };
    (0..rank).contains(&a).then_some(a as usize)
}

fn normalize_axis_inclusive(axis: i64, rank: i64) -> Option<usize> {
    let a = if axis < 0 { axis + rank } else { axis };
    (0..=rank).contains(&a).then_some(a as usize)
}

fn clamp_axis(axis: i64, rank: i64) -> i64 {
    (if axis < 0 { axis + rank } else { axis }).clamp(0, rank)
}

/// ONNX Reshape semantics: 0 copies the input dimension (unless allowzero), -1 is inferred.
fn reshape_target(input: &[usize], target: &[i64], allow_zero: bool) -> std::result::Result<Vec<usize>, String> {
    let count: usize = input.iter().product();
    let mut infer = None;
    let mut shape = Vec::with_capacity(target.len());
    for (i, &t) in target.iter().enumerate() {
        shape.push(match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            0 if !allow_zero => *input.get(i).ok_or_else(|| format!("0 at axis {i} beyond the input's rank"))?,
            t if t >= 0 => t as usize,
            t => return Err(format!("invalid target dimension {t}")),
        });
    }
    if let Some(i) = infer {
        let known: usize = shape.iter().product();
        if known == 0 || !count.is_multiple_of(known) {
            return Err(format!("cannot infer -1 reshaping {input:?} to {target:?}"));
        }
        shape[i] = count / known;
    }
    Ok(shape)
}

/// ONNX Slice clamping for one axis: returns (first index, step, count).
fn slice_range(start: i64, end: i64, step: i64, dim: usize) -> Option<(i64, i64, usize)> {
    if step == 0 {
        return None;
    }
    let d = dim as i64;
    let norm = |v: i64| if v < 0 { v + d } else { v };
    let (start, end) = if step > 0 {
        (norm(start).clamp(0, d), norm(end).clamp(0, d))
    } else {
        (norm(start).clamp(-1, d - 1), norm(end).clamp(-1, d - 1))
    };
    let count = if step > 0 {
        if end > start { (end - start + step - 1) / step } else { 0 }
    } else if start > end {
        (start - end + (-step) - 1) / (-step)
    } else {
        0
    };
    Some((start, step, count as usize))
}

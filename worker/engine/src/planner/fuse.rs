//! Fusions: patterns of nodes lowered as one step. BatchNorm, a per-channel Add and activations
//! fold into the conv producing their input, an Add of a residual joins the conv before it, and
//! the exact GELU's five nodes become one activation.

use candle_core::{DType, Device, Tensor};

use super::{Planner, Value};
use crate::error::{Error, Result};
use crate::model::Node;
use crate::ops::{Activation, Op, UnaryKind};
use crate::plan::ValueRef;

impl<'m> Planner<'m> {
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

    /// Fuses `activation` into the conv step producing `x` (named `name`) when nothing else reads
    /// it; whether it did.
    pub(super) fn fuse_activation(&mut self, name: &str, x: &Value, activation: Activation) -> bool {
        let Some(step) = self.fusable_conv(name, x) else { return false };
        if let Op::Conv(c) | Op::ConvTranspose(c) = &mut self.steps[step].op {
            c.activation = activation;
        }
        true
    }

    /// Folds BatchNormalization, y = x * scale[c] + shift[c], into the conv (not a transposed one)
    /// producing `x` (named `name`) when nothing else reads it; whether it did.
    pub(super) fn fold_batch_norm(&mut self, name: &str, x: &Value, scale: &[f32], shift: &[f32]) -> Result<bool> {
        let Some(step) = self.fusable_conv(name, x).filter(|&s| matches!(self.steps[s].op, Op::Conv(_))) else {
            return Ok(false);
        };
        self.fold_affine_into_conv(step, scale, shift)?;
        Ok(true)
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

    /// Folds Add(conv, constant per output channel) into the conv's bias, as exports write a
    /// transposed conv's bias (so the activation after it can fuse too).
    pub(super) fn fold_channel_shift(&mut self, add: &Node, x: &Value, y: &Value) -> Result<Option<Value>> {
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
    pub(super) fn fuse_residual(&mut self, add: &Node, x: &Value, y: &Value) -> Result<Option<Value>> {
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
    pub(super) fn lower_gelu(&mut self, div: &Node) -> Result<bool> {
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
}

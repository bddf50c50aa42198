//! Lowering: one function per ONNX op family, each turning a node (seen through `NodeCtx`) into a
//! plan step, a folded constant, or a fusion into the step before it. `Planner::lower` dispatches.

use candle_core::{DType, Device, Tensor};

use super::attrs::{NodeAttrs, clamp_axis, normalize_axis, normalize_axis_inclusive, reshape_target, slice_range};
use super::{Planner, Value};
use crate::error::{Error, Result};
use crate::model::{Attr, Node};
use crate::ops::*;

/// What a lowering function sees of its node: the node, its attributes, and its inputs resolved
/// to values, with the tensors of those known at plan time.
pub(super) struct NodeCtx<'n> {
    pub(super) node: &'n Node,
    pub(super) attrs: NodeAttrs<'n>,
    /// One per node input: None where the name is empty (an omitted optional input).
    pub(super) inputs: Vec<Option<Value>>,
    /// The tensor of each input that is a plan-time constant.
    constants: Vec<Option<Tensor>>,
}

impl<'n> NodeCtx<'n> {
    /// Resolves the node's inputs; fails on a name no earlier node or initializer defines.
    pub(super) fn new(planner: &Planner, node: &'n Node) -> Result<Self> {
        let err = |reason: String| Error::node(&node.name, &node.op, reason);
        let inputs: Vec<Option<Value>> = node
            .inputs
            .iter()
            .map(|name| {
                if name.is_empty() {
                    Ok(None)
                } else {
                    planner
                        .values
                        .get(name)
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| err(format!("input '{name}' is undefined")))
                }
            })
            .collect::<Result<_>>()?;
        let constants = inputs
            .iter()
            .map(|v| match v {
                Some(Value::Const(c)) => Some(planner.constants[*c].clone()),
                _ => None,
            })
            .collect();
        Ok(NodeCtx { node, attrs: NodeAttrs { node }, inputs, constants })
    }

    /// An error naming this node and its op.
    pub(super) fn err(&self, reason: String) -> Error {
        Error::node(&self.node.name, &self.node.op, reason)
    }

    /// Input `i`, which must be present.
    pub(super) fn input(&self, i: usize) -> Result<Value> {
        self.inputs.get(i).cloned().flatten().ok_or_else(|| self.err(format!("input {i} is missing")))
    }

    /// Input `i`'s tensor, which must be known at plan time; None when the input is absent.
    pub(super) fn constant(&self, i: usize) -> Result<Option<Tensor>> {
        match self.inputs.get(i).cloned().flatten() {
            None => Ok(None),
            Some(Value::Const(_)) => Ok(self.constants[i].clone()),
            Some(Value::Dynamic { .. }) => Err(self.err(format!("input {i} must be known at plan time"))),
        }
    }

    pub(super) fn ints_of(&self, t: &Tensor) -> Result<Vec<i64>> {
        t.to_dtype(DType::I64)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<i64>())
            .map_err(|e| self.err(e.to_string()))
    }

    pub(super) fn floats_of(&self, t: &Tensor) -> Result<Vec<f32>> {
        t.to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| self.err(e.to_string()))
    }
}

impl Planner<'_> {
    pub(super) fn lower_constant(&mut self, cx: &NodeCtx) -> Result<Value> {
        let attrs = &cx.node.attrs;
        let t = if let Some(Attr::Tensor(t)) = attrs.get("value") {
            t.clone()
        } else if let Some(Attr::Float(f)) = attrs.get("value_float") {
            Tensor::new(*f, &Device::Cpu)?
        } else if let Some(Attr::Floats(f)) = attrs.get("value_floats") {
            Tensor::new(f.as_slice(), &Device::Cpu)?
        } else if let Some(Attr::Int(i)) = attrs.get("value_int") {
            Tensor::new(*i, &Device::Cpu)?
        } else if let Some(Attr::Ints(i)) = attrs.get("value_ints") {
            Tensor::new(i.as_slice(), &Device::Cpu)?
        } else {
            return Err(cx.err("no supported value attribute".into()));
        };
        Ok(self.push_const(t))
    }

    /// Shape and Size: known at plan time, so always constants.
    pub(super) fn lower_shape(&mut self, cx: &NodeCtx) -> Result<Value> {
        let shape = self.shape_of(&cx.input(0)?);
        if cx.node.op == "Size" {
            let n: usize = shape.iter().product();
            return Ok(self.push_const(Tensor::new(n as i64, &Device::Cpu)?));
        }
        let a = &cx.attrs;
        let rank = shape.len() as i64;
        let start = clamp_axis(a.int("start", 0), rank) as usize;
        let end = clamp_axis(a.int("end", rank), rank) as usize;
        let dims: Vec<i64> = shape[start..end.max(start)].iter().map(|&d| d as i64).collect();
        Ok(self.push_const(Tensor::new(dims.as_slice(), &Device::Cpu)?))
    }

    pub(super) fn lower_constant_of_shape(&mut self, cx: &NodeCtx) -> Result<Value> {
        let shape: Vec<usize> = match cx.constant(0)? {
            Some(t) => cx.ints_of(&t)?.into_iter().map(|d| d as usize).collect(),
            None => return Err(cx.err("shape input is missing".into())),
        };
        let fill = match cx.node.attrs.get("value") {
            Some(Attr::Tensor(t)) => t.flatten_all()?,
            _ => Tensor::new(&[0f32], &Device::Cpu)?,
        };
        let n: usize = shape.iter().product();
        let t = fill.repeat(n)?.reshape(shape)?;
        Ok(self.push_const(t))
    }

    pub(super) fn lower_cast(&mut self, cx: &NodeCtx) -> Result<Value> {
        let to = match cx.attrs.int("to", 1) {
            1 | 10 | 11 | 16 => DType::F32,
            6 | 7 | 9 | 2 | 3 | 4 | 5 | 12 | 13 => DType::I64,
            other => return Err(cx.err(format!("cast to element type {other} is not supported"))),
        };
        match cx.input(0)? {
            // Runtime values are f32 throughout; half-precision casts keep full precision.
            v @ Value::Dynamic { .. } if to == DType::F32 => Ok(v),
            v => {
                let shape = self.shape_of(&v);
                self.emit(cx.node, Op::Cast(to), vec![v], shape)
            }
        }
    }

    /// Conv and ConvTranspose.
    pub(super) fn lower_conv(&mut self, cx: &NodeCtx) -> Result<Value> {
        let a = &cx.attrs;
        let x = cx.input(0)?;
        let w = cx.input(1)?;
        let xs = self.shape_of(&x);
        let ws = self.shape_of(&w);
        if xs.len() != 4 || ws.len() != 4 {
            return Err(cx.err(format!("only 2-D convolution is supported (input {xs:?}, weight {ws:?})")));
        }
        let group = a.int("group", 1) as usize;
        let transpose = cx.node.op == "ConvTranspose";
        let in_channels = if transpose { ws[0] } else { ws[1] * group };
        if group == 0 || xs[1] != in_channels || !ws[0].is_multiple_of(group) {
            return Err(cx.err(format!("weight {ws:?} with group {group} does not fit input {xs:?}")));
        }
        let kernel = [ws[2], ws[3]];
        if let Some(k) = a.ints("kernel_shape")
            && (k.len() != 2 || k[0] as usize != kernel[0] || k[1] as usize != kernel[1])
        {
            return Err(cx.err(format!("kernel_shape {k:?} disagrees with weight {ws:?}")));
        }
        let stride = a.pair("strides", 1).map_err(|e| cx.err(e))?;
        let dilation = a.pair("dilations", 1).map_err(|e| cx.err(e))?;
        let mut window = Window { kernel, stride, dilation, pads: a.pads().map_err(|e| cx.err(e))? };
        let out_channels = if transpose { ws[1] * group } else { ws[0] };
        let (oh, ow) = if transpose {
            if a.string("auto_pad", "NOTSET") != "NOTSET" {
                return Err(cx.err("auto_pad on ConvTranspose is not supported".into()));
            }
            if a.ints("output_shape").is_some() {
                return Err(cx.err("output_shape on ConvTranspose is not supported".into()));
            }
            let extra = a.pair("output_padding", 0).map_err(|e| cx.err(e))?;
            let p = window.pads;
            let size = |axis: usize, pb: usize, pe: usize| {
                ((xs[2 + axis] - 1) * stride[axis] + window.extent(axis) + extra[axis]).checked_sub(pb + pe)
            };
            match (size(0, p[0], p[2]), size(1, p[1], p[3])) {
                (Some(h), Some(w)) if h > 0 && w > 0 => (h, w),
                _ => return Err(cx.err("padding larger than the output".into())),
            }
        } else {
            a.apply_auto_pad(&mut window, [xs[2], xs[3]]).map_err(|e| cx.err(e))?;
            let p = window.pads;
            match (
                window_output(xs[2], [p[0], p[2]], window.extent(0), stride[0], false),
                window_output(xs[3], [p[1], p[3]], window.extent(1), stride[1], false),
            ) {
                (Some(h), Some(w)) => (h, w),
                _ => return Err(cx.err(format!("kernel {kernel:?} is larger than the padded input {xs:?}"))),
            }
        };
        let mut ins = vec![x, w];
        if let Some(b) = cx.inputs.get(2).cloned().flatten() {
            if self.shape_of(&b) != [out_channels] {
                return Err(cx.err("bias length differs from the output channels".into()));
            }
            ins.push(b);
        }
        let conv = Conv { window, group, activation: Activation::None, residual: false };
        let op = if transpose { Op::ConvTranspose(conv) } else { Op::Conv(conv) };
        self.emit(cx.node, op, ins, vec![xs[0], out_channels, oh, ow])
    }

    pub(super) fn lower_batch_norm(&mut self, cx: &NodeCtx) -> Result<Value> {
        let x = cx.input(0)?;
        let xs = self.shape_of(&x);
        let channels = *xs.get(1).ok_or_else(|| cx.err("input needs a channel axis".into()))?;
        let param = |i: usize| -> Result<Vec<f32>> {
            let t = cx.constant(i)?.ok_or_else(|| cx.err(format!("input {i} is missing")))?;
            let v = cx.floats_of(&t)?;
            if v.len() != channels {
                return Err(cx.err(format!("parameter {i} has {} values for {channels} channels", v.len())));
            }
            Ok(v)
        };
        let (gamma, beta, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
        let eps = cx.attrs.float("epsilon", 1e-5);
        let scale: Vec<f32> = gamma.iter().zip(&var).map(|(g, v)| g / (v + eps).sqrt()).collect();
        let shift: Vec<f32> = (0..channels).map(|c| beta[c] - mean[c] * scale[c]).collect();
        if self.fold_batch_norm(&cx.node.inputs[0], &x, &scale, &shift)? {
            return Ok(x);
        }
        let s = self.push_const(Tensor::new(scale.as_slice(), &Device::Cpu)?);
        let t = self.push_const(Tensor::new(shift.as_slice(), &Device::Cpu)?);
        self.emit(cx.node, Op::ChannelAffine, vec![x, s, t], xs)
    }

    /// The activations a conv can apply to its output: fused into the conv producing x when
    /// nothing else reads x.
    pub(super) fn lower_activation(&mut self, cx: &NodeCtx) -> Result<Value> {
        let a = &cx.attrs;
        let activation = match cx.node.op.as_str() {
            "Relu" => Activation::Relu,
            "LeakyRelu" => Activation::LeakyRelu(a.float("alpha", 0.01)),
            "Sigmoid" => Activation::Sigmoid,
            "Tanh" => Activation::Tanh,
            "HardSigmoid" => Activation::HardSigmoid { alpha: a.float("alpha", 0.2), beta: a.float("beta", 0.5) },
            "HardSwish" => Activation::HardSwish,
            _ => {
                let bound = |i: usize, attr: &str, default: f32| -> Result<f32> {
                    if self.model.opset < 11 {
                        return Ok(a.float(attr, default));
                    }
                    match cx.constant(i)? {
                        Some(t) => Ok(*cx.floats_of(&t)?.first().ok_or_else(|| cx.err("empty bound".into()))?),
                        None => Ok(default),
                    }
                };
                Activation::Clip { min: bound(1, "min", f32::MIN)?, max: bound(2, "max", f32::MAX)? }
            }
        };
        let x = cx.input(0)?;
        if self.fuse_activation(&cx.node.inputs[0], &x, activation) {
            return Ok(x);
        }
        let shape = self.shape_of(&x);
        self.emit(cx.node, Op::Unary(UnaryKind::Activation(activation)), vec![x], shape)
    }

    /// The other elementwise functions of one input, Pow by a constant exponent among them.
    pub(super) fn lower_unary(&mut self, cx: &NodeCtx) -> Result<Value> {
        let kind = match cx.node.op.as_str() {
            "Erf" => UnaryKind::Erf,
            "Sqrt" => UnaryKind::Sqrt,
            "Exp" => UnaryKind::Exp,
            "Neg" => UnaryKind::Neg,
            "Abs" => UnaryKind::Abs,
            "Pow" => {
                let exponent = cx.constant(1)?.ok_or_else(|| cx.err("exponent is missing".into()))?;
                let e = cx.floats_of(&exponent)?;
                if e.len() != 1 {
                    return Err(cx.err("only a single constant exponent is supported".into()));
                }
                UnaryKind::Powf(e[0])
            }
            _ => UnaryKind::Reciprocal,
        };
        let x = cx.input(0)?;
        let shape = self.shape_of(&x);
        self.emit(cx.node, Op::Unary(kind), vec![x], shape)
    }

    /// Add, Sub, Mul and Div, broadcasting; an Add may fold into the conv producing one side.
    pub(super) fn lower_binary(&mut self, cx: &NodeCtx) -> Result<Value> {
        let kind = match cx.node.op.as_str() {
            "Add" => BinaryKind::Add,
            "Sub" => BinaryKind::Sub,
            "Mul" => BinaryKind::Mul,
            _ => BinaryKind::Div,
        };
        let (x, y) = (cx.input(0)?, cx.input(1)?);
        let (xs, ys) = (self.shape_of(&x), self.shape_of(&y));
        let shape =
            broadcast_shape(&xs, &ys).ok_or_else(|| cx.err(format!("shapes {xs:?} and {ys:?} do not broadcast")))?;
        let fused = if kind == BinaryKind::Add {
            match self.fold_channel_shift(cx.node, &x, &y)? {
                Some(out) => Some(out),
                None => self.fuse_residual(cx.node, &x, &y)?,
            }
        } else {
            None
        };
        match fused {
            Some(out) => Ok(out),
            None => self.emit(cx.node, Op::Binary(kind), vec![x, y], shape),
        }
    }

    pub(super) fn lower_matmul(&mut self, cx: &NodeCtx) -> Result<Value> {
        let (x, y) = (cx.input(0)?, cx.input(1)?);
        let (xs, ys) = (self.shape_of(&x), self.shape_of(&y));
        if xs.len() < 2 || ys.len() < 2 || xs[xs.len() - 1] != ys[ys.len() - 2] {
            return Err(cx.err(format!("cannot multiply {xs:?} by {ys:?}")));
        }
        let batch = broadcast_shape(&xs[..xs.len() - 2], &ys[..ys.len() - 2])
            .ok_or_else(|| cx.err(format!("batch dims of {xs:?} and {ys:?} do not broadcast")))?;
        let mut shape = batch;
        shape.extend([xs[xs.len() - 2], ys[ys.len() - 1]]);
        self.emit(cx.node, Op::MatMul, vec![x, y], shape)
    }

    pub(super) fn lower_softmax(&mut self, cx: &NodeCtx) -> Result<Value> {
        let x = cx.input(0)?;
        let shape = self.shape_of(&x);
        let rank = shape.len() as i64;
        let default_axis = if self.model.opset < 13 { 1 } else { -1 };
        let axis = normalize_axis(cx.attrs.int("axis", default_axis), rank)
            .ok_or_else(|| cx.err("axis out of range".into()))?;
        let outer: usize = shape[..axis].iter().product();
        let (len, inner) = if self.model.opset < 13 {
            (shape[axis..].iter().product(), 1)
        } else {
            (shape[axis], shape[axis + 1..].iter().product())
        };
        self.emit(cx.node, Op::Softmax { outer, len, inner }, vec![x], shape)
    }

    /// ReduceMean and ReduceSum.
    pub(super) fn lower_reduce(&mut self, cx: &NodeCtx) -> Result<Value> {
        let a = &cx.attrs;
        let kind = if cx.node.op == "ReduceMean" { ReduceKind::Mean } else { ReduceKind::Sum };
        let x = cx.input(0)?;
        let shape = self.shape_of(&x);
        let rank = shape.len() as i64;
        let axes: Vec<i64> = match a.ints("axes") {
            Some(axes) => axes,
            None => match cx.constant(1)? {
                Some(t) => cx.ints_of(&t)?,
                None => Vec::new(),
            },
        };
        let mut axes: Vec<usize> = if axes.is_empty() {
            if a.int("noop_with_empty_axes", 0) != 0 { Vec::new() } else { (0..shape.len()).collect() }
        } else {
            axes.iter()
                .map(|&ax| normalize_axis(ax, rank).ok_or_else(|| cx.err(format!("axis {ax} out of range"))))
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
        self.emit(cx.node, Op::Reduce { kind, axes }, vec![x], out_shape)
    }

    pub(super) fn lower_global_pool(&mut self, cx: &NodeCtx) -> Result<Value> {
        let x = cx.input(0)?;
        let xs = self.shape_of(&x);
        if xs.len() != 4 {
            return Err(cx.err(format!("input {xs:?} is not NCHW")));
        }
        self.emit(cx.node, Op::GlobalAveragePool, vec![x], vec![xs[0], xs[1], 1, 1])
    }

    /// MaxPool and AveragePool.
    pub(super) fn lower_pool(&mut self, cx: &NodeCtx) -> Result<Value> {
        let (node, a) = (cx.node, &cx.attrs);
        let x = cx.input(0)?;
        let xs = self.shape_of(&x);
        if xs.len() != 4 {
            return Err(cx.err(format!("only 2-D pooling is supported (input {xs:?})")));
        }
        let k = a.ints("kernel_shape").ok_or_else(|| cx.err("kernel_shape is missing".into()))?;
        if k.len() != 2 || k.iter().any(|&v| v < 1) {
            return Err(cx.err(format!("kernel_shape {k:?} is not 2-D")));
        }
        let mut window = Window {
            kernel: [k[0] as usize, k[1] as usize],
            stride: a.pair("strides", 1).map_err(|e| cx.err(e))?,
            dilation: a.pair("dilations", 1).map_err(|e| cx.err(e))?,
            pads: a.pads().map_err(|e| cx.err(e))?,
        };
        a.apply_auto_pad(&mut window, [xs[2], xs[3]]).map_err(|e| cx.err(e))?;
        let ceil = a.int("ceil_mode", 0) != 0;
        let p = window.pads;
        let (oh, ow) = match (
            window_output(xs[2], [p[0], p[2]], window.extent(0), window.stride[0], ceil),
            window_output(xs[3], [p[1], p[3]], window.extent(1), window.stride[1], ceil),
        ) {
            (Some(h), Some(w)) => (h, w),
            _ => return Err(cx.err(format!("window larger than the padded input {xs:?}"))),
        };
        let kind = if node.op == "MaxPool" {
            if node.outputs.len() > 1 && !node.outputs[1].is_empty() {
                return Err(cx.err("the indices output is not supported".into()));
            }
            PoolKind::Max
        } else {
            PoolKind::Average { count_include_pad: a.int("count_include_pad", 0) != 0 }
        };
        self.emit(node, Op::Pool { kind, window }, vec![x], vec![xs[0], xs[1], oh, ow])
    }

    /// Resize and Upsample.
    pub(super) fn lower_resize(&mut self, cx: &NodeCtx) -> Result<Value> {
        let a = &cx.attrs;
        let x = cx.input(0)?;
        let xs = self.shape_of(&x);
        if xs.len() != 4 {
            return Err(cx.err(format!("only NCHW resize is supported (input {xs:?})")));
        }
        let (scales_at, sizes_at) = if self.model.opset < 11 { (1, usize::MAX) } else { (2, 3) };
        let sizes = cx.constant(sizes_at)?.map(|t| cx.ints_of(&t)).transpose()?.filter(|v| !v.is_empty());
        let scales = cx.constant(scales_at)?.map(|t| cx.floats_of(&t)).transpose()?.filter(|v| !v.is_empty());
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
            _ => return Err(cx.err("needs 4 constant scales or sizes".into())),
        };
        if out[0] != xs[0] || out[1] != xs[1] || out[2] == 0 || out[3] == 0 {
            return Err(cx.err(format!("only spatial resizing is supported ({xs:?} to {out:?})")));
        }
        let mode = match a.string("mode", "nearest").as_str() {
            "nearest" => ResizeMode::Nearest(match a.string("nearest_mode", "round_prefer_floor").as_str() {
                "round_prefer_floor" => NearestRounding::RoundPreferFloor,
                "round_prefer_ceil" => NearestRounding::RoundPreferCeil,
                "floor" => NearestRounding::Floor,
                "ceil" => NearestRounding::Ceil,
                other => return Err(cx.err(format!("nearest_mode '{other}' is not supported"))),
            }),
            "linear" | "bilinear" => ResizeMode::Linear,
            other => return Err(cx.err(format!("mode '{other}' is not supported"))),
        };
        let default_transform = if self.model.opset < 11 { "asymmetric" } else { "half_pixel" };
        let transform = match a.string("coordinate_transformation_mode", default_transform).as_str() {
            "half_pixel" => CoordinateTransform::HalfPixel,
            "pytorch_half_pixel" => CoordinateTransform::PytorchHalfPixel,
            "align_corners" => CoordinateTransform::AlignCorners,
            "asymmetric" => CoordinateTransform::Asymmetric,
            other => return Err(cx.err(format!("coordinate_transformation_mode '{other}' is not supported"))),
        };
        if a.int("antialias", 0) != 0 || a.int("exclude_outside", 0) != 0 {
            return Err(cx.err("antialias and exclude_outside are not supported".into()));
        }
        let resize = Resize { mode, transform, scale: [scale[2], scale[3]] };
        self.emit(cx.node, Op::Resize(resize), vec![x], out)
    }

    pub(super) fn lower_pad(&mut self, cx: &NodeCtx) -> Result<Value> {
        let a = &cx.attrs;
        let x = cx.input(0)?;
        let xs = self.shape_of(&x);
        let rank = xs.len();
        let (raw, fill) = if self.model.opset < 11 {
            (a.ints("pads").ok_or_else(|| cx.err("pads are missing".into()))?, a.float("value", 0.0))
        } else {
            let pads = cx.ints_of(&cx.constant(1)?.ok_or_else(|| cx.err("pads are missing".into()))?)?;
            let fill = match cx.constant(2)? {
                Some(t) => cx.floats_of(&t)?.first().copied().unwrap_or(0.0),
                None => 0.0,
            };
            (pads, fill)
        };
        if cx.inputs.get(3).cloned().flatten().is_some() {
            return Err(cx.err("the axes input is not supported".into()));
        }
        if raw.len() != 2 * rank || raw.iter().any(|&p| p < 0) {
            return Err(cx.err(format!("pads {raw:?} do not fit rank {rank} (negative pads are not supported)")));
        }
        let pads: Vec<[usize; 2]> = (0..rank).map(|i| [raw[i] as usize, raw[i + rank] as usize]).collect();
        let mode = match a.string("mode", "constant").as_str() {
            "constant" => PadMode::Constant(fill),
            "reflect" => PadMode::Reflect,
            "edge" => PadMode::Edge,
            other => return Err(cx.err(format!("mode '{other}' is not supported"))),
        };
        if mode == PadMode::Reflect && pads.iter().zip(&xs).any(|(p, &d)| p[0] >= d || p[1] >= d) {
            return Err(cx.err(format!("reflect pads {raw:?} must be smaller than the input {xs:?}")));
        }
        let shape = xs.iter().zip(&pads).map(|(&d, p)| d + p[0] + p[1]).collect();
        self.emit(cx.node, Op::Pad { pads, mode }, vec![x], shape)
    }

    pub(super) fn lower_instance_norm(&mut self, cx: &NodeCtx) -> Result<Value> {
        let x = cx.input(0)?;
        let xs = self.shape_of(&x);
        let channels = *xs.get(1).ok_or_else(|| cx.err("input needs a channel axis".into()))?;
        let (scale, bias) = (cx.input(1)?, cx.input(2)?);
        if self.shape_of(&scale) != [channels] || self.shape_of(&bias) != [channels] {
            return Err(cx.err("scale and bias must have one value per channel".into()));
        }
        let op = Op::InstanceNorm { epsilon: cx.attrs.float("epsilon", 1e-5) };
        self.emit(cx.node, op, vec![x, scale, bias], xs)
    }

    pub(super) fn lower_transpose(&mut self, cx: &NodeCtx) -> Result<Value> {
        let x = cx.input(0)?;
        let xs = self.shape_of(&x);
        let perm: Vec<usize> = match cx.attrs.ints("perm") {
            Some(p) => p.iter().map(|&v| v as usize).collect(),
            None => (0..xs.len()).rev().collect(),
        };
        let mut seen = perm.clone();
        seen.sort_unstable();
        if seen != (0..xs.len()).collect::<Vec<_>>() {
            return Err(cx.err(format!("perm {perm:?} is not a permutation of {} axes", xs.len())));
        }
        let shape = perm.iter().map(|&p| xs[p]).collect();
        self.emit(cx.node, Op::Transpose { perm }, vec![x], shape)
    }

    /// Reshape, Flatten, Squeeze and Unsqueeze: the same data under a new shape.
    pub(super) fn lower_reshape(&mut self, cx: &NodeCtx) -> Result<Value> {
        let a = &cx.attrs;
        let x = cx.input(0)?;
        let xs = self.shape_of(&x);
        let rank = xs.len() as i64;
        let count: usize = xs.iter().product();
        let axes_of = || -> Result<Vec<i64>> {
            Ok(match a.ints("axes") {
                Some(v) => v,
                None => match cx.constant(1)? {
                    Some(t) => cx.ints_of(&t)?,
                    None => Vec::new(),
                },
            })
        };
        let shape: Vec<usize> = match cx.node.op.as_str() {
            "Reshape" => {
                let target = cx.ints_of(&cx.constant(1)?.ok_or_else(|| cx.err("shape is missing".into()))?)?;
                reshape_target(&xs, &target, a.int("allowzero", 0) != 0).map_err(|e| cx.err(e))?
            }
            "Flatten" => {
                let axis = normalize_axis_inclusive(a.int("axis", 1), rank)
                    .ok_or_else(|| cx.err("axis out of range".into()))?;
                vec![xs[..axis].iter().product(), xs[axis..].iter().product()]
            }
            "Squeeze" => {
                let axes = axes_of()?;
                let axes: Vec<usize> = axes
                    .iter()
                    .map(|&v| normalize_axis(v, rank).ok_or_else(|| cx.err(format!("axis {v} out of range"))))
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
                    .map(|&v| normalize_axis(v, out_rank).ok_or_else(|| cx.err(format!("axis {v} out of range"))))
                    .collect::<Result<_>>()?;
                axes.sort_unstable();
                let mut rest = xs.iter();
                (0..out_rank as usize).map(|i| if axes.contains(&i) { 1 } else { *rest.next().unwrap_or(&1) }).collect()
            }
        };
        if super::element_count(&shape) != Some(count) {
            return Err(cx.err(format!("cannot reshape {xs:?} to {shape:?}")));
        }
        self.emit(cx.node, Op::Reshape, vec![x], shape)
    }

    pub(super) fn lower_concat(&mut self, cx: &NodeCtx) -> Result<Value> {
        let values: Vec<Value> = cx.inputs.iter().flatten().cloned().collect();
        let shapes: Vec<Vec<usize>> = values.iter().map(|v| self.shape_of(v)).collect();
        let first = shapes.first().ok_or_else(|| cx.err("no inputs".into()))?.clone();
        let axis = normalize_axis(cx.attrs.int("axis", 0), first.len() as i64)
            .ok_or_else(|| cx.err("axis out of range".into()))?;
        let mut shape = first.clone();
        shape[axis] = 0;
        for s in &shapes {
            if s.len() != first.len() || s.iter().enumerate().any(|(i, &d)| i != axis && d != first[i]) {
                return Err(cx.err(format!("input shapes {shapes:?} differ off axis {axis}")));
            }
            shape[axis] += s[axis];
        }
        self.emit(cx.node, Op::Concat { axis }, values, shape)
    }

    pub(super) fn lower_slice(&mut self, cx: &NodeCtx) -> Result<Value> {
        let x = cx.input(0)?;
        let xs = self.shape_of(&x);
        let rank = xs.len() as i64;
        let list = |attr: &str, i: usize| -> Result<Option<Vec<i64>>> {
            if self.model.opset < 10 {
                Ok(cx.attrs.ints(attr))
            } else {
                cx.constant(i)?.map(|t| cx.ints_of(&t)).transpose()
            }
        };
        let starts = list("starts", 1)?.ok_or_else(|| cx.err("starts are missing".into()))?;
        let ends = list("ends", 2)?.ok_or_else(|| cx.err("ends are missing".into()))?;
        let axes = list("axes", 3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps = list("steps", 4)?.unwrap_or_else(|| vec![1; starts.len()]);
        if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
            return Err(cx.err("starts, ends, axes and steps differ in length".into()));
        }
        let mut ranges: Vec<(i64, i64, usize)> = xs.iter().map(|&d| (0, 1, d)).collect();
        for i in 0..starts.len() {
            let axis = normalize_axis(axes[i], rank).ok_or_else(|| cx.err(format!("axis {} out of range", axes[i])))?;
            ranges[axis] =
                slice_range(starts[i], ends[i], steps[i], xs[axis]).ok_or_else(|| cx.err("step 0".into()))?;
        }
        let shape = ranges.iter().map(|r| r.2).collect();
        self.emit(cx.node, Op::Slice { ranges }, vec![x], shape)
    }

    pub(super) fn lower_gather(&mut self, cx: &NodeCtx) -> Result<Value> {
        let x = cx.input(0)?;
        let xs = self.shape_of(&x);
        let axis = normalize_axis(cx.attrs.int("axis", 0), xs.len() as i64)
            .ok_or_else(|| cx.err("axis out of range".into()))?;
        let idx = cx.constant(1)?.ok_or_else(|| cx.err("indices are missing".into()))?;
        let indices_shape = idx.dims().to_vec();
        let indices = cx
            .ints_of(&idx)?
            .into_iter()
            .map(|i| {
                let j = if i < 0 { i + xs[axis] as i64 } else { i };
                if j < 0 || j >= xs[axis] as i64 {
                    Err(cx.err(format!("index {i} out of range")))
                } else {
                    Ok(j as usize)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let mut shape = xs[..axis].to_vec();
        shape.extend(&indices_shape);
        shape.extend(&xs[axis + 1..]);
        self.emit(cx.node, Op::Gather { axis, indices, indices_shape }, vec![x], shape)
    }
}

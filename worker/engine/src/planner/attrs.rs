//! Reading a node's attributes with their ONNX defaults, and the small shape arithmetic the
//! lowerings share: axis normalisation, Reshape targets and Slice ranges.

use crate::model::{Attr, Node};
use crate::ops::Window;

/// Typed access to a node's attributes with ONNX defaults.
pub(super) struct NodeAttrs<'n> {
    pub(super) node: &'n Node,
}

impl NodeAttrs<'_> {
    pub(super) fn int(&self, name: &str, default: i64) -> i64 {
        match self.node.attrs.get(name) {
            Some(Attr::Int(v)) => *v,
            _ => default,
        }
    }

    pub(super) fn float(&self, name: &str, default: f32) -> f32 {
        match self.node.attrs.get(name) {
            Some(Attr::Float(v)) => *v,
            _ => default,
        }
    }

    pub(super) fn ints(&self, name: &str) -> Option<Vec<i64>> {
        match self.node.attrs.get(name) {
            Some(Attr::Ints(v)) => Some(v.clone()),
            _ => None,
        }
    }

    pub(super) fn string(&self, name: &str, default: &str) -> String {
        match self.node.attrs.get(name) {
            Some(Attr::String(v)) => v.clone(),
            _ => default.to_string(),
        }
    }

    pub(super) fn pair(&self, name: &str, default: usize) -> std::result::Result<[usize; 2], String> {
        match self.ints(name) {
            None => Ok([default; 2]),
            Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 0) => Ok([v[0] as usize, v[1] as usize]),
            Some(v) => Err(format!("{name} {v:?} is not two non-negative numbers")),
        }
    }

    pub(super) fn pads(&self) -> std::result::Result<[usize; 4], String> {
        match self.ints("pads") {
            None => Ok([0; 4]),
            Some(v) if v.len() == 4 && v.iter().all(|&x| x >= 0) => {
                Ok([v[0] as usize, v[1] as usize, v[2] as usize, v[3] as usize])
            }
            Some(v) => Err(format!("pads {v:?} are not four non-negative numbers")),
        }
    }

    /// Resolves auto_pad SAME_UPPER / SAME_LOWER / VALID into explicit pads.
    pub(super) fn apply_auto_pad(&self, window: &mut Window, input: [usize; 2]) -> std::result::Result<(), String> {
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

pub(super) fn normalize_axis(axis: i64, rank: i64) -> Option<usize> {
    let a = if axis < 0 { axis + rank } else { axis };
    (0..rank).contains(&a).then_some(a as usize)
}

pub(super) fn normalize_axis_inclusive(axis: i64, rank: i64) -> Option<usize> {
    let a = if axis < 0 { axis + rank } else { axis };
    (0..=rank).contains(&a).then_some(a as usize)
}

pub(super) fn clamp_axis(axis: i64, rank: i64) -> i64 {
    (if axis < 0 { axis + rank } else { axis }).clamp(0, rank)
}

/// ONNX Reshape semantics: 0 copies the input dimension (unless allowzero), -1 is inferred.
pub(super) fn reshape_target(
    input: &[usize],
    target: &[i64],
    allow_zero: bool,
) -> std::result::Result<Vec<usize>, String> {
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
        let known = super::element_count(&shape)
            .filter(|&known| known != 0 && count.is_multiple_of(known))
            .ok_or_else(|| format!("cannot infer -1 reshaping {input:?} to {target:?}"))?;
        shape[i] = count / known;
    }
    Ok(shape)
}

/// ONNX Slice clamping for one axis: returns (first index, step, count).
pub(super) fn slice_range(start: i64, end: i64, step: i64, dim: usize) -> Option<(i64, i64, usize)> {
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

//! The plan: what the planner (`planner/`) makes of a model for one input size, and what every
//! backend runs. Only data lives here, so backends depend on it without depending on the planner.

use candle_core::Tensor;

use crate::ops::Op;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueRef {
    Const(usize),
    Slot(usize),
}

#[derive(Debug, Clone)]
pub struct Step {
    /// The ONNX node this step came from, for errors and profiles.
    pub node: String,
    pub op: Op,
    pub inputs: Vec<ValueRef>,
    pub output: usize,
    pub shape: Vec<usize>,
    /// Slots whose last reader is this step: the executor drops them right after it.
    pub free: Vec<usize>,
    /// The activation buffer (`Plan::buffers`) this step writes its output into, when the output
    /// is not a view and no plan output reads it.
    pub buffer: Option<usize>,
    /// Slots, with their buffers, that no later step or output reads through them or any view of
    /// them: the executor hands them back to the backend, after `free`, for later steps to reuse.
    pub recycle: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub struct PlanInput {
    pub name: String,
    pub shape: Vec<usize>,
    pub slot: usize,
}

#[derive(Debug, Clone)]
pub struct PlanOutput {
    pub name: String,
    pub shape: Vec<usize>,
    pub value: ValueRef,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub inputs: Vec<PlanInput>,
    pub outputs: Vec<PlanOutput>,
    /// Weights and folded values, all on the host in ONNX layouts; a session hands them to its
    /// backend (`Backend::prepare`), which keeps them in the layouts its kernels read.
    pub constants: Vec<Tensor>,
    pub steps: Vec<Step>,
    pub slots: usize,
    /// Floats in each activation buffer: steps whose outputs never live at the same time share one.
    pub buffers: Vec<usize>,
}

/// The number of elements of `shape`, or None where it or any of the shape's strides overflows: a
/// model may claim any shape, and [0, 2^40, 2^40] holds no element yet has a stride of 2^80.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d.max(1)))?;
    Some(shape.iter().product())
}

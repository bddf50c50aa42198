//! Running a plan: a backend executes steps in order over numbered slots, dropping each
//! intermediate right after its last reader and handing back each buffer no later step reads.

use candle_core::{DType, Tensor};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::plan::{Plan, Step, ValueRef};

/// A plan with its constants resident on a backend, ready to run many times.
pub struct Session<B: Backend> {
    plan: Plan,
    backend: B,
    constants: Vec<B::Tensor>,
    buffers: B::Buffers,
}

impl<B: Backend> Session<B> {
    pub fn new(plan: Plan, backend: B) -> Result<Self> {
        let constants = plan.constants.iter().map(|c| backend.upload(c)).collect::<Result<_>>()?;
        let buffers = backend.buffers(&plan);
        Ok(Session { plan, backend, constants, buffers })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Runs with the plan's inputs in order; returns the plan's outputs in order.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        self.run_with(inputs, &mut |_, _| true)
    }

    /// As `run`, calling `progress(done, total)` after every step; returning false cancels.
    pub fn run_with(&self, inputs: &[Tensor], progress: &mut dyn FnMut(usize, usize) -> bool) -> Result<Vec<Tensor>> {
        if inputs.len() != self.plan.inputs.len() {
            return Err(Error::Input(format!("expected {} inputs, got {}", self.plan.inputs.len(), inputs.len())));
        }
        let mut slots: Vec<Option<B::Tensor>> = (0..self.plan.slots).map(|_| None).collect();
        for (spec, tensor) in self.plan.inputs.iter().zip(inputs) {
            if tensor.dims() != spec.shape.as_slice() {
                return Err(Error::Input(format!(
                    "input '{}' has shape {:?}, the plan was made for {:?}",
                    spec.name,
                    tensor.dims(),
                    spec.shape
                )));
            }
            let tensor = tensor.to_dtype(DType::F32)?;
            slots[spec.slot] = Some(self.backend.upload(&tensor)?);
        }
        let total = self.plan.steps.len();
        for (index, step) in self.plan.steps.iter().enumerate() {
            let args =
                step.inputs.iter().map(|r| self.resolve(&slots, *r, step)).collect::<Result<Vec<&B::Tensor>>>()?;
            let out = self.backend.execute(step, &args, &self.buffers)?;
            slots[step.output] = Some(out);
            for &slot in &step.free {
                slots[slot] = None;
            }
            for &(slot, buffer) in &step.recycle {
                if let Some(tensor) = slots[slot].take() {
                    self.backend.recycle(tensor, buffer, &self.buffers);
                }
            }
            if !progress(index + 1, total) {
                return Err(Error::Cancelled);
            }
        }
        self.plan
            .outputs
            .iter()
            .map(|o| {
                let t = match o.value {
                    ValueRef::Const(c) => return Ok(self.plan.constants[c].clone()),
                    ValueRef::Slot(s) => slots[s].as_ref(),
                };
                let t = t.ok_or_else(|| Error::Backend(format!("output '{}' was never computed", o.name)))?;
                self.backend.download(t)
            })
            .collect()
    }

    fn resolve<'s>(&'s self, slots: &'s [Option<B::Tensor>], r: ValueRef, step: &Step) -> Result<&'s B::Tensor> {
        match r {
            ValueRef::Const(c) => Ok(&self.constants[c]),
            ValueRef::Slot(s) => slots[s]
                .as_ref()
                .ok_or_else(|| Error::node(&step.node, step.op.name(), "an input was freed before use")),
        }
    }
}

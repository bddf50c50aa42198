//! Running a plan: a backend executes steps in order over numbered slots, dropping each
//! intermediate right after its last reader and handing back each buffer no later step reads.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use candle_core::{DType, Tensor};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::plan::{Plan, Step, ValueRef};

/// A plan with its constants resident on a backend, ready to run many times.
pub struct Session<B: Backend> {
    plan: Plan,
    backend: B,
    constants: Vec<B::Tensor>,
    state: B::State,
}

impl<B: Backend> Session<B> {
    /// Prepares `plan` on `backend`. The session takes the plan's constants (its `plan()` holds
    /// none), so weights the backend lays out anew are not also kept in their ONNX form.
    pub fn new(mut plan: Plan, backend: B) -> Result<Self> {
        let host = std::mem::take(&mut plan.constants);
        let (constants, state) = backend.prepare(&plan, host)?;
        Ok(Session { plan, backend, constants, state })
    }

    /// The plan, less its constants, which the backend holds.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Each step's kernel as the backend names it, for profiles ("Conv 3x3 winograd", "Mul").
    pub fn step_labels(&self) -> Vec<String> {
        self.plan.steps.iter().enumerate().map(|(i, step)| self.backend.label(i, step, &self.state)).collect()
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Runs with the plan's inputs in order; returns the plan's outputs in order.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        self.run_with(inputs, &mut |_, _| true)
    }

    /// As `run`, calling `progress(done, total)` after every step; returning false cancels.
    /// For backends whose results are ready without an event loop: the CPU, and the GPU natively
    /// (where the readback blocks). In a browser the GPU needs `run_async`.
    pub fn run_with(&self, inputs: &[Tensor], progress: &mut dyn FnMut(usize, usize) -> bool) -> Result<Vec<Tensor>> {
        let run = pin!(self.run_async(inputs, progress));
        match run.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(Error::Backend(format!(
                "{} returns results asynchronously: run it with run_async",
                self.backend.name()
            ))),
        }
    }

    /// Runs the plan, calling `progress(done, total)` after every step (returning false cancels),
    /// and resolves once the outputs are on the host. A backend that records the steps (the GPU)
    /// reports progress as it records them, and does the work while this awaits the readback.
    pub async fn run_async(
        &self,
        inputs: &[Tensor],
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Vec<Tensor>> {
        if inputs.len() != self.plan.inputs.len() {
            return Err(Error::Input(format!("expected {} inputs, got {}", self.plan.inputs.len(), inputs.len())));
        }
        let mut slots: Vec<Option<B::Tensor>> = (0..self.plan.slots).map(|_| None).collect();
        self.backend.begin_run(&self.state);
        for (index, (spec, tensor)) in self.plan.inputs.iter().zip(inputs).enumerate() {
            if tensor.dims() != spec.shape.as_slice() {
                return Err(Error::Input(format!(
                    "input '{}' has shape {:?}, the plan was made for {:?}",
                    spec.name,
                    tensor.dims(),
                    spec.shape
                )));
            }
            let tensor = tensor.to_dtype(DType::F32)?;
            slots[spec.slot] = Some(self.backend.upload(index, &tensor, &self.state)?);
        }
        let total = self.plan.steps.len();
        for (index, step) in self.plan.steps.iter().enumerate() {
            let args =
                step.inputs.iter().map(|r| self.resolve(&slots, *r, step)).collect::<Result<Vec<&B::Tensor>>>()?;
            let out = self.backend.execute(index, step, &args, &self.state)?;
            slots[step.output] = Some(out);
            for &slot in &step.free {
                slots[slot] = None;
            }
            for &(slot, buffer) in &step.recycle {
                if let Some(tensor) = slots[slot].take() {
                    self.backend.recycle(tensor, buffer, &self.state);
                }
            }
            if !progress(index + 1, total) {
                return Err(Error::Cancelled);
            }
        }
        let outputs = self
            .plan
            .outputs
            .iter()
            .map(|o| {
                let t = match o.value {
                    ValueRef::Const(c) => Some(&self.constants[c]),
                    ValueRef::Slot(s) => slots[s].as_ref(),
                };
                t.ok_or_else(|| Error::Backend(format!("output '{}' was never computed", o.name)))
            })
            .collect::<Result<Vec<&B::Tensor>>>()?;
        self.backend.download(&outputs, &self.state).await
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

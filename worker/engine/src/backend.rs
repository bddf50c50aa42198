//! What a device must provide to run plans: the one interface between the session and the
//! CPU backend (and any other). The plan is the same for every backend; each prepares its own
//! form of it once per session.

use std::future::Future;

use candle_core::Tensor;

use crate::error::Result;
use crate::plan::{Plan, Step};

pub trait Backend {
    type Tensor;
    /// What a session keeps on the backend across steps and runs besides the constants: the
    /// activation buffers, and whatever the backend prepared per step.
    type State;

    /// Names the backend as users see it, e.g. "cpu (4 threads)".
    fn name(&self) -> String;
    /// Called once per session, before any run, with the plan's constants taken out of it (host
    /// tensors, in ONNX's layouts): returns them resident on the backend, each as its kernels read
    /// it (the CPU packs conv weights here), and the state `execute` needs, such as the plan's
    /// activation buffers (`Plan::buffers`). A constant that is a plan output must stay as it is.
    fn prepare(&self, plan: &Plan, constants: Vec<Tensor>) -> Result<(Vec<Self::Tensor>, Self::State)>;
    /// Called at the start of every run, before the inputs are uploaded: a backend that records
    /// the run (the GPU) starts afresh here, dropping what a cancelled run left.
    fn begin_run(&self, _state: &Self::State) {}
    /// Puts the host tensor for the plan's input `index` where the steps read it.
    fn upload(&self, index: usize, host: &Tensor, state: &Self::State) -> Result<Self::Tensor>;
    /// Runs step `index` of the plan (a backend may only record it, to run at `download`).
    fn execute(&self, index: usize, step: &Step, inputs: &[&Self::Tensor], state: &Self::State)
    -> Result<Self::Tensor>;
    /// Brings the run's outputs to the host, once per run after the last step. A future, because
    /// a GPU's results arrive only when the browser's event loop turns; the CPU's is ready at once.
    fn download(&self, tensors: &[&Self::Tensor], state: &Self::State) -> impl Future<Output = Result<Vec<Tensor>>>;
    /// Takes back a tensor whose buffer, `buffer` of the plan's, no later step reads (`Step::recycle`).
    fn recycle(&self, tensor: Self::Tensor, buffer: usize, state: &Self::State);
    /// Names step `index`'s kernel for profiles, e.g. "Conv 3x3 winograd"; by default the op's label.
    fn label(&self, _index: usize, step: &Step, _state: &Self::State) -> String {
        step.op.label()
    }
}

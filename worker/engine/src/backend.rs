//! What a device must provide to run plans: the one interface between the session and the
//! CPU backend (and any other). The plan is the same for every backend; each prepares its own
//! form of it once per session.

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
    fn upload(&self, host: &Tensor) -> Result<Self::Tensor>;
    fn download(&self, tensor: &Self::Tensor) -> Result<Tensor>;
    /// Called once per session, before any run, with the plan's constants taken out of it (host
    /// tensors, in ONNX's layouts): returns them resident on the backend, each as its kernels read
    /// it (the CPU packs conv weights here), and the state `execute` needs, such as the plan's
    /// activation buffers (`Plan::buffers`). A constant that is a plan output must stay as it is.
    fn prepare(&self, plan: &Plan, constants: Vec<Tensor>) -> Result<(Vec<Self::Tensor>, Self::State)>;
    /// Runs step `index` of the plan.
    fn execute(&self, index: usize, step: &Step, inputs: &[&Self::Tensor], state: &Self::State)
    -> Result<Self::Tensor>;
    /// Takes back a tensor whose buffer, `buffer` of the plan's, no later step reads (`Step::recycle`).
    fn recycle(&self, tensor: Self::Tensor, buffer: usize, state: &Self::State);
    /// Names step `index`'s kernel for profiles, e.g. "Conv 3x3 winograd"; by default the op's label.
    fn label(&self, _index: usize, step: &Step, _state: &Self::State) -> String {
        step.op.label()
    }
}

//! What a device must provide to run plans: the one interface between the session and the
//! CPU backend (and any other).

use candle_core::Tensor;

use crate::error::Result;
use crate::plan::{Plan, Step};

/// What a device must provide to run plans. The plan is the same for every backend.
pub trait Backend {
    type Tensor;
    /// The memory a session keeps across steps and runs for `execute` to write into.
    type Buffers;

    /// Names the backend as users see it, e.g. "cpu (4 threads)".
    fn name(&self) -> String;
    fn upload(&self, host: &Tensor) -> Result<Self::Tensor>;
    fn download(&self, tensor: &Self::Tensor) -> Result<Tensor>;
    /// The plan's activation buffers (`Plan::buffers`), before any run.
    fn buffers(&self, plan: &Plan) -> Self::Buffers;
    fn execute(&self, step: &Step, inputs: &[&Self::Tensor], buffers: &Self::Buffers) -> Result<Self::Tensor>;
    /// Takes back a tensor whose buffer, `buffer` of the plan's, no later step reads (`Step::recycle`).
    fn recycle(&self, tensor: Self::Tensor, buffer: usize, buffers: &Self::Buffers);
}

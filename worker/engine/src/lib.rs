//! Lantern's engine: loads ONNX models, plans them for an input size, and runs the plan on a
//! backend. It knows nothing of tools or browsers; the same code runs natively and in wasm.
//!
//! ```no_run
//! use lantern_engine::{CpuBackend, Model, Session};
//! # fn main() -> lantern_engine::Result<()> {
//! let model = Model::from_bytes(&std::fs::read("u2netp.onnx").unwrap())?;
//! let plan = model.plan(&[("input.1", &[1, 3, 320, 320])], None)?;
//! let session = Session::new(plan, CpuBackend)?;
//! # Ok(()) }
//! ```

mod backend;
pub mod cpu;
mod error;
pub mod gpu;
mod lifetimes;
mod model;
pub mod ops;
mod plan;
mod planner;
mod rewrite;
mod session;

pub use backend::Backend;
pub use candle_core::{DType, Device, Tensor};
pub use cpu::CpuBackend;
pub use error::{Error, Result};
pub use gpu::{GpuBackend, GpuOptions};
pub use model::{Dim, Model, ValueInfo};
pub use plan::{Plan, PlanInput, PlanOutput, Step, ValueRef, element_count};
pub use session::Session;

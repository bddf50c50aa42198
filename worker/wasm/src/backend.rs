//! Which backend a tool runs on: the CPU (this build's thread pool or its one thread), or the GPU
//! that `openGpu` opened and checked. Each tool holds its networks built for one of the two.

use std::cell::RefCell;

use lantern_engine::{CpuBackend, GpuBackend, GpuOptions};
use lantern_tools::ToolError;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

thread_local! {
    /// The GPU `openGpu` opened. wgpu's objects are not `Send` in the threaded build, so it lives
    /// on the engine worker's own thread, where every export runs; rayon's threads never see it.
    static GPU: RefCell<Option<GpuBackend>> = const { RefCell::new(None) };
}

/// `OpenGpuOptions` in site/worker.js.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenGpuOptions {
    /// Accept a software adapter (SwiftShader), which the CPU backend outruns; for tests and for
    /// people who ask for it.
    allow_software: bool,
}

/// The GPU that `openGpu` opened.
#[wasm_bindgen(getter_with_clone)]
pub struct OpenedGpu {
    /// The adapter as wgpu names it, e.g. "NVIDIA H100 (Vulkan)"; browsers may hide the name,
    /// which then reads "unnamed adapter (BrowserWebGpu)".
    pub adapter: String,
}

/// Opens the best GPU adapter and checks it computes what the CPU does (a broken driver gives
/// garbage, not errors); tools built with `{ backend: "gpu" }` run on it from then on. Fails,
/// saying why, where there is no adapter, only a software one (unless allowed), or the check fails.
#[wasm_bindgen(js_name = openGpu)]
pub async fn open_gpu(options: JsValue) -> Result<OpenedGpu, JsError> {
    let OpenGpuOptions { allow_software } = crate::options(options)?;
    let gpu = GpuBackend::new(GpuOptions { allow_software, wait_per_step: false }).await?;
    gpu.self_test().await?;
    let adapter = gpu.adapter().to_string();
    GPU.with(|slot| *slot.borrow_mut() = Some(gpu));
    Ok(OpenedGpu { adapter })
}

/// `BackendChoice` in site/worker.js: which backend a tool is built for.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BackendChoice {
    backend: BackendName,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum BackendName {
    Cpu,
    Gpu,
}

/// One value for either backend: a backend itself, or a tool or session built on one.
#[derive(Clone)]
pub enum OnBackend<C, G> {
    Cpu(C),
    Gpu(G),
}

/// The backend a `BackendChoice` object from the worker names.
pub fn chosen(choice: JsValue) -> Result<OnBackend<CpuBackend, GpuBackend>, JsError> {
    let BackendChoice { backend } = crate::options(choice)?;
    match backend {
        BackendName::Cpu => Ok(OnBackend::Cpu(CpuBackend)),
        BackendName::Gpu => GPU
            .with(|slot| slot.borrow().clone())
            .map(OnBackend::Gpu)
            .ok_or_else(|| JsError::new("no GPU is open: call openGpu first")),
    }
}

impl<C, G> OnBackend<C, G> {
    /// Which side this is, without what it holds: for naming errors after the value has moved.
    pub fn side(&self) -> OnBackend<(), ()> {
        match self {
            OnBackend::Cpu(_) => OnBackend::Cpu(()),
            OnBackend::Gpu(_) => OnBackend::Gpu(()),
        }
    }

    /// A tool's failure as the worker reads it. An engine failure on the GPU (a lost device, work
    /// it rejected, memory it lacks, a tensor over its limits) is a JS Error named "GpuError": the
    /// same job can still run on the CPU. Anything else (a damaged file, a cancel) would fail there too.
    pub fn error(&self, error: ToolError) -> JsValue {
        match (self, &error) {
            (OnBackend::Gpu(_), ToolError::Engine(reason)) => {
                let js = js_sys::Error::new(&reason.to_string());
                js.set_name("GpuError");
                js.into()
            }
            _ => JsError::new(&error.to_string()).into(),
        }
    }
}

/// Builds `$make` with `$backend` bound to the chosen backend (an `OnBackend<CpuBackend,
/// GpuBackend>`), and wraps the result on the same side: the two arms differ in type only.
macro_rules! build_on {
    ($choice:expr, $backend:ident => $make:expr) => {
        match $choice {
            $crate::backend::OnBackend::Cpu($backend) => $crate::backend::OnBackend::Cpu($make),
            $crate::backend::OnBackend::Gpu($backend) => $crate::backend::OnBackend::Gpu($make),
        }
    };
}

/// Evaluates `$body` with `$tool` bound to whichever side `$value` holds.
macro_rules! on_backend {
    ($value:expr, $tool:ident => $body:expr) => {
        match $value {
            $crate::backend::OnBackend::Cpu($tool) => $body,
            $crate::backend::OnBackend::Gpu($tool) => $body,
        }
    };
}

pub(crate) use {build_on, on_backend};

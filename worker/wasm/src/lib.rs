//! Lantern's engine in the browser: a `ModelRunner` holds one model, is planned for an input
//! size and runs on the CPU backend, spread over a pool of Web Workers in the threaded build, or
//! on the GPU through WebGPU once `openGpu` has opened one. The tools are built the same way.
//!
//! ```js
//! import init, { initThreadPool, openGpu, ModelRunner } from "./lantern_wasm.js";
//! await init();
//! await initThreadPool(navigator.hardwareConcurrency); // threaded build only
//! await openGpu({ allowSoftware: false }); // for { backend: "gpu" } below; rejects without a usable GPU
//! const bytes = new Uint8Array(await (await fetch("u2netp.onnx")).arrayBuffer());
//! const runner = new ModelRunner(bytes, { backend: "gpu" });
//! runner.plan(["input.1"], [[1, 3, 320, 320]]);
//! const [mask] = await runner.run(["input.1"], [pixels]);
//! ```

// Out of memory must reach the panic hook (`start`): only there is it told from a pool thread.
#![feature(alloc_error_hook)]

mod backend;
mod cartoonify;
mod image_to_text;
mod remove_background;
mod tesseract;

use std::sync::OnceLock;

use js_sys::{Array, Float32Array, Function, Object, Reflect, Uint32Array};
use lantern_engine::{CpuBackend, DType, Device, GpuBackend, Model, Session, Tensor};
use lantern_models::{Postprocess, Preprocess};
use lantern_tools::encode::ImageFormat;
use lantern_tools::image_to_text::NetworkSpec;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use backend::{OnBackend, build_on, on_backend};
pub use backend::{OpenedGpu, open_gpu};
pub use cartoonify::Cartoonify;
pub use image_to_text::{ImageToText, Network, TextResult};
pub use remove_background::RemoveBackground;
pub use tesseract::{LineReader, LineReading};
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

/// The BroadcastChannel a panic is told on, once the page has named one (`reportPanicsTo`).
static PANIC_CHANNEL: OnceLock<String> = OnceLock::new();
/// The first panic's message and place: the instance is replaced after it, so one is enough.
static PANIC: OnceLock<String> = OnceLock::new();

/// Panics print their message to the console instead of a bare "unreachable" trap, and are told
/// to the page. A panic aborts its thread: on a pool thread, the job waiting for that thread's
/// work would wait forever, and nothing on this worker's own thread can notice (it is the one
/// waiting). The page ends the job with the message and starts a new worker. Running out of
/// memory would abort without a word, so it is made a panic too.
#[wasm_bindgen(start)]
fn start() {
    std::alloc::set_alloc_error_hook(|layout| {
        panic!("out of memory: {} MB more were needed beside the {} MB in use", layout.size() >> 20, memory_mb())
    });
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let message = info.payload_as_str().unwrap_or("a panic");
        let said = match info.location() {
            Some(at) => format!("{message}, at {}:{}", at.file(), at.line()),
            None => message.to_string(),
        };
        let said = PANIC.get_or_init(|| said);
        if let Some(name) = PANIC_CHANNEL.get()
            && let Ok(channel) = web_sys::BroadcastChannel::new(name)
        {
            let _ = channel.post_message(&JsValue::from_str(said));
            channel.close();
        }
    }));
}

/// What the first panic said, and where: for the worker, once a call has trapped.
#[wasm_bindgen(js_name = panicMessage)]
pub fn panic_message() -> Option<String> {
    PANIC.get().cloned()
}

/// Names the page's BroadcastChannel for panics on any of this engine's threads; the first name
/// given holds.
#[wasm_bindgen(js_name = reportPanicsTo)]
pub fn report_panics_to(channel: String) {
    let _ = PANIC_CHANNEL.set(channel);
}

/// Panics, on a thread of the pool in the threaded build: for the tests that check a panic ends
/// its job with an error and the jobs after it still run. The page never calls it.
#[wasm_bindgen(js_name = debugPanic)]
pub fn debug_panic() {
    #[cfg(feature = "threads")]
    rayon::scope(|scope| scope.spawn(|_| panic!("a panic provoked on a pool thread, for a test")));
    panic!("a panic provoked for a test");
}

/// Runs out of memory, on a thread of the pool in the threaded build: for the test that checks a
/// job that exhausts the engine's memory fails alone. The page never calls it.
#[wasm_bindgen(js_name = debugOutOfMemory)]
pub fn debug_out_of_memory() {
    fn hoard() {
        let mut held: Vec<Vec<u8>> = Vec::new();
        loop {
            // Reserved, never written: memory grows to its limit without filling gigabytes.
            held.push(Vec::with_capacity(256 << 20));
            std::hint::black_box(&held);
        }
    }
    #[cfg(feature = "threads")]
    rayon::scope(|scope| scope.spawn(|_| hoard()));
    hoard();
}

/// The engine's wasm memory, in MB.
fn memory_mb() -> usize {
    #[cfg(target_arch = "wasm32")]
    return (core::arch::wasm32::memory_size::<0>() * 65536) >> 20;
    #[cfg(not(target_arch = "wasm32"))]
    0
}

/// How this build runs the engine on the CPU: "threads: N" on the worker pool, or
/// "single-thread", then ", relaxed SIMD" for the builds whose kernels use it.
#[wasm_bindgen]
pub fn backend() -> String {
    let threads = if cfg!(feature = "threads") {
        format!("threads: {}", rayon::current_num_threads())
    } else {
        "single-thread".to_string()
    };
    if cfg!(feature = "relaxed-simd") { format!("{threads}, relaxed SIMD") } else { threads }
}

/// One loaded model and, once planned, a session ready to run it at the planned input size.
#[wasm_bindgen]
pub struct ModelRunner {
    model: Model,
    backend: OnBackend<CpuBackend, GpuBackend>,
    session: Option<OnBackend<Session<CpuBackend>, Session<GpuBackend>>>,
}

#[wasm_bindgen]
impl ModelRunner {
    /// Reads an ONNX model from its bytes, to run on the backend a `BackendChoice`
    /// (site/worker.js) names.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8], backend: JsValue) -> Result<ModelRunner, JsError> {
        Ok(ModelRunner { model: Model::from_bytes(bytes)?, backend: backend::chosen(backend)?, session: None })
    }

    /// The model's input names, in the model's order.
    #[wasm_bindgen(getter, js_name = inputNames)]
    pub fn input_names(&self) -> Vec<String> {
        self.model.inputs.iter().map(|input| input.name.clone()).collect()
    }

    /// The model's output names, in the model's order.
    #[wasm_bindgen(getter, js_name = outputNames)]
    pub fn output_names(&self) -> Vec<String> {
        self.model.outputs.clone()
    }

    /// Plans for one shape per named input; `outputs` picks what `run` returns (all when omitted).
    /// Replaces any earlier plan.
    pub fn plan(
        &mut self,
        names: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "ArrayLike<number>[]")] shapes: Vec<JsValue>,
        outputs: Option<Vec<String>>,
    ) -> Result<(), JsError> {
        if names.len() != shapes.len() {
            return Err(JsError::new(&format!("{} input names but {} shapes", names.len(), shapes.len())));
        }
        let shapes: Vec<Vec<usize>> = shapes
            .iter()
            .map(|shape| Uint32Array::new(shape).to_vec().into_iter().map(|d| d as usize).collect())
            .collect();
        let input_shapes: Vec<(&str, &[usize])> =
            names.iter().map(String::as_str).zip(shapes.iter().map(Vec::as_slice)).collect();
        let outputs: Option<Vec<&str>> = outputs.as_ref().map(|names| names.iter().map(String::as_str).collect());
        // Drop the old session first, so its folded weights are freed before the new plan folds its own.
        self.session = None;
        let plan = self.model.plan(&input_shapes, outputs.as_deref())?;
        self.session = Some(build_on!(self.backend.clone(), backend => Session::new(plan, backend)?));
        Ok(())
    }

    /// Each step's op, labelled as profiles tell kernels apart, in the order `run` reports them to `progress`.
    #[wasm_bindgen(getter, js_name = stepOps)]
    pub fn step_ops(&self) -> Vec<String> {
        self.session.as_ref().map_or_else(Vec::new, |session| on_backend!(session, s => s.step_labels()))
    }

    /// Runs the plan on one array per named input (row-major, the planned shape) and returns
    /// the planned outputs in order; `progress(done, total)`, if given, is called after every
    /// step (a falsy return cancels). On the GPU, steps are reported as they are recorded, and
    /// the promise resolves once the outputs are read back.
    #[wasm_bindgen(unchecked_return_type = "{ name: string, shape: number[], data: Float32Array }[]")]
    pub async fn run(
        &self,
        names: Vec<String>,
        data: Vec<Float32Array>,
        progress: Option<Function>,
    ) -> Result<Array, JsError> {
        let session = self.session.as_ref().ok_or_else(|| JsError::new("run called before plan"))?;
        let plan = on_backend!(session, s => s.plan());
        if names.len() != data.len() {
            return Err(JsError::new(&format!("{} input names but {} arrays", names.len(), data.len())));
        }
        let inputs = plan
            .inputs
            .iter()
            .map(|input| {
                let index = names
                    .iter()
                    .position(|name| *name == input.name)
                    .ok_or_else(|| JsError::new(&format!("no data given for input '{}'", input.name)))?;
                let values = data[index].to_vec();
                let expected: usize = input.shape.iter().product();
                if values.len() != expected {
                    return Err(JsError::new(&format!(
                        "input '{}' has {} values; its planned shape {:?} holds {expected}",
                        input.name,
                        values.len(),
                        input.shape
                    )));
                }
                Ok(Tensor::from_vec(values, input.shape.as_slice(), &Device::Cpu)?)
            })
            .collect::<Result<Vec<Tensor>, JsError>>()?;
        let mut report: Box<dyn FnMut(usize, usize) -> bool> = match &progress {
            Some(progress) => Box::new(js_progress(progress)),
            None => Box::new(|_, _| true),
        };
        let results = on_backend!(session, s => s.run_async(&inputs, &mut report).await)?;
        let outputs = Array::new();
        for (output, tensor) in plan.outputs.iter().zip(results) {
            let values = tensor.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
            let entry = Object::new();
            set(&entry, "name", &JsValue::from_str(&output.name));
            set(&entry, "shape", &output.shape.iter().map(|&d| JsValue::from(d)).collect::<Array>());
            set(&entry, "data", &Float32Array::from(values.as_slice()));
            outputs.push(&entry);
        }
        Ok(outputs)
    }
}

/// An encoded result image, its size in pixels, and what the person should know about the input
/// (`input::warning`: a JPEG cut short).
#[wasm_bindgen(getter_with_clone)]
pub struct ProcessedImage {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub warning: Option<String>,
}

/// The person's image file as pixels. One the engine cannot take rejects as a JS Error named
/// "ImageTooLarge" (over the size limits) or "ImageUnreadable" (anything else), worded for the
/// person: the worker tells the page which (site/protocol.js, ErrorMessage `input`).
fn decode_photo(image: &[u8]) -> Result<lantern_tools::input::RgbaImage, JsValue> {
    lantern_tools::input::decode(image).map_err(|error| {
        let js = js_sys::Error::new(&error.to_string());
        js.set_name(match error {
            lantern_tools::input::InputError::TooLarge { .. } => "ImageTooLarge",
            _ => "ImageUnreadable",
        });
        js.into()
    })
}

/// The warning for an image file that decoded, worded for the person.
fn input_warning(image: &[u8]) -> Option<String> {
    lantern_tools::input::warning(image).map(|w| w.to_string())
}

/// A tool's options object from the page (the typedefs in site/protocol.js), read into its Rust
/// struct: a mistyped field, or a missing one that has no default below, is an error naming it.
fn options<T: serde::de::DeserializeOwned>(value: JsValue) -> Result<T, JsError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| JsError::new(&format!("invalid options: {e}")))
}

/// The fields of an image tool's options that choose its encoding (`output`, `background`,
/// `quality` in site/protocol.js); the defaults are the page's.
#[derive(Deserialize)]
struct Encoding {
    output: String,
    #[serde(default = "Encoding::white")]
    background: String,
    #[serde(default = "Encoding::quality")]
    quality: u8,
}

impl Encoding {
    fn white() -> String {
        "#ffffff".into()
    }

    fn quality() -> u8 {
        90
    }

    fn format(&self) -> Result<ImageFormat, JsError> {
        image_format(&self.output, &self.background, self.quality)
    }
}

/// "png", "webp" or "jpeg" (flattened onto `background`, "#rrggbb").
fn image_format(format: &str, background: &str, quality: u8) -> Result<ImageFormat, JsError> {
    match format {
        "png" => Ok(ImageFormat::Png),
        "webp" => Ok(ImageFormat::WebP),
        "jpeg" => Ok(ImageFormat::Jpeg { background: parse_colour(background)?, quality }),
        other => Err(JsError::new(&format!("unknown output format '{other}'"))),
    }
}

fn parse_colour(hex: &str) -> Result<[u8; 3], JsError> {
    let digits = hex.strip_prefix('#').filter(|d| d.len() == 6 && d.chars().all(|c| c.is_ascii_hexdigit()));
    let digits = digits.ok_or_else(|| JsError::new(&format!("'{hex}' is not a #rrggbb colour")))?;
    Ok(std::array::from_fn(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).expect("checked hex digits")))
}

/// The fields of a models/index.json entry the tools read.
#[derive(Deserialize)]
struct IndexEntry {
    preprocess: Preprocess,
    postprocess: Postprocess,
}

impl IndexEntry {
    fn parse(json: &str) -> Result<IndexEntry, JsError> {
        serde_json::from_str(json).map_err(|e| JsError::new(&format!("bad model entry: {e}")))
    }

    fn spec<'a>(&'a self, onnx: &'a [u8]) -> NetworkSpec<'a> {
        NetworkSpec { onnx, preprocess: &self.preprocess, postprocess: &self.postprocess }
    }
}

/// A tool's progress callback as a JS `progress(done, total)`; a falsy return cancels.
fn js_progress(progress: &Function) -> impl FnMut(usize, usize) -> bool + '_ {
    |done, total| {
        progress.call2(&JsValue::NULL, &(done as u32).into(), &(total as u32).into()).map_or(true, |v| v.is_truthy())
    }
}

/// Sets a property on a plain object we just made, which cannot refuse it.
fn set(target: &Object, key: &str, value: &JsValue) {
    Reflect::set(target, &JsValue::from_str(key), value).unwrap_throw();
}

//! The GPU backend: the plan's steps as WGSL compute kernels through `wgpu`, on WebGPU in the
//! browser and on Vulkan natively (lavapipe in the tests, a real GPU elsewhere).
//!
//! Everything a run touches is made once per session in `prepare`: one buffer per constant and
//! per plan input, the activation buffers of the backend's own layout (`memory`, which writes
//! concatenations in place), every kernel's parameters in a uniform buffer, and one bind group
//! per dispatch. A run then only records the dispatches into one
//! compute pass, copies the outputs into one staging buffer and awaits one readback: the browser
//! maps buffers only when its event loop turns, so a run can wait for the GPU once, at its end.
//!
//! wgpu's objects are not `Send` in the threaded wasm build; they live on the engine worker's
//! thread and never enter a rayon closure (no kernel here uses rayon).

mod conv;
mod elementwise;
mod kernels;
mod layout;
mod lower;
mod memory;
mod reduce;
mod resample;
mod self_test;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Tensor};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::plan::{Plan, Step, ValueRef};
use kernels::Kernels;
use lower::{Dispatch, Lowering};
use memory::Home;

/// How to pick the adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuOptions {
    /// Accept a software adapter (SwiftShader in Chromium, lavapipe natively): right for tests,
    /// where it is the only one, and wrong for people, whose CPU backend is faster than either.
    pub allow_software: bool,
    /// Natively only: submit every step on its own and wait for it, so that a run's progress
    /// callbacks time each step (profiles). Many times slower; never for real runs.
    pub wait_per_step: bool,
}

/// Runs plans on a GPU. Clones share the device and the compiled kernels.
#[derive(Debug, Clone)]
pub struct GpuBackend {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: String,
    kernels: std::rc::Rc<Kernels>,
    wait_per_step: bool,
    /// The first error the GPU raised outside a run's error scopes (a kernel that failed to
    /// compile, a bind group it refused while a session was prepared), or its loss (a driver
    /// crash, the browser's GPU process gone), worded for a person: the next run fails with it.
    uncaptured: Arc<Mutex<Option<String>>>,
}

impl GpuBackend {
    /// Opens the best adapter with its own limits (bindings up to what it allows, not WebGPU's
    /// 128 MiB default), or says why there is none.
    pub async fn new(options: GpuOptions) -> Result<GpuBackend> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Backend(format!("no GPU adapter: {e}")))?;
        let info = adapter.get_info();
        if options.wait_per_step && cfg!(target_arch = "wasm32") {
            return Err(Error::Backend("a browser cannot wait for each step: time steps natively".into()));
        }
        if info.device_type == wgpu::DeviceType::Cpu && !options.allow_software {
            return Err(Error::Backend(format!("the only GPU adapter is a software one ({})", describe(&info))));
        }
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("lantern"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Backend(format!("the GPU refused a device: {e}")))?;
        let kernels = std::rc::Rc::new(Kernels::new());
        let uncaptured = Arc::new(Mutex::new(None));
        let first = uncaptured.clone();
        // wgpu's default handler panics, which in a browser would end the worker mid-job.
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            first
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(|| format!("the GPU rejected the work: {error}"));
        }));
        // A lost device does nothing and raises no error: work on it just never completes.
        let lost = uncaptured.clone();
        device.set_device_lost_callback(move |reason, message| {
            lost.lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(|| format!("the GPU was lost ({reason:?}): {message}"));
        });
        let wait_per_step = options.wait_per_step;
        Ok(GpuBackend { device, queue, adapter: describe(&info), kernels, wait_per_step, uncaptured })
    }

    /// As `new`, blocking until the adapter answers: natively only.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking(options: GpuOptions) -> Result<GpuBackend> {
        pollster::block_on(GpuBackend::new(options))
    }

    /// The adapter, as the page shows it: "NVIDIA H100 (Vulkan)".
    pub fn adapter(&self) -> &str {
        &self.adapter
    }
}

fn describe(info: &wgpu::AdapterInfo) -> String {
    let name = if info.name.is_empty() { "unnamed adapter" } else { info.name.as_str() };
    format!("{name} ({:?})", info.backend)
}

/// A tensor on the GPU: `shape`'s elements, f32, from float `offset` of session buffer `buffer`.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuTensor {
    buffer: usize,
    offset: usize,
    shape: Vec<usize>,
}

impl GpuTensor {
    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
}

/// A session on the GPU: its buffers, where each plan input and step output lives, and each
/// step's dispatches, ready to record.
pub struct GpuState {
    buffers: Vec<wgpu::Buffer>,
    inputs: Vec<GpuTensor>,
    steps: Vec<PreparedStep>,
    run: RefCell<Option<Recording>>,
}

impl std::fmt::Debug for GpuState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuState").field("buffers", &self.buffers.len()).field("steps", &self.steps.len()).finish()
    }
}

struct PreparedStep {
    dispatches: Vec<Dispatch>,
    output: GpuTensor,
    /// The kernel, for profiles.
    label: String,
}

/// A run being recorded: the pass its dispatches go into, and the error scope that catches what
/// the GPU rejects (validation, memory) so the run fails with the reason instead of a wrong result.
struct Recording {
    pass: wgpu::ComputePass<'static>,
    encoder: wgpu::CommandEncoder,
    /// Out-of-memory, then validation: dropped (when a run is cancelled) in the reverse of the
    /// order they were pushed, as error scopes must be popped.
    errors: [wgpu::ErrorScopeGuard; 2],
}

impl GpuBackend {
    /// A command encoder with a compute pass open on it, for a run's dispatches.
    fn new_pass(&self) -> (wgpu::CommandEncoder, wgpu::ComputePass<'static>) {
        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("run") });
        let pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default()).forget_lifetime();
        (encoder, pass)
    }

    /// Submits what `recording` holds, waits for the GPU to finish it, and goes on recording into
    /// a new pass: one step at a time, for `GpuOptions::wait_per_step`.
    fn finish_step(&self, recording: &mut Recording) -> Result<()> {
        let (encoder, pass) = self.new_pass();
        drop(std::mem::replace(&mut recording.pass, pass));
        let done = std::mem::replace(&mut recording.encoder, encoder);
        self.queue.submit([done.finish()]);
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Backend(format!("the GPU did not finish: {e}")))?;
        Ok(())
    }
}

impl Backend for GpuBackend {
    type Tensor = GpuTensor;
    type State = GpuState;

    fn name(&self) -> String {
        format!("WebGPU: {}", self.adapter)
    }

    fn prepare(&self, plan: &Plan, constants_host: Vec<Tensor>) -> Result<(Vec<GpuTensor>, GpuState)> {
        let limits = self.device.limits();
        let mut cx = Lowering::new(&self.device, &self.queue, &self.kernels, limits);
        let constants = constants_host
            .iter()
            .map(|c| {
                let values = c.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
                let buffer = cx.buffer_with(&values, "constant")?;
                Ok(GpuTensor { buffer, offset: 0, shape: c.dims().to_vec() })
            })
            .collect::<Result<Vec<_>>>()?;
        let inputs = plan
            .inputs
            .iter()
            .map(|input| {
                let buffer = cx.buffer(input.shape.iter().product(), "input")?;
                Ok(GpuTensor { buffer, offset: 0, shape: input.shape.clone() })
            })
            .collect::<Result<Vec<_>>>()?;
        let layout = memory::layout(plan, &constants_host)?;
        let activation_buffers =
            layout.buffers.iter().map(|&floats| cx.buffer(floats, "activations")).collect::<Result<Vec<_>>>()?;

        let mut slots: Vec<Option<GpuTensor>> = vec![None; plan.slots];
        for (input, tensor) in plan.inputs.iter().zip(&inputs) {
            slots[input.slot] = Some(tensor.clone());
        }
        let mut steps = Vec::with_capacity(plan.steps.len());
        for (index, step) in plan.steps.iter().enumerate() {
            let args = step
                .inputs
                .iter()
                .map(|r| match *r {
                    ValueRef::Const(c) => Ok(constants[c].clone()),
                    ValueRef::Slot(s) => slots[s].clone().ok_or_else(|| {
                        Error::node(&step.node, step.op.name(), "an input is computed after its reader")
                    }),
                })
                .collect::<Result<Vec<_>>>()?;
            let home = match layout.homes[index] {
                Home::Buffer { buffer, offset } => Home::Buffer { buffer: activation_buffers[buffer], offset },
                Home::View => Home::View,
            };
            let prepared = lower::lower(&mut cx, step, &args, home).map_err(|e| match e {
                Error::Backend(reason) => Error::node(&step.node, step.op.name(), reason),
                other => other,
            })?;
            slots[step.output] = Some(prepared.output.clone());
            steps.push(prepared);
        }
        let buffers = cx.finish();
        Ok((constants, GpuState { buffers, inputs, steps, run: RefCell::new(None) }))
    }

    fn begin_run(&self, state: &GpuState) {
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let errors = [self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory), validation];
        let (encoder, pass) = self.new_pass();
        // A recording left by a cancelled run is dropped here, never submitted.
        *state.run.borrow_mut() = Some(Recording { pass, encoder, errors });
    }

    fn upload(&self, index: usize, host: &Tensor, state: &GpuState) -> Result<GpuTensor> {
        let tensor = &state.inputs[index];
        let values = host.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        self.queue.write_buffer(&state.buffers[tensor.buffer], 0, bytemuck::cast_slice(&values));
        Ok(tensor.clone())
    }

    fn execute(&self, index: usize, step: &Step, _inputs: &[&GpuTensor], state: &GpuState) -> Result<GpuTensor> {
        let prepared = &state.steps[index];
        let mut run = state.run.borrow_mut();
        let recording = run.as_mut().ok_or_else(|| {
            Error::node(&step.node, step.op.name(), "a step ran outside a run (begin_run not called)")
        })?;
        for dispatch in &prepared.dispatches {
            recording.pass.set_pipeline(&dispatch.pipeline);
            recording.pass.set_bind_group(0, &dispatch.bind_group, &[]);
            let [x, y, z] = dispatch.workgroups;
            recording.pass.dispatch_workgroups(x, y, z);
        }
        if self.wait_per_step {
            self.finish_step(recording)?;
        }
        Ok(prepared.output.clone())
    }

    async fn download(&self, tensors: &[&GpuTensor], state: &GpuState) -> Result<Vec<Tensor>> {
        let Recording { pass, mut encoder, errors } = state
            .run
            .borrow_mut()
            .take()
            .ok_or_else(|| Error::Backend("outputs were asked for outside a run".into()))?;
        drop(pass);
        let total: usize = tensors.iter().map(|t| t.len()).sum();
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: (total.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut at = 0;
        for t in tensors {
            let bytes = (t.len() * 4) as u64;
            if bytes > 0 {
                encoder.copy_buffer_to_buffer(&state.buffers[t.buffer], (t.offset * 4) as u64, &staging, at, bytes);
            }
            at += bytes;
        }
        self.queue.submit([encoder.finish()]);
        let [memory, validation] = errors;
        let memory = memory.pop();
        let validation = validation.pop();
        let (sender, receiver) = futures_channel::oneshot::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Backend(format!("the GPU did not finish: {e}")))?;
        if let Some(error) = memory.await {
            return Err(Error::Backend(format!("the GPU ran out of memory: {error}")));
        }
        if let Some(error) = validation.await {
            return Err(Error::Backend(format!("the GPU rejected the work: {error}")));
        }
        if let Some(error) = self.uncaptured.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(Error::Backend(error));
        }
        receiver
            .await
            .map_err(|_| Error::Backend("the GPU was lost before the results came back".into()))?
            .map_err(|e| Error::Backend(format!("the results could not be read back: {e}")))?;
        let mapped = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| Error::Backend(format!("the results could not be read back: {e}")))?;
        let values: Vec<f32> = bytemuck::cast_slice(&mapped).to_vec();
        drop(mapped);
        staging.unmap();
        let mut at = 0;
        tensors
            .iter()
            .map(|t| {
                let n = t.len();
                let tensor = Tensor::from_slice(&values[at..at + n], t.shape.as_slice(), &Device::Cpu)?;
                at += n;
                Ok(tensor)
            })
            .collect()
    }

    fn recycle(&self, _tensor: GpuTensor, _buffer: usize, _state: &GpuState) {
        // Every buffer is bound for the whole session: nothing is handed back mid-run.
    }

    fn label(&self, index: usize, _step: &Step, state: &GpuState) -> String {
        state.steps[index].label.clone()
    }
}

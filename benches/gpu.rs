//! `just bench-gpu`: each product model at its working size on the engine's GPU backend, beside
//! onnxruntime's WebGPU provider run natively on the same GPU (PyPI `onnxruntime-ep-webgpu`: the
//! C++ kernels that onnxruntime-web's WebGPU bundle compiles to wasm). A run includes the upload
//! of the inputs and the one readback of the outputs, on both sides. Prints the medians of 20
//! runs after 3 warm-up runs, their ratio, and the engine's largest difference from onnxruntime's
//! CPU provider on the same input; `LANTERN_BENCH_JSON=file` also writes them as JSON, and
//! `LANTERN_PROFILE=1` prints where each model's time goes, one step waited for at a time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lantern_engine::{Backend, GpuBackend, GpuOptions, Model, Session};

#[path = "cases.rs"]
mod cases;
use cases::{CASES, profile};

const WARMUP: usize = 3;
const RUNS: usize = 20;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn onnxruntime(python: &str, model: &Path, inputs: &Path, outputs: &[&str]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ort_webgpu.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg("--model").arg(model).arg("--inputs").arg(inputs);
    cmd.args(["--runs", &RUNS.to_string(), "--warmup", &WARMUP.to_string()]);
    for o in outputs {
        cmd.args(["--output", o]);
    }
    match cmd.output() {
        Ok(out) if out.status.success() => serde_json::from_slice(&out.stdout).unwrap_or_default(),
        Ok(out) => serde_json::json!({ "error": String::from_utf8_lossy(&out.stderr).trim().to_string() }),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    }
}

fn main() {
    let python = std::env::var("LANTERN_PYTHON").unwrap_or_else(|_| "python3".into());
    let only: Option<Vec<String>> =
        std::env::var("LANTERN_BENCH_ONLY").ok().map(|s| s.split(',').map(String::from).collect());
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-gpu-inputs");
    let manifest = lantern_models::Manifest::load_default().expect("models manifest");
    let gpu =
        GpuBackend::new_blocking(GpuOptions { allow_software: true, ..Default::default() }).expect("a GPU adapter");
    println!("GPU: {}", gpu.adapter());
    println!("| model | input | Lantern GPU ms (first) | ORT WebGPU ms (first) | Lantern/ORT | max abs vs ORT CPU |");
    println!("|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for case in CASES.iter().filter(|c| only.as_ref().is_none_or(|o| o.iter().any(|m| m == c.model))) {
        let path = manifest.entry(case.model).expect("model in manifest").cached_path();
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("{}: not in the cache, skipped", case.model);
            continue;
        };
        let model = Model::from_bytes(&bytes).expect("model loads");
        let dir = scratch.join(case.model);
        let inputs = case.write_inputs(&dir);
        let shapes = case.shapes();
        let plan = model.plan(&shapes, Some(case.outputs)).expect("plan");
        let started = Instant::now();
        let session = Session::new(plan, gpu.clone()).expect("session");
        let prepare_ms = started.elapsed().as_secs_f64() * 1000.0;
        let started = Instant::now();
        let outputs = session.run(&inputs).unwrap_or_else(|e| panic!("{} on {}: {e}", case.model, gpu.name()));
        let first_ms = started.elapsed().as_secs_f64() * 1000.0;
        for (name, tensor) in case.outputs.iter().zip(&outputs) {
            tensor.write_npy(dir.join(format!("lantern.{name}.npy"))).expect("write output");
        }
        for _ in 0..WARMUP {
            session.run(&inputs).expect("run");
        }
        let ours = median(
            (0..RUNS)
                .map(|_| {
                    let start = Instant::now();
                    session.run(&inputs).expect("run");
                    start.elapsed().as_secs_f64() * 1000.0
                })
                .collect(),
        );
        if std::env::var_os("LANTERN_PROFILE").is_some() {
            let options = GpuOptions { allow_software: true, wait_per_step: true };
            let stepped = GpuBackend::new_blocking(options).expect("a GPU adapter");
            let plan = model.plan(&shapes, Some(case.outputs)).expect("plan");
            let session = Session::new(plan, stepped).expect("session");
            session.run(&inputs).expect("run");
            let ops: Vec<String> = profile(&session, &inputs).iter().map(|(op, ms)| format!("{op} {ms:.2}")).collect();
            eprintln!("{}, ms per kernel, each step waited for: {}", case.model, ops.join(", "));
        }
        let theirs = onnxruntime(&python, &path, &dir, case.outputs);
        let shape = format!("{:?}", case.inputs[0].1);
        let (theirs_ms, ratio) = match theirs["median_ms"].as_f64() {
            Some(t) => {
                (format!("{t:.2} ({:.0})", theirs["first_ms"].as_f64().unwrap_or(f64::NAN)), format!("{:.2}", ours / t))
            }
            None => (
                format!("n/a: {}", theirs["error"].as_str().unwrap_or("no result").lines().last().unwrap_or("")),
                "n/a".into(),
            ),
        };
        let parity = theirs["lantern_max_abs_vs_cpu"].as_f64().map_or("n/a".into(), |d| format!("{d:.1e}"));
        println!("| {} | {shape} | {ours:.2} ({first_ms:.0}) | {theirs_ms} | {ratio} | {parity} |", case.model);
        rows.push(serde_json::json!({
            "model": case.model,
            "input": case.inputs[0].1,
            "lantern": { "prepare_ms": prepare_ms, "first_ms": first_ms, "median_ms": ours, "runs": RUNS, "warmup": WARMUP },
            "onnxruntime_webgpu": theirs,
        }));
    }
    if let Ok(file) = std::env::var("LANTERN_BENCH_JSON") {
        let doc = serde_json::json!({ "adapter": gpu.adapter(), "results": rows });
        std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).expect("write the results");
    }
}

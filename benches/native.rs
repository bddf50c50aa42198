//! `just bench-native`: each product model at its working size through the engine and through
//! onnxruntime CPU (PyPI), same input, same thread count; prints medians and Lantern/ORT ratios.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lantern_engine::{CpuBackend, Model, Session, Tensor};

#[path = "cases.rs"]
mod cases;
use cases::{CASES, Case, profile};

/// Timed runs per model on the CPU: fewer for the models that take seconds a run.
fn cpu_runs(model: &str) -> usize {
    match model {
        "isnet-medium" => 3,
        "ppocrv6-small-det" | "ppocrv6-small-rec" => 5,
        _ => 10,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_engine(model: &Model, case: &Case, inputs: &[Tensor], threads: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    pool.install(|| {
        let shapes = case.shapes();
        let plan = model.plan(&shapes, Some(case.outputs)).expect("plan");
        let session = Session::new(plan, CpuBackend).expect("session");
        for _ in 0..2 {
            session.run(inputs).expect("run");
        }
        if std::env::var_os("LANTERN_PROFILE").is_some() {
            let ops: Vec<String> = profile(&session, inputs).iter().map(|(op, ms)| format!("{op} {ms:.1}")).collect();
            eprintln!("{} at {threads} threads, ms per op kind: {}", case.model, ops.join(", "));
        }
        median(
            (0..cpu_runs(case.model))
                .map(|_| {
                    let start = Instant::now();
                    session.run(inputs).expect("run");
                    start.elapsed().as_secs_f64() * 1000.0
                })
                .collect(),
        )
    })
}

fn time_onnxruntime(python: &str, model: &Path, inputs: &Path, case: &Case, threads: usize) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ort_native.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg("--model").arg(model).arg("--inputs").arg(inputs);
    cmd.args(["--threads", &threads.to_string(), "--runs", &cpu_runs(case.model).to_string()]);
    for o in case.outputs {
        cmd.args(["--output", o]);
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        eprintln!("onnxruntime failed on {}: {}", case.model, String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    json["median_ms"].as_f64()
}

fn main() {
    let python = std::env::var("LANTERN_PYTHON").unwrap_or_else(|_| "python3".into());
    let only: Option<Vec<String>> =
        std::env::var("LANTERN_BENCH_ONLY").ok().map(|s| s.split(',').map(String::from).collect());
    let max_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let thread_counts: Vec<usize> = if max_threads > 1 { vec![1, max_threads] } else { vec![1] };
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-inputs");
    let manifest = lantern_models::Manifest::load_default().expect("models manifest");

    println!("| model | input | threads | Lantern ms | onnxruntime ms | Lantern/ORT |");
    println!("|---|---|---|---|---|---|");
    for case in CASES.iter().filter(|c| only.as_ref().is_none_or(|o| o.iter().any(|m| m == c.model))) {
        let path = manifest.entry(case.model).expect("model in manifest").cached_path();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run `just models`", path.display()));
        let model = Model::from_bytes(&bytes).expect("model loads");
        let dir = scratch.join(case.model);
        let inputs = case.write_inputs(&dir);
        let shape = format!("{:?}", case.inputs[0].1);
        for &threads in &thread_counts {
            let ours = time_engine(&model, case, &inputs, threads);
            let theirs = time_onnxruntime(&python, &path, &dir, case, threads);
            let (theirs, ratio) = match theirs {
                Some(t) => (format!("{t:.1}"), format!("{:.2}", ours / t)),
                None => ("n/a".into(), "n/a".into()),
            };
            println!("| {} | {shape} | {threads} | {ours:.1} | {theirs} | {ratio} |", case.model);
        }
    }
}

//! `just bench-native`: the whole Image to text pipeline (detection, orientation, recognition and
//! every step between) on the evaluation paragraph, Lantern's TextReader beside PaddleOCR's steps
//! around onnxruntime CPU (tests/reference/ocr_pipeline.py), at the same thread counts; prints
//! medians and Lantern/ORT ratios.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lantern_engine::CpuBackend;
use lantern_models::Manifest;
use lantern_tools::image_to_text::{NetworkSpec, TextReader};
use lantern_tools::input::decode;

/// Detector and recogniser of each pipeline timed; the orientation classifier is shared.
const PIPELINES: &[(&str, &str)] =
    &[("ppocrv6-tiny-det", "ppocrv6-tiny-rec"), ("ppocrv6-small-det", "ppocrv6-small-rec")];
const CLASSIFIER: &str = "ppocr-cls";
const IMAGE: &str = "ocr/rust-paragraph.png";
const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn cached(manifest: &Manifest, id: &str) -> Vec<u8> {
    let path = manifest.entry(id).expect("in the manifest").cached_path();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run `just models`", path.display()))
}

fn reader(manifest: &Manifest, det: &str, rec: &str) -> TextReader<CpuBackend> {
    let (det_model, rec_model) = (manifest.model(det).expect("detector"), manifest.model(rec).expect("recogniser"));
    let dictionary =
        String::from_utf8(cached(manifest, rec_model.dictionary.as_deref().expect("a dictionary"))).expect("UTF-8");
    let (det_onnx, rec_onnx, cls_onnx) = (cached(manifest, det), cached(manifest, rec), cached(manifest, CLASSIFIER));
    let cls = NetworkSpec::of(&cls_onnx, manifest.model(CLASSIFIER).expect("classifier"));
    let (det, rec) = (NetworkSpec::of(&det_onnx, det_model), NetworkSpec::of(&rec_onnx, rec_model));
    TextReader::new(&det, &rec, &dictionary, Some(&cls), CpuBackend).expect("reader")
}

/// Median milliseconds of `RUNS` calls on a pool of `threads`, after one warm-up call.
fn time_on(threads: usize, call: impl Fn() + Send + Sync) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    pool.install(|| {
        call();
        median(
            (0..RUNS)
                .map(|_| {
                    let start = Instant::now();
                    call();
                    start.elapsed().as_secs_f64() * 1000.0
                })
                .collect(),
        )
    })
}

fn time_paddle(python: &str, models: &Path, det: &str, rec: &str, image: &Path, threads: usize) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ort_ocr.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg("--models").arg(models).args(["--det", det, "--rec", rec]).arg("--image").arg(image);
    cmd.args(["--threads", &threads.to_string(), "--runs", &RUNS.to_string()]);
    let out = cmd.output().ok()?;
    if !out.status.success() {
        eprintln!("the onnxruntime pipeline failed on {det}: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    json["median_ms"].as_f64()
}

fn main() {
    let python = std::env::var("LANTERN_PYTHON").unwrap_or_else(|_| "python3".into());
    let eval = std::env::var("LANTERN_EVAL")
        .map_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eval"), PathBuf::from);
    let image_path = eval.join(IMAGE);
    let bytes = std::fs::read(&image_path).unwrap_or_else(|e| panic!("{}: {e}", image_path.display()));
    let image = decode(&bytes).expect("the paragraph decodes");
    let max_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let thread_counts: Vec<usize> = if max_threads > 1 { vec![1, max_threads] } else { vec![1] };
    let manifest = Manifest::load_default().expect("models manifest");
    let models =
        manifest.entry(CLASSIFIER).expect("classifier").cached_path().parent().expect("the cache folder").to_path_buf();

    println!("| pipeline | image | threads | Lantern ms | onnxruntime + PaddleOCR steps ms | Lantern/ORT |");
    println!("|---|---|---|---|---|---|");
    for &(det, rec) in PIPELINES {
        let reader = reader(&manifest, det, rec);
        for &threads in &thread_counts {
            let ours = time_on(threads, || {
                pollster::block_on(reader.read(&image, &mut |_, _, _| true)).expect("read");
            });
            let (theirs, ratio) = match time_paddle(&python, &models, det, rec, &image_path, threads) {
                Some(t) => (format!("{t:.1}"), format!("{:.2}", ours / t)),
                None => ("n/a".into(), "n/a".into()),
            };
            let size = format!("{}×{}", image.width(), image.height());
            println!("| {det} + {rec} | {IMAGE} {size} | {threads} | {ours:.1} | {theirs} | {ratio} |");
        }
    }
}

//! `just bench-native` (and `just bench-tesseract`, which adds Chromium): the Tesseract line reader
//! per line beside Tesseract's own CLI on the same lines, and a whole page through Image to text
//! beside the CLI reading the same page. Prints a table and writes target/bench/tesseract-native.json,
//! which benches/browser/tesseract.js completes with the browser's figures.
//!
//! The lines are the reader's test lines (worker/tesseract/tests/render_lines.py) at each model's
//! own height, so neither side scales them; the pages are the page tests' paragraphs
//! (worker/tools/tests/render_paragraphs.py). Both sides start from the PNG file's bytes: the
//! reader decodes and greys each line as the wasm `LineReader.readImage` does.
//!
//! - Lantern, 1 thread: the lines one after another on this thread; the time of a pass over a
//!   language's lines divided by its lines, median of `PASSES` passes after one warm-up pass.
//! - Lantern, all threads: the lines of a language at once on a rayon pool of every core, as the
//!   page reads a page's lines: throughput, not one line's latency.
//! - CLI amortised: one `tesseract` process (`--psm 13 --oem 1`, `OMP_THREAD_LIMIT=1`) reading a
//!   list file that names each line `CLI_REPEATS` times, so its start-up and model load are shared;
//!   its wall time divided by the lines read, median of `CLI_RUNS` processes.
//! - CLI per process: one process per line, as a script calling it would; mean over the lines,
//!   median of `CLI_RUNS` passes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use lantern_engine::CpuBackend;
use lantern_models::Manifest;
use lantern_tesseract::{GreyImage, Recogniser};
use lantern_tools::image_to_text::{NetworkSpec, TextReader};
use lantern_tools::input::decode;
use rayon::prelude::*;
use serde_json::{Value, json};

/// The languages the reader's tests have lines for (worker/tesseract/tests/common).
const LANGUAGES: [&str; 8] = ["eng", "ukr", "ara", "hin", "ell", "kor", "heb", "tha"];
/// The page's detector for Tesseract languages (site/app.js): PP-OCR's fast one, no orientation.
const DETECTOR: &str = "ppocrv6-tiny-det";
const PASSES: usize = 7;
const CLI_RUNS: usize = 3;
const CLI_REPEATS: usize = 5;
const PAGE_RUNS: usize = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

fn cache() -> PathBuf {
    lantern_models::cache_dir()
}

fn cached(manifest: &Manifest, id: &str) -> PathBuf {
    let path = manifest.entry(id).expect("in the manifest").cached_path();
    assert!(path.is_file(), "{} is missing; run `just models`", path.display());
    path
}

/// Runs one of the test renderers with the reference environment's Python into `dir`.
fn render(python: &str, script: &str, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(script);
    let status = Command::new(python).arg(&script).args(args).stdout(Stdio::null()).status().expect("running python");
    assert!(status.success(), "{} failed; are the Noto fonts installed (`just setup`)?", script.display());
}

/// The PNGs in `dir`, in name order.
fn pngs_in(dir: &Path) -> Vec<PathBuf> {
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "png"))
        .collect();
    pngs.sort();
    pngs
}

/// The PNG file's bytes made grey as `LineReader.readImage` makes them.
fn grey(png: &[u8]) -> GreyImage {
    let picture = decode(png).expect("the line decodes");
    let rgb: Vec<u8> = picture.as_raw().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    GreyImage::from_rgb(picture.width() as usize, picture.height() as usize, &rgb)
}

/// A folder holding `language`'s model for the CLI's `--tessdata-dir`.
fn tessdata(manifest: &Manifest, language: &str) -> PathBuf {
    let dir = cache().join("bench").join("tessdata");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join(format!("{language}.traineddata"));
    if !link.exists() {
        std::os::unix::fs::symlink(cached(manifest, &format!("tesseract-{language}")), &link).unwrap();
    }
    dir
}

/// One `tesseract` process on `input` (an image, or a list file of images) at one thread; its
/// wall time in ms and its text.
fn tesseract(input: &Path, language: &str, tessdata: &Path, line: bool) -> (f64, String) {
    let mut command = Command::new("tesseract");
    command.arg(input).args(["-", "--oem", "1", "-l", language, "--tessdata-dir"]).arg(tessdata);
    if line {
        command.args(["--psm", "13"]);
    }
    command.env("OMP_THREAD_LIMIT", "1");
    let start = Instant::now();
    let output = command.output().expect("running tesseract; install it with `just setup`");
    let ms = ms_since(start);
    assert!(output.status.success(), "tesseract failed: {}", String::from_utf8_lossy(&output.stderr));
    (ms, String::from_utf8(output.stdout).unwrap())
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Machine {
    threads: usize,
}

fn line_row(manifest: &Manifest, python: &str, language: &str, machine: &Machine) -> Value {
    let model = cached(manifest, &format!("tesseract-{language}"));
    let recogniser = Recogniser::from_traineddata(&std::fs::read(&model).unwrap()).expect("the model reads");
    let height = recogniser.input_height();
    let dir = cache().join("bench").join("tesseract-lines").join(format!("{language}-{height}"));
    render(
        python,
        "worker/tesseract/tests/render_lines.py",
        &[&dir.display().to_string(), language, &height.to_string()],
    );
    let pngs = pngs_in(&dir);
    let files: Vec<Vec<u8>> = pngs.iter().map(|png| std::fs::read(png).unwrap()).collect();
    let lines = files.len();

    let read = |file: &Vec<u8>| recogniser.recognise(&grey(file)).text;
    let ours: Vec<String> = files.iter().map(read).collect();
    let one_thread = median(
        (0..PASSES)
            .map(|_| {
                let start = Instant::now();
                files.iter().for_each(|file| drop(std::hint::black_box(read(file))));
                ms_since(start) / lines as f64
            })
            .collect(),
    );
    let pool = rayon::ThreadPoolBuilder::new().num_threads(machine.threads).build().expect("thread pool");
    let all_threads = pool.install(|| {
        let pass = || files.par_iter().map(read).collect::<Vec<_>>();
        pass();
        median(
            (0..PASSES)
                .map(|_| {
                    let start = Instant::now();
                    std::hint::black_box(pass());
                    ms_since(start) / lines as f64
                })
                .collect(),
        )
    });

    let tessdata = tessdata(manifest, language);
    let list = cache().join("bench").join(format!("tesseract-lines-{language}.txt"));
    let mut listed = std::fs::File::create(&list).unwrap();
    for _ in 0..CLI_REPEATS {
        for png in &pngs {
            writeln!(listed, "{}", png.display()).unwrap();
        }
    }
    drop(listed);
    let mut theirs = Vec::new();
    let amortised = median(
        (0..CLI_RUNS)
            .map(|_| {
                let (ms, text) = tesseract(&list, language, &tessdata, true);
                theirs = text.split('\u{c}').take(lines).map(words).collect();
                ms / (lines * CLI_REPEATS) as f64
            })
            .collect(),
    );
    let per_process = median(
        (0..CLI_RUNS)
            .map(|_| pngs.iter().map(|png| tesseract(png, language, &tessdata, true).0).sum::<f64>() / lines as f64)
            .collect(),
    );
    let equal = ours.iter().zip(&theirs).filter(|(a, b)| a == b).count();
    println!(
        "| {language} | {lines} | {height} | {one_thread:.1} | {all_threads:.1} | {amortised:.1} | {per_process:.1} | {:.2} | {:.2} | {equal}/{lines} |",
        one_thread / amortised,
        one_thread / per_process
    );
    json!({
        "language": language,
        "model": model.strip_prefix(cache()).unwrap().display().to_string(),
        "height": height,
        "lines": lines,
        "pngs": pngs.iter().map(|png| png.strip_prefix(cache()).unwrap().display().to_string()).collect::<Vec<_>>(),
        "texts": ours,
        "linesEqualToCli": equal,
        "ms": {
            "lanternNative1Thread": one_thread,
            "lanternNativeAllThreads": all_threads,
            "cliAmortised": amortised,
            "cliPerProcess": per_process,
        },
    })
}

fn page_row(manifest: &Manifest, dir: &Path, language: &str, machine: &Machine) -> Value {
    let det_model = manifest.model(DETECTOR).expect("detector");
    let det_onnx = std::fs::read(cached(manifest, DETECTOR)).unwrap();
    let det = NetworkSpec::of(&det_onnx, det_model);
    let model_id = format!("tesseract-{language}");
    let model = cached(manifest, &model_id);
    let traineddata = std::fs::read(&model).unwrap();
    let reader = TextReader::with_tesseract(&det, &traineddata, None, CpuBackend).expect("reader");
    let png = dir.join(format!("{language}.png"));
    let bytes = std::fs::read(&png).unwrap();
    let time_on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        pool.install(|| {
            let read = || {
                let image = decode(&bytes).expect("the page decodes");
                pollster::block_on(reader.read(&image, &mut |_, _, _| true)).expect("read")
            };
            read();
            median(
                (0..PAGE_RUNS)
                    .map(|_| {
                        let start = Instant::now();
                        std::hint::black_box(read());
                        ms_since(start)
                    })
                    .collect(),
            )
        })
    };
    let (one_thread, all_threads) = (time_on(1), time_on(machine.threads));
    let tessdata = tessdata(manifest, language);
    let cli = median((0..PAGE_RUNS).map(|_| tesseract(&png, language, &tessdata, false).0).collect());
    println!("| {language} | {one_thread:.0} | {all_threads:.0} | {cli:.0} | {:.2} |", one_thread / cli);
    json!({
        "language": language,
        "png": png.strip_prefix(cache()).unwrap().display().to_string(),
        // What the browser runner hands ImageToText.withTesseract: the files and the parts of their
        // models/index.json entries it reads.
        "detector": {
            "file": cached(manifest, DETECTOR).strip_prefix(cache()).unwrap().display().to_string(),
            "entry": { "preprocess": det_model.preprocess, "postprocess": det_model.postprocess },
        },
        "model": {
            "file": model.strip_prefix(cache()).unwrap().display().to_string(),
            "entry": { "language": manifest.entry(&model_id).expect("in the manifest").language },
        },
        "ms": { "lanternNative1Thread": one_thread, "lanternNativeAllThreads": all_threads, "cliPerProcess": cli },
    })
}

fn git(args: &[&str]) -> String {
    let output = Command::new("git").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("git");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn main() {
    let python = std::env::var("LANTERN_PYTHON").unwrap_or_else(|_| "python3".into());
    let manifest = Manifest::load_default().expect("models manifest");
    let machine = Machine { threads: std::thread::available_parallelism().map_or(1, |n| n.get()) };
    let version = Command::new("tesseract").arg("--version").output().expect("tesseract --version");
    let version = String::from_utf8_lossy(&version.stdout).lines().next().unwrap_or("").to_string();

    println!("Lines, ms per line ({} threads for \"all threads\"; {version}, OMP_THREAD_LIMIT=1):", machine.threads);
    println!(
        "| language | lines | height | Lantern 1 thread | Lantern all threads | CLI amortised | CLI per process | Lantern/CLI amortised | Lantern/CLI per process | lines equal |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let lines: Vec<Value> = LANGUAGES.iter().map(|language| line_row(&manifest, &python, language, &machine)).collect();

    let paragraphs = cache().join("bench").join("tesseract-paragraphs");
    render(&python, "worker/tools/tests/render_paragraphs.py", &[&paragraphs.display().to_string()]);
    println!("\nWhole page (Image to text: {DETECTOR} finds the lines, the model reads them), ms:");
    println!("| language | Lantern 1 thread | Lantern all threads | CLI (one process) | Lantern 1 thread/CLI |");
    println!("|---|---|---|---|---|");
    let pages: Vec<Value> = LANGUAGES
        .iter()
        .filter(|language| paragraphs.join(format!("{language}.png")).is_file())
        .map(|language| page_row(&manifest, &paragraphs, language, &machine))
        .collect();

    let report = json!({
        "commit": git(&["rev-parse", "HEAD"]),
        "uncommitted": git(&["status", "--porcelain", "--", "../worker/tesseract", "../worker/wasm", "../worker/tools"]),
        "threads": machine.threads,
        "tesseract": version,
        "config": { "passes": PASSES, "cliRuns": CLI_RUNS, "cliRepeats": CLI_REPEATS, "pageRuns": PAGE_RUNS },
        "lines": lines,
        "pages": pages,
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench/tesseract-native.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap() + "\n").unwrap();
    eprintln!("wrote {}", out.display());
}

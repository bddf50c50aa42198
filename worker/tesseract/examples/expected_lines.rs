//! The native side of the browser parity test (tests/browser/tesseract.test.js): renders the
//! Tesseract tests' lines for the languages named, at each model's own height, as
//! tests/against_tesseract.rs does, and prints as JSON what this reader and Tesseract's CLI read
//! in each line. The browser test reads the same PNGs with the wasm build and compares.
//!
//! usage: cargo run -p lantern-tesseract --example expected_lines -- LANG...

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use lantern_tesseract::Recogniser;

fn main() {
    let languages: Vec<String> = std::env::args().skip(1).collect();
    assert!(!languages.is_empty(), "usage: expected_lines LANG...");
    // Every language's lines rendered and handed to the CLI first, so that it reads while this
    // reader does.
    let prepared: Vec<_> = languages
        .iter()
        .map(|language| {
            let model = common::model_path(language);
            let recogniser = Recogniser::from_traineddata(&std::fs::read(&model).unwrap()).unwrap();
            let pngs = common::render_lines(language, recogniser.input_height());
            let cli = start_tesseract(&pngs, language);
            (language, model, recogniser, pngs, cli)
        })
        .collect();
    // Languages share nothing: each is read on its own thread.
    let readings: Vec<Vec<_>> = std::thread::scope(|scope| {
        let handles: Vec<_> = prepared
            .iter()
            .map(|(_, _, recogniser, pngs, _)| {
                scope.spawn(|| pngs.iter().map(|png| recogniser.recognise(&common::read_grey_png(png))).collect())
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    let mut json = String::from("[");
    for (i, ((language, model, recogniser, pngs, cli), ours)) in prepared.into_iter().zip(readings).enumerate() {
        let _ = write!(
            json,
            "{}{{\"language\":{},\"model\":{},\"height\":{},\"lines\":[",
            if i > 0 { "," } else { "" },
            quoted(language),
            quoted(&model.display().to_string()),
            recogniser.input_height()
        );
        for (j, ((png, ours), theirs)) in pngs.iter().zip(ours).zip(tesseract_texts(cli, pngs.len())).enumerate() {
            let _ = write!(
                json,
                "{}{{\"png\":{},\"native\":{{\"text\":{},\"confidence\":{},\"inverted\":{}}},\"tesseract\":{}}}",
                if j > 0 { "," } else { "" },
                quoted(&png.display().to_string()),
                quoted(&ours.text),
                ours.confidence,
                ours.inverted,
                quoted(&theirs)
            );
        }
        json.push_str("]}");
    }
    json.push(']');
    println!("{json}");
}

/// Starts Tesseract's CLI reading every line as `common::tesseract_cli` reads one (`--psm 13
/// --oem 1`, the same model), but in one process: it takes a text file listing the images.
fn start_tesseract(pngs: &[PathBuf], language: &str) -> Child {
    let tessdata = common::work_dir("tessdata");
    let link = tessdata.join(format!("{language}.traineddata"));
    if !link.exists() {
        std::os::unix::fs::symlink(common::model_path(language), &link).unwrap();
    }
    let list = common::work_dir("lists").join(format!("{language}.txt"));
    let paths: Vec<String> = pngs.iter().map(|png| png.display().to_string()).collect();
    std::fs::write(&list, paths.join("\n") + "\n").unwrap();
    Command::new("tesseract")
        .arg(&list)
        .args(["-", "--psm", "13", "--oem", "1", "-l", language, "--tessdata-dir"])
        .arg(&tessdata)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running tesseract; install it with `just setup`")
}

/// Each line's text from the CLI, which puts a form feed between the images' texts.
fn tesseract_texts(cli: Child, lines: usize) -> Vec<String> {
    let output = cli.wait_with_output().unwrap();
    assert!(output.status.success(), "tesseract failed: {}", String::from_utf8_lossy(&output.stderr));
    let texts: Vec<String> =
        String::from_utf8(output.stdout).unwrap().split('\u{c}').map(common::normalise_spaces).collect();
    assert_eq!(texts.len(), lines, "one text per line from tesseract");
    texts
}

/// `text` as a JSON string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

//! Image to text on a real paragraph with the real PP-OCRv6 networks: read exactly upright, and
//! still read when the page is upside down, thanks to the orientation classifier.

use std::time::Instant;

use image::RgbaImage;
use image::imageops;
use lantern_engine::CpuBackend;
use lantern_models::Manifest;
use lantern_tools::image_to_text::{TextReader, text};
use lantern_tools::input::decode;

fn eval_file(name: &str) -> Vec<u8> {
    let dir = std::env::var("LANTERN_EVAL").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/eval").into());
    let path = std::path::Path::new(&dir).join("ocr").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cached(manifest: &Manifest, id: &str) -> Vec<u8> {
    let path = manifest.entry(id).unwrap().cached_path();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run `just models`", path.display()))
}

fn reader(det: &str, rec: &str, with_orientation: bool) -> TextReader<CpuBackend> {
    let manifest = Manifest::load_default().unwrap();
    let (det_model, rec_model, cls_model) =
        (manifest.model(det).unwrap(), manifest.model(rec).unwrap(), manifest.model("ppocr-cls").unwrap());
    let dictionary = String::from_utf8(cached(&manifest, rec_model.dictionary.as_deref().unwrap())).unwrap();
    let cls_onnx = cached(&manifest, "ppocr-cls");
    let cls = with_orientation.then_some((cls_onnx.as_slice(), cls_model));
    TextReader::new(&cached(&manifest, det), det_model, &cached(&manifest, rec), rec_model, &dictionary, cls, CpuBackend).unwrap()
}

/// Lines joined by '\n', each with its trailing whitespace trimmed.
fn normalised(text: &str) -> Vec<char> {
    text.trim_end().lines().map(str::trim_end).collect::<Vec<_>>().join("\n").chars().collect()
}

/// Character error rate: the Levenshtein distance over characters between the expected and the
/// read text (both with lines joined by '\n' and trailing whitespace trimmed per line), divided
/// by the expected text's length.
fn character_error_rate(expected: &str, read: &str) -> f32 {
    let (expected, read) = (normalised(expected), normalised(read));
    let mut previous: Vec<usize> = (0..=read.len()).collect();
    for (i, e) in expected.iter().enumerate() {
        let mut current = vec![i + 1; read.len() + 1];
        for (j, r) in read.iter().enumerate() {
            current[j + 1] = (previous[j] + (e != r) as usize).min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[read.len()] as f32 / expected.len().max(1) as f32
}

fn read_paragraph(reader: &TextReader<CpuBackend>, image: &RgbaImage, label: &str) -> f32 {
    let expected = String::from_utf8(eval_file("rust-paragraph.txt")).unwrap();
    let start = Instant::now();
    let lines = reader.read(image, &mut |_, _| true).unwrap();
    let read = text(&lines);
    let cer = character_error_rate(&expected, &read);
    println!("{label}: {} lines in {:.2?}, CER {cer:.4}\n{read}", lines.len(), start.elapsed());
    for line in &lines {
        assert!((0.0..=1.0).contains(&line.confidence), "confidence {}", line.confidence);
    }
    cer
}

fn paragraph() -> RgbaImage {
    decode(&eval_file("rust-paragraph.png")).unwrap()
}

#[test]
fn cer_counts_edits() {
    assert_eq!(character_error_rate("abcd\nef", "abcd  \nef\n"), 0.0);
    assert_eq!(character_error_rate("abcd", "abxd"), 0.25);
}

#[test]
fn tiny_reads_the_paragraph_exactly() {
    let cer = read_paragraph(&reader("ppocrv6-tiny-det", "ppocrv6-tiny-rec", true), &paragraph(), "v6 tiny");
    assert_eq!(cer, 0.0);
}

#[test]
fn small_reads_the_paragraph_exactly() {
    let cer = read_paragraph(&reader("ppocrv6-small-det", "ppocrv6-small-rec", true), &paragraph(), "v6 small");
    assert_eq!(cer, 0.0);
}

#[test]
fn tiny_reads_the_paragraph_upside_down() {
    let image = imageops::rotate180(&paragraph());
    let reader = reader("ppocrv6-tiny-det", "ppocrv6-tiny-rec", true);
    let cer = read_paragraph(&reader, &image, "v6 tiny, turned 180°");
    assert!(cer <= 0.02, "CER {cer}");
    // The first corner as read lies at the image's bottom right.
    let first = &reader.read(&image, &mut |_, _| true).unwrap()[0];
    assert!(first.polygon[0].0 > first.polygon[1].0 && first.polygon[0].1 > first.polygon[3].1, "{:?}", first.polygon);
}

//! Image to text with the real PP-OCRv6 networks: a paragraph read exactly upright and within 2%
//! CER turned a quarter either way, upside down or skewed; and photographed pages read line for
//! line as onnxruntime reads them through PaddleOCR's own steps (`just references`).

use std::time::Instant;

use image::imageops;
use image::{Rgba, RgbaImage};
use lantern_engine::CpuBackend;
use lantern_models::{Manifest, cache_dir};
use lantern_tools::image_to_text::{NetworkSpec, Point, TextLine, TextReader, text};
use lantern_tools::input::decode;
use pollster::block_on;

mod edit_distance;
mod word_recall;

use word_recall::{recalled, words};

/// The evaluation set (`LANTERN_EVAL`, else `shared/eval` beside the checkout).
fn eval_dir() -> std::path::PathBuf {
    std::env::var("LANTERN_EVAL")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/eval").into())
        .into()
}

fn eval_file(name: &str) -> Vec<u8> {
    let path = eval_dir().join("ocr").join(name);
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
    let (det_onnx, rec_onnx, cls_onnx) =
        (cached(&manifest, det), cached(&manifest, rec), cached(&manifest, "ppocr-cls"));
    let cls = with_orientation.then(|| NetworkSpec::of(&cls_onnx, cls_model));
    let (det, rec) = (NetworkSpec::of(&det_onnx, det_model), NetworkSpec::of(&rec_onnx, rec_model));
    TextReader::new(&det, &rec, &dictionary, cls.as_ref(), CpuBackend).unwrap()
}

/// Lines joined by '\n', each with its trailing whitespace trimmed.
fn normalised(text: &str) -> Vec<char> {
    text.trim_end().lines().map(str::trim_end).collect::<Vec<_>>().join("\n").chars().collect()
}

/// Character error rate: the Levenshtein distance over characters between the expected and the
/// read text (both with lines joined by '\n' and trailing whitespace trimmed per line), divided
/// by the expected text's length.
fn character_error_rate(expected: &str, read: &str) -> f32 {
    edit_distance::error_rate(&normalised(expected), &normalised(read))
}

/// The CER of the paragraph read from `image`, and the lines read.
fn read_paragraph(reader: &TextReader<CpuBackend>, image: &RgbaImage, label: &str) -> (f32, Vec<TextLine>) {
    let expected = String::from_utf8(eval_file("rust-paragraph.txt")).unwrap();
    let start = Instant::now();
    let lines = block_on(reader.read(image, &mut |_, _, _| true)).unwrap();
    let read = text(&lines);
    let cer = character_error_rate(&expected, &read);
    println!("{label}: {} lines in {:.2?}, CER {cer:.4}\n{read}", lines.len(), start.elapsed());
    for line in &lines {
        assert!((0.0..=1.0).contains(&line.confidence), "confidence {}", line.confidence);
    }
    (cer, lines)
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
    let (cer, _) = read_paragraph(&reader("ppocrv6-tiny-det", "ppocrv6-tiny-rec", true), &paragraph(), "v6 tiny");
    assert_eq!(cer, 0.0);
}

#[test]
fn small_reads_the_paragraph_exactly() {
    let (cer, _) = read_paragraph(&reader("ppocrv6-small-det", "ppocrv6-small-rec", true), &paragraph(), "v6 small");
    assert_eq!(cer, 0.0);
}

/// The paragraph turned by `degrees` anticlockwise about its centre, on a canvas grown to hold
/// it, the uncovered corners white.
fn skewed(image: &RgbaImage, degrees: f32) -> RgbaImage {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (width, height) = (image.width() as f32, image.height() as f32);
    let turned_width = (width * cos.abs() + height * sin.abs()).ceil();
    let turned_height = (width * sin.abs() + height * cos.abs()).ceil();
    RgbaImage::from_fn(turned_width as u32, turned_height as u32, |u, v| {
        // The output pixel's centre turned back into the source, in 0..1 coordinates.
        let (dx, dy) = (u as f32 + 0.5 - turned_width / 2.0, v as f32 + 0.5 - turned_height / 2.0);
        let (x, y) = (cos * dx - sin * dy + width / 2.0, sin * dx + cos * dy + height / 2.0);
        imageops::sample_bilinear(image, x / width, y / height).unwrap_or(Rgba([255; 4]))
    })
}

/// Direction of a line's first edge, top left to top right as read, in degrees clockwise on
/// screen from the x axis.
fn run_angle(polygon: &[Point; 4]) -> f32 {
    let [first, second, ..] = *polygon;
    (second.1 - first.1).atan2(second.0 - first.0).to_degrees()
}

/// How far apart two directions are, in degrees, -180..180.
fn degrees_apart(a: f32, b: f32) -> f32 {
    (a - b + 540.0).rem_euclid(360.0) - 180.0
}

/// Reads the paragraph turned each way: each must read within 2% CER, and its first line's
/// polygon must run the way the text runs in the turned image (within 10° of the expected angle).
fn reads_the_paragraph_turned(det: &str, rec: &str, label: &str) {
    let reader = reader(det, rec, true);
    let paragraph = paragraph();
    let variants = [
        ("turned 90° clockwise", imageops::rotate90(&paragraph), 90.0),
        ("turned 90° anticlockwise", imageops::rotate270(&paragraph), -90.0),
        ("upside down", imageops::rotate180(&paragraph), 180.0),
        ("skewed 5° anticlockwise", skewed(&paragraph, 5.0), -5.0),
        ("skewed 5° clockwise", skewed(&paragraph, -5.0), 5.0),
    ];
    let mut failures = Vec::new();
    for (variant, image, expected_run) in variants {
        let (cer, lines) = read_paragraph(&reader, &image, &format!("{label}, {variant}"));
        let run = run_angle(&lines.first().expect("some lines").polygon);
        println!("first line runs at {run:.1}°");
        if cer > 0.02 || degrees_apart(run, expected_run).abs() > 10.0 {
            failures.push(format!("{variant}: CER {cer:.4}, first line runs at {run:.1}° for {expected_run}°"));
        }
    }
    assert!(failures.is_empty(), "{label}: {failures:#?}");
}

#[test]
fn tiny_reads_the_paragraph_turned_and_skewed() {
    reads_the_paragraph_turned("ppocrv6-tiny-det", "ppocrv6-tiny-rec", "v6 tiny");
}

#[test]
fn small_reads_the_paragraph_turned_and_skewed() {
    reads_the_paragraph_turned("ppocrv6-small-det", "ppocrv6-small-rec", "v6 small");
}

/// onnxruntime's lines for one image through PaddleOCR's own steps, in PaddleOCR's order.
/// A line of PaddleOCR's pipeline, and whether its orientation classifier turned it by 180°.
struct PaddleLine {
    line: TextLine,
    turned: bool,
}

/// PaddleOCR's lines for `image`: those it keeps (`"lines"`), or those it drops for a confidence
/// under 0.5 (`"dropped"`).
fn reference_lines(pipeline: &str, image: &str, list: &str) -> Vec<PaddleLine> {
    let path = cache_dir().join("references").join(format!("ocr-{pipeline}-{image}.json"));
    let json = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run `just references`", path.display()));
    let document: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let lines = document[list].as_array().unwrap_or_else(|| panic!("{}: no list of {list}", path.display()));
    lines
        .iter()
        .map(|json| {
            let corner = |i: usize| {
                let point = &json["polygon"][i];
                // PaddleOCR's corners are pixel indices; ours put a pixel's centre half a pixel in.
                (point[0].as_f64().unwrap() as f32 + 0.5, point[1].as_f64().unwrap() as f32 + 0.5)
            };
            let line = TextLine {
                text: json["text"].as_str().unwrap().into(),
                confidence: json["confidence"].as_f64().unwrap() as f32,
                polygon: std::array::from_fn(corner),
            };
            PaddleLine { line, turned: json["turned"].as_bool().unwrap() }
        })
        .collect()
}

/// Whether we read upright, and surer, a line PaddleOCR's classifier turned and its recogniser
/// then read with little confidence: Lantern reads such a line unturned too and keeps the more
/// confident reading (`REREAD_TURNED_BELOW` in image_to_text.rs), where PaddleOCR keeps its turned
/// garbage or drops the line.
fn read_upright_where_paddle_turned(paddle: &PaddleLine, ours: &TextLine) -> bool {
    let turn = degrees_apart(run_angle(&ours.polygon), run_angle(&paddle.line.polygon));
    paddle.turned && paddle.line.confidence < 0.85 && turn.abs() > 150.0 && ours.confidence > paddle.line.confidence
}

/// Whether the point lies inside the convex polygon, given in either winding.
fn inside(polygon: &[Point; 4], (x, y): Point) -> bool {
    let sides = (0..4).map(|i| {
        let (a, b) = (polygon[i], polygon[(i + 1) % 4]);
        (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0)
    });
    let signs: Vec<f32> = sides.map(f32::signum).filter(|&s| s != 0.0).collect();
    signs.iter().all(|&s| s > 0.0) || signs.iter().all(|&s| s < 0.0)
}

/// Intersection over union of two boxes, counted over the pixel centres they cover.
fn overlap(a: &[Point; 4], b: &[Point; 4]) -> f32 {
    let corners = a.iter().chain(b);
    let (x0, x1) = corners.clone().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let (y0, y1) = corners.fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (mut both, mut either) = (0usize, 0usize);
    for y in y0.floor() as i32..=y1.ceil() as i32 {
        for x in x0.floor() as i32..=x1.ceil() as i32 {
            let centre = (x as f32 + 0.5, y as f32 + 0.5);
            let (in_a, in_b) = (inside(a, centre), inside(b, centre));
            both += (in_a && in_b) as usize;
            either += (in_a || in_b) as usize;
        }
    }
    both as f32 / either.max(1) as f32
}

/// Matches our lines to PaddleOCR's and returns how far the texts are apart. The rule:
/// - the same lines: each of PaddleOCR's lines overlaps exactly one of ours by IoU ≥ 0.75 and none
///   of ours is left over, each pair read the same way up (first edges within 30°), except where
///   we read upright, and surer, a line PaddleOCR turned and read with little confidence
///   (`read_upright_where_paddle_turned`), kept or dropped by it;
/// - the same reading: on the lines PaddleOCR reads with confidence ≥ 0.9, our confidence within
///   0.05 of its, and the CER of our text against PaddleOCR's (lines in PaddleOCR's order)
///   returned for the caller to bound.
///
/// The CER tolerance is for resampling, where both sides are right: we crop with bilinear
/// sampling and resize with smoothing, PaddleOCR crops bicubically and resizes plainly, and a
/// glyph on the edge of legibility (the photo's cut-off last line) can tip either way. Less
/// confident lines are matched but not read against each other: there the networks read noise
/// (a line the classifier confidently turns upside down on both sides, handwriting).
fn compare_with_paddle(pipeline: &str, det: &str, rec: &str, image: &str) -> f32 {
    let expected = reference_lines(pipeline, image, "lines");
    let dropped = reference_lines(pipeline, image, "dropped");
    let reader = reader(det, rec, true);
    let lines =
        block_on(reader.read(&decode(&eval_file(&format!("{image}.png"))).unwrap(), &mut |_, _, _| true)).unwrap();
    let mut unmatched: Vec<&TextLine> = lines.iter().collect();
    let (mut paddle_text, mut our_text, mut problems) = (Vec::new(), Vec::new(), Vec::new());
    for paddle_line in &expected {
        let (paddle, polygon) = (&paddle_line.line, paddle_line.line.polygon);
        let overlaps: Vec<f32> = unmatched.iter().map(|line| overlap(&polygon, &line.polygon)).collect();
        let best = (0..overlaps.len()).max_by(|&a, &b| overlaps[a].total_cmp(&overlaps[b]));
        let Some(index) = best.filter(|&i| overlaps[i] >= 0.75) else {
            problems.push(format!("no line of ours overlaps PaddleOCR's {:?}", paddle.text));
            continue;
        };
        let ours = unmatched.swap_remove(index);
        let turn = degrees_apart(run_angle(&ours.polygon), run_angle(&polygon));
        println!(
            "{pipeline} {image}: IoU {:.3}\n  PaddleOCR {:.3} {:?}\n  ours      {:.3} {:?}",
            overlaps[index], paddle.confidence, paddle.text, ours.confidence, ours.text
        );
        if read_upright_where_paddle_turned(paddle_line, ours) {
            println!("  read upright, where PaddleOCR turned it");
            continue;
        }
        if turn.abs() > 30.0 {
            problems.push(format!("{:?} is read turned by {turn:.0}° from PaddleOCR's", ours.text));
        }
        if paddle.confidence >= 0.9 {
            if (ours.confidence - paddle.confidence).abs() > 0.05 {
                let (text, confidence) = (&ours.text, ours.confidence);
                problems.push(format!(
                    "{text:?} is read with confidence {confidence} for PaddleOCR's {}",
                    paddle.confidence
                ));
            }
            paddle_text.push(paddle.text.as_str());
            our_text.push(ours.text.as_str());
        }
    }
    for line in unmatched {
        let rescued = dropped.iter().find(|paddle| {
            overlap(&paddle.line.polygon, &line.polygon) >= 0.75 && read_upright_where_paddle_turned(paddle, line)
        });
        match rescued {
            Some(paddle) => println!(
                "{pipeline} {image}: PaddleOCR dropped {:?} ({:.3}), read turned; we read it upright: {:?} ({:.3})",
                paddle.line.text, paddle.line.confidence, line.text, line.confidence
            ),
            None => problems.push(format!("PaddleOCR has no line where we read {:?}", line.text)),
        }
    }
    assert!(problems.is_empty(), "{pipeline} {image}: {problems:#?}");
    character_error_rate(&paddle_text.join("\n"), &our_text.join("\n"))
}

fn matches_paddle(pipeline: &str, det: &str, rec: &str) {
    for image in ["page", "text", "rust-paragraph"] {
        let cer = compare_with_paddle(pipeline, det, rec, image);
        println!("{pipeline} {image}: CER {cer:.4} against PaddleOCR over the lines it reads with confidence");
        assert!(cer <= 0.02, "{pipeline} {image}: CER {cer} against PaddleOCR");
    }
}

#[test]
fn tiny_reads_as_paddle_does() {
    matches_paddle("ppocrv6-tiny", "ppocrv6-tiny-det", "ppocrv6-tiny-rec");
}

#[test]
fn small_reads_as_paddle_does() {
    matches_paddle("ppocrv6-small", "ppocrv6-small-det", "ppocrv6-small-rec");
}

/// On an upright page the orientation classifier must change nothing: with it, every line reads
/// as without it. On this corner of a scanned page (tests/data/README.md) it turned the phone
/// number for PP-OCRv6 small, which then read it upside down at confidence 0.58 as "8  #  1- 7)";
/// on the whole page, the same line and nothing else.
#[test]
fn an_upright_scanned_page_loses_no_line_to_a_half_turn() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/linn-address.png");
    let page = decode(&std::fs::read(path).unwrap()).unwrap();
    for (det, rec) in [("ppocrv6-tiny-det", "ppocrv6-tiny-rec"), ("ppocrv6-small-det", "ppocrv6-small-rec")] {
        let read = |with_orientation| {
            block_on(reader(det, rec, with_orientation).read(&page, &mut |_, _, _| true))
                .unwrap()
                .into_iter()
                .map(|line| (line.text, line.polygon))
                .collect::<Vec<_>>()
        };
        let (with, without) = (read(true), read(false));
        println!("{rec}: {} lines", with.len());
        assert!(with.len() >= 6, "{rec}: {} lines", with.len());
        assert_eq!(with, without, "{rec}");
    }
}

/// Images down to one pixel on a side, and as narrow as a column: each is read (finding nothing,
/// or what it holds), never a panic, which inside the browser's thread pool would hang the job.
#[test]
fn narrow_and_tiny_images_are_read() {
    let reader = reader("ppocrv6-tiny-det", "ppocrv6-tiny-rec", true);
    let paragraph = paragraph();
    for (width, height) in [(1, 1), (1, 40), (16, 16), (16, 200), (200, 16), (31, 31), (4000, 1), (1, 4000)] {
        let image = imageops::resize(&paragraph, width, height, imageops::FilterType::Triangle);
        let lines = block_on(reader.read(&image, &mut |_, _, _| true));
        println!("{width}×{height}: {:?}", lines.as_ref().map(|l| text(l)));
        assert!(lines.is_ok(), "{width}×{height}: {lines:?}");
    }
}

/// One image of `tests/data/ocr-words.toml`: where it lies and the text it shows.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WordsImage {
    name: String,
    eval: Option<String>,
    eval_text: Option<String>,
    repo: Option<String>,
    asset: Option<String>,
    lines: Option<Vec<String>>,
    /// Why words are left out of the truth.
    note: Option<String>,
}

#[derive(serde::Deserialize)]
struct WordsFile {
    image: Vec<WordsImage>,
}

const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

impl WordsImage {
    fn photo(&self) -> Vec<u8> {
        let path = match (&self.eval, &self.repo, &self.asset) {
            (Some(eval), None, None) => eval_dir().join(eval),
            (None, Some(repo), None) => std::path::Path::new(REPOSITORY).join(repo),
            (None, None, Some(asset)) => scene_text_manifest().entry(asset).unwrap().cached_path(),
            _ => panic!("{}: name exactly one of eval, repo and asset", self.name),
        };
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run `just references`", path.display()))
    }

    fn truth(&self) -> String {
        match (&self.lines, &self.eval_text) {
            (Some(lines), None) => lines.join("\n"),
            (None, Some(text)) => std::fs::read_to_string(eval_dir().join(text)).unwrap(),
            _ => panic!("{}: give exactly one of lines and eval_text", self.name),
        }
    }
}

fn scene_text_manifest() -> Manifest {
    Manifest::load(std::path::Path::new(REPOSITORY).join("tests/data/scene-text.toml")).unwrap()
}

fn words_images() -> Vec<WordsImage> {
    let path = std::path::Path::new(REPOSITORY).join("tests/data/ocr-words.toml");
    let file: WordsFile = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file.image
}

/// rapidocr's lines for one image (`just references` runs it on the same model files).
fn rapidocr_text(pipeline: &str, image: &str) -> String {
    let path = cache_dir().join("references/rapidocr").join(pipeline).join(format!("{image}.json"));
    let json = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run `just references`", path.display()));
    let document: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let lines = document["lines"].as_array().unwrap().iter().map(|line| line["text"].as_str().unwrap());
    lines.collect::<Vec<_>>().join("\n")
}

/// Word recall on every image of `tests/data/ocr-words.toml`, beside rapidocr's (PaddleOCR's
/// pipeline as it ships, on the same model files): over the whole set, ours is no lower. Each
/// image's words that one reader found and the other missed are printed, for the step behind
/// them to be found.
fn recalls_as_many_words_as_rapidocr(pipeline: &str, det: &str, rec: &str) {
    let reader = reader(det, rec, true);
    let (mut truth_total, mut ours_total, mut rapidocr_total) = (0, 0, 0);
    for image in words_images() {
        let truth = words(&image.truth());
        let photo = decode(&image.photo()).unwrap();
        let ours = text(&block_on(reader.read(&photo, &mut |_, _, _| true)).unwrap());
        let rapidocr = rapidocr_text(pipeline, &image.name);
        let (ours_found, ours_missed) = recalled(&truth, &words(&ours));
        let (rapidocr_found, rapidocr_missed) = recalled(&truth, &words(&rapidocr));
        println!("{pipeline} {}: {} words; we read {ours_found}, rapidocr {rapidocr_found}", image.name, truth.len());
        if ours_missed != rapidocr_missed {
            if let Some(note) = &image.note {
                println!("  left out of the truth: {note}");
            }
            println!("  we missed {ours_missed:?}\n  rapidocr missed {rapidocr_missed:?}");
            println!(
                "  ours:\n    {}\n  rapidocr:\n    {}",
                ours.replace('\n', "\n    "),
                rapidocr.replace('\n', "\n    ")
            );
        }
        (truth_total, ours_total, rapidocr_total) =
            (truth_total + truth.len(), ours_total + ours_found, rapidocr_total + rapidocr_found);
    }
    let recall = |found: usize| found as f32 / truth_total as f32;
    println!(
        "{pipeline}: word recall {:.3} ({ours_total} of {truth_total}), rapidocr {:.3} ({rapidocr_total})",
        recall(ours_total),
        recall(rapidocr_total)
    );
    assert!(ours_total >= rapidocr_total, "{pipeline}: we read {ours_total} words, rapidocr {rapidocr_total}");
}

#[test]
fn tiny_recalls_as_many_words_as_rapidocr() {
    recalls_as_many_words_as_rapidocr("ppocrv6-tiny", "ppocrv6-tiny-det", "ppocrv6-tiny-rec");
}

#[test]
fn small_recalls_as_many_words_as_rapidocr() {
    recalls_as_many_words_as_rapidocr("ppocrv6-small", "ppocrv6-small-det", "ppocrv6-small-rec");
}

#[test]
fn words_are_counted_as_a_multiset_of_plain_lowercase_words() {
    let truth = words("Street, the THE (818) 708-8131");
    assert_eq!(truth, ["street", "the", "the", "818", "7088131"]);
    assert_eq!(recalled(&truth, &words("the street 818")), (3, vec!["the".to_string(), "7088131".to_string()]));
    assert_eq!(recalled(&truth, &words("thestreet")).0, 0);
}

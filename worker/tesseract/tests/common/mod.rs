//! What the Tesseract reader's tests share: the models the manifest lists, from the cache.

#![allow(dead_code)] // Each test file uses part of this.

use std::path::PathBuf;

/// Languages of the manifest's `tesseract-<lang>` assets, in manifest order.
pub fn languages() -> Vec<String> {
    let manifest = lantern_models::Manifest::load_default().expect("models/manifest.toml parses");
    let languages: Vec<String> =
        manifest.assets.iter().filter_map(|asset| asset.id.strip_prefix("tesseract-").map(str::to_string)).collect();
    assert!(languages.len() >= 8, "the manifest lists {} Tesseract models", languages.len());
    languages
}

/// The languages render_lines.py has test lines for: those compared with Tesseract's own reading.
pub const LANGUAGES_WITH_TEST_LINES: [&str; 8] = ["eng", "ukr", "ara", "hin", "ell", "kor", "heb", "tha"];

/// The cached `.traineddata` of `language`, or a panic saying how to fetch it.
pub fn model_path(language: &str) -> PathBuf {
    let manifest = lantern_models::Manifest::load_default().expect("models/manifest.toml parses");
    let entry = manifest.entry(&format!("tesseract-{language}")).expect("the manifest lists the model");
    let path = entry.cached_path();
    assert!(path.is_file(), "{} is missing; run `just models`", path.display());
    path
}

pub fn model_bytes(language: &str) -> Vec<u8> {
    std::fs::read(model_path(language)).unwrap()
}

/// Where the tests write their renders and the oracle's files: under the cache, never the repo.
pub fn work_dir(name: &str) -> PathBuf {
    let dir = lantern_models::cache_dir().join("tesseract-tests").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One rendered sample line: a short line in a language's script (render_samples.py).
pub struct Sample {
    pub language: String,
    pub png: PathBuf,
    /// Whether the line is in the language's own script; without a font for it, it is Latin.
    pub in_its_script: bool,
}

/// Renders one short line in each language's script at `height` pixels, in one run of the
/// reference environment's Pillow.
pub fn render_samples(languages: &[String], height: usize) -> Vec<Sample> {
    let dir = work_dir(&format!("samples-{height}"));
    let output = std::process::Command::new(venv_python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/render_samples.py"))
        .arg(&dir)
        .arg(height.to_string())
        .args(languages)
        .output()
        .expect("running the sample renderer");
    assert!(output.status.success(), "rendering the samples failed: {}", String::from_utf8_lossy(&output.stderr));
    let samples: Vec<Sample> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (language, script) = line.split_once('\t').expect("LANG<TAB>SCRIPT");
            Sample {
                language: language.to_string(),
                png: dir.join(format!("{language}.png")),
                in_its_script: script != "none",
            }
        })
        .collect();
    assert_eq!(samples.len(), languages.len(), "one sample per language");
    samples
}

/// The reference environment's Python, with Pillow.
fn venv_python() -> PathBuf {
    let python = lantern_models::cache_dir().join("venv").join("bin").join("python");
    assert!(python.is_file(), "{} is missing; run `just setup`", python.display());
    python
}

/// Renders `language`'s test lines at `height` pixels with the reference environment's Pillow
/// and returns each line's PNG, in order.
pub fn render_lines(language: &str, height: usize) -> Vec<PathBuf> {
    let dir = work_dir(&format!("lines/{language}-{height}"));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/render_lines.py");
    let status = std::process::Command::new(venv_python())
        .arg(script)
        .arg(&dir)
        .arg(language)
        .arg(height.to_string())
        .status()
        .expect("running the line renderer");
    assert!(status.success(), "rendering {language} lines failed; are the Noto fonts installed (`just setup`)?");
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "png"))
        .collect();
    pngs.sort();
    assert!(!pngs.is_empty(), "no lines rendered in {}", dir.display());
    pngs
}

/// An 8-bit grey PNG.
pub fn read_grey_png(path: &std::path::Path) -> lantern_tesseract::GreyImage {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(
        (frame.color_type, frame.bit_depth),
        (png::ColorType::Grayscale, png::BitDepth::Eight),
        "{}",
        path.display()
    );
    pixels.truncate(frame.buffer_size());
    lantern_tesseract::GreyImage::new(frame.width as usize, frame.height as usize, pixels)
}

pub fn write_grey_png(path: &std::path::Path, image: &lantern_tesseract::GreyImage) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut encoder = png::Encoder::new(file, image.width as u32, image.height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header().unwrap().write_image_data(&image.pixels).unwrap();
}

/// Tesseract's own reading of a line (`--psm 13`: the whole image is one raw line; `--oem 1`: the
/// LSTM engine), from the same `.traineddata` the reader loads.
pub fn tesseract_cli(png: &std::path::Path, language: &str) -> String {
    let tessdata = work_dir("tessdata");
    let link = tessdata.join(format!("{language}.traineddata"));
    if !link.exists() {
        std::os::unix::fs::symlink(model_path(language), &link).unwrap();
    }
    let output = std::process::Command::new("tesseract")
        .arg(png)
        .args(["-", "--psm", "13", "--oem", "1", "-l", language, "--tessdata-dir"])
        .arg(&tessdata)
        .output()
        .unwrap_or_else(|error| panic!("running tesseract: {error}; install it with `just setup`"));
    assert!(output.status.success(), "tesseract failed: {}", String::from_utf8_lossy(&output.stderr));
    normalise_spaces(&String::from_utf8(output.stdout).unwrap())
}

/// Words separated by single spaces, ends trimmed.
pub fn normalise_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Levenshtein distance in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

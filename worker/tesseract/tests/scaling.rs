//! The reader's line scaling beside leptonica's own `pixScale` (Debian's liblept, which Tesseract
//! links), pixel for pixel, over factors that take each of its paths.

mod common;

use std::path::Path;

/// `png` scaled to `height` by leptonica, through the reference environment's Python.
fn leptonica_scaled(png: &Path, height: usize) -> lantern_tesseract::GreyImage {
    let python = lantern_models::cache_dir().join("venv").join("bin").join("python");
    let output = common::work_dir("leptonica-scaled").join(png.file_name().unwrap());
    let status = std::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/leptonica_scale.py"))
        .arg(png)
        .arg(&output)
        .arg(height.to_string())
        .status()
        .expect("running the leptonica scaler");
    assert!(status.success(), "leptonica failed on {}; is liblept5 installed (`just setup`)?", png.display());
    common::read_grey_png(&output)
}

#[test]
fn lines_scale_as_leptonica_scales_them() {
    // (target, source height): exact halvings (72, 144, 288 → 36; 96 → 48), area maps with the
    // 1-pixel unsharp mask (60, 110 → 36; 64, 200 → 48) and without it below 1/5 (250 → 36),
    // interpolation with the 2-pixel mask below 1.4 (40, 30 → 36; 45 → 48) and without it (20 → 36,
    // 30 → 48), exact doublings (18 → 36, 24 → 48) and quadruplings (9 → 36, 12 → 48).
    let cases = [
        (36, 72),
        (36, 144),
        (36, 288),
        (48, 96),
        (36, 60),
        (48, 64),
        (36, 110),
        (48, 200),
        (36, 250),
        (36, 40),
        (48, 45),
        (36, 30),
        (36, 20),
        (48, 24),
        (36, 18),
        (36, 9),
        (48, 30),
        (48, 12),
    ];
    let mut differing_lines = Vec::new();
    for (target, source) in cases {
        for png in common::render_lines("eng", source) {
            let ours = common::read_grey_png(&png).scaled_to_height(target);
            let theirs = leptonica_scaled(&png, target);
            if ours != theirs {
                differing_lines.push(format!("{source} → {target}: {}", png.display()));
            }
        }
    }
    assert!(differing_lines.is_empty(), "scaled differently from leptonica:\n{}", differing_lines.join("\n"));
}

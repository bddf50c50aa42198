//! Self-hosters' own files: named by `file` in a manifest or in a `local.toml` beside it, verified
//! like downloads, and published with the rest. No network: every source here is on disk.

use std::path::Path;
use std::process::{Command, Output};

use lantern_models::{Manifest, Source, cache_dir};
use sha2::{Digest, Sha256};

const HELLO_SHA256: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn write(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// A cartoonify model in the AnimeGAN convention, read from `file`.
fn animegan_entry(id: &str, file: &str, sha256: &str, size: usize, default: bool) -> String {
    format!(
        r#"
        [[model]]
        id = "{id}"
        tool = "cartoonify"
        title = "AnimeGANv2 (own)"
        default = {default}
        file = "{file}"
        sha256 = "{sha256}"
        size = {size}
        licence = "MIT"
        input = [1, 3, 0, 0]
        [model.preprocess]
        colour = "rgb"
        scale = "unit"
        mean = [0.5, 0.5, 0.5]
        std = [0.5, 0.5, 0.5]
        multiple = 8
        [model.postprocess]
        range = "tanh"
        "#
    )
}

/// A text asset read from `file`.
fn asset_entry(id: &str, file: &str, sha256: &str, size: usize) -> String {
    format!(
        r#"
        [[asset]]
        id = "{id}"
        file = "{file}"
        sha256 = "{sha256}"
        size = {size}
        licence = "MIT"
        "#
    )
}

/// Runs `lantern-models` with its cache at `cache`, from `cwd`.
fn lantern_models(cwd: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lantern-models"))
        .args(args)
        .current_dir(cwd)
        .env("LANTERN_CACHE", cache)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_self_hosted_animegan_model_is_verified_and_published() {
    let source = cache_dir().join("models/animegan-arch.onnx");
    let onnx = std::fs::read(&source).unwrap_or_else(|e| panic!("{}: {e}; run `just references`", source.display()));
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    write(&site.join("own/Hayao.onnx"), &onnx);
    let sha256 = sha256_hex(&onnx);
    write(&site.join("manifest.toml"), animegan_entry("hayao", "own/Hayao.onnx", &sha256, onnx.len(), true));
    // Run from another folder: the relative `file` must be found from the manifest's folder.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let (cache, out) = (dir.path().join("cache"), dir.path().join("out"));
    let manifest = site.join("manifest.toml");
    let manifest = manifest.to_str().unwrap();

    let run = lantern_models(&elsewhere, &cache, &["--manifest", manifest, "fetch", "--out", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(std::fs::read(out.join("hayao.onnx")).unwrap(), onnx);
    assert_eq!(std::fs::read(cache.join("models/hayao.onnx")).unwrap(), onnx);
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    let expected = serde_json::json!({
        "models": [{
            "id": "hayao",
            "file": "hayao.onnx",
            "sha256": sha256,
            "size": onnx.len(),
            "licence": "MIT",
            "tool": "cartoonify",
            "title": "AnimeGANv2 (own)",
            "default": true,
            "input": [1, 3, 0, 0],
            "preprocess": {"colour": "rgb", "scale": "unit", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "multiple": 8},
            "postprocess": {"range": "tanh"}
        }],
        "assets": []
    });
    assert_eq!(index, expected);

    let list = lantern_models(&elsewhere, &cache, &["--manifest", manifest, "list"]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    let listed = format!("file:{}", site.join("own/Hayao.onnx").display());
    assert!(text(&list.stdout).contains(&listed), "{}", text(&list.stdout));
}

#[test]
fn a_local_file_with_the_wrong_sha256_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let words = dir.path().join("words.txt");
    write(&words, b"hello\n");
    let wrong = "ab".repeat(32);
    let manifest = dir.path().join("manifest.toml");
    write(&manifest, asset_entry("words", "words.txt", &wrong, 6));
    let (cache, out) = (dir.path().join("cache"), dir.path().join("out"));

    let run = lantern_models(
        dir.path(),
        &cache,
        &["--manifest", manifest.to_str().unwrap(), "fetch", "--out", out.to_str().unwrap()],
    );
    assert!(!run.status.success());
    let stderr = text(&run.stderr);
    for named in [words.to_str().unwrap(), &wrong, HELLO_SHA256] {
        assert!(stderr.contains(named), "`{named}` is not in: {stderr}");
    }
    assert!(!cache.join("models/words.txt").exists());
    assert!(!out.exists());
}

#[test]
fn relative_file_paths_are_resolved_against_the_manifests_folder() {
    let dir = tempfile::tempdir().unwrap();
    let absolute = dir.path().join("elsewhere/b.txt");
    let manifest = dir.path().join("sub/manifest.toml");
    write(
        &manifest,
        asset_entry("a", "own/a.txt", HELLO_SHA256, 6) + &asset_entry("b", absolute.to_str().unwrap(), HELLO_SHA256, 6),
    );
    let manifest = Manifest::load(&manifest).unwrap();
    let sources: Vec<&Source> = manifest.entries().map(|entry| &entry.source).collect();
    assert_eq!(
        sources,
        [&Source::LocalFile { path: dir.path().join("sub/own/a.txt") }, &Source::LocalFile { path: absolute }]
    );
}

#[test]
fn local_toml_entries_are_merged_after_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let (manifest, local) = (dir.path().join("manifest.toml"), dir.path().join("local.toml"));
    write(&manifest, animegan_entry("shipped", "shipped.onnx", HELLO_SHA256, 6, true));
    let missing = Manifest::load_with_local(&manifest, &local).unwrap();
    let ids: Vec<&str> = missing.entries().map(|entry| entry.id.as_str()).collect();
    assert_eq!(ids, ["shipped"]);

    // Alone, local.toml would lack cartoonify's default model: only the merged whole is checked.
    write(
        &local,
        animegan_entry("own", "own/Hayao.onnx", HELLO_SHA256, 6, false)
            + &asset_entry("notes", "notes.txt", HELLO_SHA256, 6),
    );
    let merged = Manifest::load_with_local(&manifest, &local).unwrap();
    let ids: Vec<&str> = merged.entries().map(|entry| entry.id.as_str()).collect();
    assert_eq!(ids, ["shipped", "own", "notes"]);
    assert_eq!(merged.entry("own").unwrap().source, Source::LocalFile { path: dir.path().join("own/Hayao.onnx") });
}

#[test]
fn an_id_in_both_the_manifest_and_local_toml_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (manifest, local) = (dir.path().join("manifest.toml"), dir.path().join("local.toml"));
    write(&manifest, animegan_entry("shipped", "shipped.onnx", HELLO_SHA256, 6, true));
    write(&local, animegan_entry("shipped", "mine.onnx", HELLO_SHA256, 6, false));
    let error = format!("{:#}", Manifest::load_with_local(&manifest, &local).unwrap_err());
    assert!(error.contains("`shipped` is already an id") && error.contains(local.to_str().unwrap()), "{error}");
}

#[test]
fn a_second_default_in_local_toml_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (manifest, local) = (dir.path().join("manifest.toml"), dir.path().join("local.toml"));
    write(&manifest, animegan_entry("shipped", "shipped.onnx", HELLO_SHA256, 6, true));
    write(&local, animegan_entry("own", "own.onnx", HELLO_SHA256, 6, true));
    let error = format!("{:#}", Manifest::load_with_local(&manifest, &local).unwrap_err());
    assert!(error.contains("exactly one model marked `default = true`"), "{error}");
}

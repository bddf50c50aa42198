//! Every seed and every saved regression input of each fuzz target, through the target's own
//! call: none may panic, and none may take a second (libFuzzer's bar for a hang here); every
//! seed must get all the way through (decoded, run, parsed), or it seeds nothing.
//! `$LANTERN_CACHE/fuzz/seeds/<target>/` (`just fuzz-seeds`; for manifests, models/'s own files)
//! starts `just fuzz`'s corpora;
//! `regressions/<target>/` holds each input that found a bug, named for it, kept once it is fixed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs `call` on the target's seeds and regressions, and on `more` (paths from the repository root).
fn replay(target: &str, call: fn(&[u8]) -> bool, more: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = |folder: PathBuf| -> Vec<PathBuf> {
        std::fs::read_dir(folder.join(target))
            .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
            .unwrap_or_default()
    };
    let mut seeds: Vec<PathBuf> = more.iter().map(|p| root.join("..").join(p)).collect();
    seeds.extend(files(lantern_models::cache_dir().join("fuzz/seeds")));
    assert!(!seeds.is_empty(), "no seeds for {target}: run `just fuzz-seeds`");
    let run = |path: &Path| {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let start = Instant::now();
        let through = call(&bytes);
        let took = start.elapsed();
        assert!(took < Duration::from_secs(1), "{} took {took:?}", path.display());
        through
    };
    for seed in &seeds {
        assert!(run(seed), "the seed {} does not get through", seed.display());
    }
    for regression in files(root.join("regressions")) {
        run(&regression);
    }
}

#[test]
fn decode() {
    replay("decode", lantern_fuzz::decode_image, &[]);
}

#[test]
fn model() {
    replay("model", lantern_fuzz::own_model, &[]);
}

#[test]
fn manifest() {
    replay("manifest", lantern_fuzz::manifest, &["models/manifest.toml", "models/local.example.toml"]);
}

#[test]
fn dictionary() {
    replay("dictionary", lantern_fuzz::dictionary, &[]);
}

#[test]
fn traineddata() {
    replay("traineddata", lantern_fuzz::traineddata, &[]);
}

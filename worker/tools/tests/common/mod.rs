//! What the tool tests that set a whole tool beside a reference implementation share: the
//! evaluation photos, and the outputs `just references` writes of each.

use std::path::PathBuf;

/// The evaluation set (`LANTERN_EVAL`, else `shared/eval` beside the checkout).
pub fn eval_dir() -> PathBuf {
    std::env::var("LANTERN_EVAL")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/eval").into())
        .into()
}

/// Each output in `$LANTERN_CACHE/references/<folder>` (one per evaluation photo, named by its
/// stem), in name order, with the file name of the photo it was made from.
pub fn references_by_photo(folder: &str) -> Vec<(PathBuf, String)> {
    let folder = lantern_models::cache_dir().join("references").join(folder);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}; run `just references`", folder.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 6, "{} references in {}", paths.len(), folder.display());
    paths
        .into_iter()
        .map(|path| {
            let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
            let photo = ["png", "jpg"]
                .map(|extension| format!("{stem}.{extension}"))
                .into_iter()
                .find(|name| eval_dir().join("photos").join(name).exists())
                .unwrap_or_else(|| panic!("no evaluation photo for {stem}"));
            (path, photo)
        })
        .collect()
}

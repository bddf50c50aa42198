//! What the tool tests that set a whole tool beside a reference implementation share: the
//! evaluation photos, and the outputs `just references` writes of each.

use std::path::PathBuf;

/// The evaluation set (`LANTERN_EVAL`, else `shared/eval` beside the checkout).
pub fn eval_dir() -> PathBuf {
    std::env::var("LANTERN_EVAL")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/eval").into())
        .into()
}

/// Where the photos lie: the evaluation set's, and the repository's for Remove background
/// (tests/data/photos, described in tests/data/README.md).
fn photo_folders() -> [PathBuf; 2] {
    [eval_dir().join("photos"), PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/photos"))]
}

/// Each output in `$LANTERN_CACHE/references/<folder>` (one per photo, named by its stem), in
/// name order, with the path of the photo it was made from.
pub fn references_by_photo(folder: &str) -> Vec<(PathBuf, PathBuf)> {
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
            let photo = photo_folders()
                .into_iter()
                .flat_map(|folder| ["png", "jpg", "webp"].map(|extension| folder.join(format!("{stem}.{extension}"))))
                .find(|photo| photo.exists())
                .unwrap_or_else(|| panic!("no evaluation photo for {stem}"));
            (path, photo)
        })
        .collect()
}

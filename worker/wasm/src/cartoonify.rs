//! Cartoonify for the worker: a style network loaded once (the site's, or one the person picks
//! from their own disk), run per image at full resolution.

use js_sys::Function;
use lantern_engine::CpuBackend;
use lantern_tools::cartoonify::{Cartoonifier, Options, Resolution, Style, StyleModel};
use lantern_tools::encode::encode_image;
use lantern_tools::input::decode;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

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
    cartoonifier: Cartoonifier<CpuBackend>,
}

#[wasm_bindgen]
impl Cartoonify {
    /// A network described by its models/index.json entry.
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], entry_json: &str) -> Result<Cartoonify, JsError> {
        let entry = IndexEntry::parse(entry_json)?;
        let model = StyleModel::from_manifest(&entry.preprocess, &entry.postprocess)?;
        Ok(Cartoonify { cartoonifier: Cartoonifier::new(onnx, model, CpuBackend)? })
    }

    /// A network the person brought, run with a named convention: "animegan" (AnimeGANv2
    /// generators: RGB in −1..1, tanh out).
    #[wasm_bindgen(js_name = ownModel)]
    pub fn own_model(onnx: &[u8], preset: &str) -> Result<Cartoonify, JsError> {
        let model = match preset {
            "animegan" => StyleModel::AnimeGan,
            other => return Err(JsError::new(&format!("unknown model preset '{other}'"))),
        };
        Ok(Cartoonify { cartoonifier: Cartoonifier::new(onnx, model, CpuBackend)? })
    }

    /// How many learned styles the network mixes; 0 for a single-style network.
    #[wasm_bindgen(getter)]
    pub fn styles(&self) -> u32 {
        self.cartoonifier.model().styles() as u32
    }

    /// Styles `image` as `options` says (`CartoonifyOptions` in site/protocol.js): styles `first`
    /// and `second` mixed by `mix`, blended with the original by `strength`, at `detail` "fast"
    /// (one pass, upscaled) or "full" (tiles at full resolution), encoded as `output`.
    pub fn process(&self, image: &[u8], options: JsValue, progress: &Function) -> Result<ProcessedImage, JsError> {
        // Read twice: as the encoding, whose fields Remove background shares, and as the style.
        let encoding: Encoding = crate::options(options.clone())?;
        let CartoonifyOptions { first, second, mix, strength, detail } = crate::options(options)?;
        let resolution = match detail.as_str() {
            "fast" => Resolution::Fast { long_side: None },
            "full" => Resolution::FullDetail { tile: TILE, overlap: TILE_OVERLAP },
            other => return Err(JsError::new(&format!("unknown detail '{other}'"))),
        };
        let format = encoding.format()?;
        let options = Options { style: Style { first, second, mix }, strength, resolution };
        let picture = decode(image)?;
        let cartoon = self.cartoonifier.cartoonify(&picture, &options, &mut crate::js_progress(progress))?;
        Ok(ProcessedImage { bytes: encode_image(&cartoon, format)?, width: cartoon.width(), height: cartoon.height() })
    }
}

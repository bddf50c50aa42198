//! Remove background for the worker: one instance per model, planned once, run per image.

use js_sys::Function;
use lantern_engine::CpuBackend;
use lantern_tools::input::decode;
use lantern_tools::remove_background::{BackgroundRemover, Output, encode};
use wasm_bindgen::prelude::*;

use crate::{Encoding, IndexEntry, ProcessedImage};

#[wasm_bindgen]
pub struct RemoveBackground {
    remover: BackgroundRemover<CpuBackend>,
}

#[wasm_bindgen]
impl RemoveBackground {
    /// `entry_json` is the model's entry in models/index.json.
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], entry_json: &str) -> Result<RemoveBackground, JsError> {
        let entry = IndexEntry::parse(entry_json)?;
        let remover = BackgroundRemover::new(onnx, &entry.preprocess, &entry.postprocess, CpuBackend)?;
        Ok(RemoveBackground { remover })
    }

    /// Decodes `image`, removes its background at full resolution and encodes it as
    /// `options.output` ("png", "webp", "jpeg" on `options.background` "#rrggbb", or "mask"):
    /// `RemoveBackgroundOptions` in site/protocol.js. `progress(done, total)` is called after
    /// every network step.
    pub fn process(&self, image: &[u8], options: JsValue, progress: &Function) -> Result<ProcessedImage, JsError> {
        let encoding: Encoding = crate::options(options)?;
        let output = match encoding.output.as_str() {
            "mask" => Output::Mask,
            _ => Output::CutOut(encoding.format()?),
        };
        let picture = decode(image)?;
        let mask = self.remover.mask(&picture, &mut crate::js_progress(progress))?;
        let bytes = encode(&picture, &mask, output)?;
        Ok(ProcessedImage { bytes, width: picture.width(), height: picture.height() })
    }
}

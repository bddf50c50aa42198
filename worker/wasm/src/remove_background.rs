//! Remove background for the worker: one instance per model, planned once, run per image.

use js_sys::Function;
use lantern_engine::CpuBackend;
use lantern_tools::input::decode;
use lantern_tools::remove_background::{BackgroundRemover, Output, encode};
use wasm_bindgen::prelude::*;

use crate::{IndexEntry, ProcessedImage, image_format};

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

    /// Decodes `image`, removes its background at full resolution and encodes it as `output`
    /// ("png", "webp", "jpeg" on `background` "#rrggbb", or "mask"). `progress(done, total)` is
    /// called after every network step.
    pub fn process(
        &self,
        image: &[u8],
        output: &str,
        background: &str,
        quality: u8,
        progress: &Function,
    ) -> Result<ProcessedImage, JsError> {
        let output = match output {
            "mask" => Output::Mask,
            format => Output::CutOut(image_format(format, background, quality)?),
        };
        let picture = decode(image)?;
        let mask = self.remover.mask(&picture, &mut crate::js_progress(progress))?;
        let bytes = encode(&picture, &mask, output)?;
        Ok(ProcessedImage { bytes, width: picture.width(), height: picture.height() })
    }
}

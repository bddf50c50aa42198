//! Remove background for the worker: one instance per model, planned once, run per image.

use js_sys::Function;
use lantern_engine::CpuBackend;
use lantern_models::{Postprocess, Preprocess};
use lantern_tools::input::decode;
use lantern_tools::remove_background::{BackgroundRemover, Output, encode};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

/// The fields of a models/index.json entry this tool reads.
#[derive(Deserialize)]
struct Entry {
    preprocess: Preprocess,
    postprocess: Postprocess,
}

#[wasm_bindgen]
pub struct RemoveBackground {
    remover: BackgroundRemover<CpuBackend>,
}

#[wasm_bindgen(getter_with_clone)]
pub struct ProcessedImage {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[wasm_bindgen]
impl RemoveBackground {
    /// `entry_json` is the model's entry in models/index.json.
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], entry_json: &str) -> Result<RemoveBackground, JsError> {
        let entry: Entry = serde_json::from_str(entry_json).map_err(|e| JsError::new(&format!("bad model entry: {e}")))?;
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
            "png" => Output::Png,
            "webp" => Output::WebP,
            "jpeg" => Output::Jpeg { background: parse_colour(background)?, quality },
            "mask" => Output::Mask,
            other => return Err(JsError::new(&format!("unknown output format '{other}'"))),
        };
        let picture = decode(image)?;
        let mask = self.remover.mask(&picture, &mut |done, total| {
            progress.call2(&JsValue::NULL, &(done as u32).into(), &(total as u32).into()).map_or(true, |v| v.is_truthy())
        })?;
        let bytes = encode(&picture, &mask, output)?;
        Ok(ProcessedImage { bytes, width: picture.width(), height: picture.height() })
    }
}

fn parse_colour(hex: &str) -> Result<[u8; 3], JsError> {
    let digits = hex.strip_prefix('#').filter(|d| d.len() == 6 && d.chars().all(|c| c.is_ascii_hexdigit()));
    let digits = digits.ok_or_else(|| JsError::new(&format!("'{hex}' is not a #rrggbb colour")))?;
    Ok(std::array::from_fn(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).expect("checked hex digits")))
}

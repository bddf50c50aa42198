//! Remove background for the worker: one instance per model, planned once, run per image.

use js_sys::Function;
use lantern_engine::CpuBackend;
use lantern_tools::encode::ImageFormat;
use lantern_tools::input::decode;
use lantern_tools::remove_background::{BackgroundRemover, Output, encode};
use wasm_bindgen::prelude::*;

use crate::IndexEntry;


#[wasm_bindgen]
pub struct RemoveBackground {
    remover: BackgroundRemover<CpuBackend>,
}

/// An encoded result image and its size in pixels.
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

/// "png", "webp" or "jpeg" (flattened onto `background`, "#rrggbb").
pub fn image_format(format: &str, background: &str, quality: u8) -> Result<ImageFormat, JsError> {
    match format {
        "png" => Ok(ImageFormat::Png),
        "webp" => Ok(ImageFormat::WebP),
        "jpeg" => Ok(ImageFormat::Jpeg { background: parse_colour(background)?, quality }),
        other => Err(JsError::new(&format!("unknown output format '{other}'"))),
    }
}

fn parse_colour(hex: &str) -> Result<[u8; 3], JsError> {
    let digits = hex.strip_prefix('#').filter(|d| d.len() == 6 && d.chars().all(|c| c.is_ascii_hexdigit()));
    let digits = digits.ok_or_else(|| JsError::new(&format!("'{hex}' is not a #rrggbb colour")))?;
    Ok(std::array::from_fn(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).expect("checked hex digits")))
}

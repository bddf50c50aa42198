//! Image to text for the worker: detection, orientation and recognition networks loaded once,
//! run per image; the results come back in every download format at once.

use js_sys::Function;
use lantern_engine::CpuBackend;
use lantern_tools::image_to_text::{self, ReadStage, TextReader};
use lantern_tools::input::decode;
use lantern_tools::text_formats;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::IndexEntry;

/// JPEG quality of the page image inside the searchable PDF.
const PDF_QUALITY: u8 = 85;

/// `ImageToTextOptions` in site/protocol.js.
#[derive(Deserialize)]
struct ImageToTextOptions {
    /// Names the image inside the hOCR file.
    title: String,
}

#[wasm_bindgen]
pub struct ImageToText {
    reader: TextReader<CpuBackend>,
}

/// What was read, in each download format; `json` also carries the lines' polygons for display.
#[wasm_bindgen(getter_with_clone)]
pub struct TextResult {
    pub text: String,
    pub json: String,
    pub hocr: String,
    pub pdf: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[wasm_bindgen]
impl ImageToText {
    /// Each network with its models/index.json entry; the orientation classifier is optional.
    #[wasm_bindgen(constructor)]
    pub fn new(
        det_onnx: &[u8],
        det_entry: &str,
        rec_onnx: &[u8],
        rec_entry: &str,
        dictionary: &str,
        cls_onnx: Option<Vec<u8>>,
        cls_entry: Option<String>,
    ) -> Result<ImageToText, JsError> {
        let (det, rec) = (IndexEntry::parse(det_entry)?, IndexEntry::parse(rec_entry)?);
        let cls = match (&cls_onnx, cls_entry) {
            (Some(onnx), Some(json)) => Some((onnx, IndexEntry::parse(&json)?)),
            (None, None) => None,
            _ => return Err(JsError::new("the orientation network needs both its file and its entry")),
        };
        let cls_spec = cls.as_ref().map(|(onnx, entry)| entry.spec(onnx));
        let reader =
            TextReader::new(&det.spec(det_onnx), &rec.spec(rec_onnx), dictionary, cls_spec.as_ref(), CpuBackend)?;
        Ok(ImageToText { reader })
    }

    /// Reads the text in `image`; `options` is `ImageToTextOptions` in site/protocol.js.
    /// `progress(stage, done, total)` names the stage ("detect", "classify", "recognise") and its
    /// share done (lines, while recognising); returning false cancels.
    pub fn process(&self, image: &[u8], options: JsValue, progress: &Function) -> Result<TextResult, JsError> {
        let ImageToTextOptions { title } = crate::options(options)?;
        let picture = decode(image)?;
        let lines = self.reader.read(&picture, &mut |stage, done, total| {
            let stage = match stage {
                ReadStage::Detect => "detect",
                ReadStage::Orient => "classify",
                ReadStage::Recognise => "recognise",
            };
            progress
                .call3(&JsValue::NULL, &JsValue::from_str(stage), &(done as u32).into(), &(total as u32).into())
                .map_or(true, |v| v.is_truthy())
        })?;
        let (width, height) = picture.dimensions();
        Ok(TextResult {
            text: image_to_text::text(&lines),
            json: text_formats::json(&lines, width, height),
            hocr: text_formats::hocr(&lines, width, height, &title),
            pdf: text_formats::searchable_pdf(&picture, &lines, PDF_QUALITY)?,
            width,
            height,
        })
    }
}

//! Image to text for the worker: detection, orientation and recognition networks loaded once,
//! run per image; the results come back in every download format at once.

use js_sys::Function;
use lantern_engine::{CpuBackend, GpuBackend};
use lantern_tools::image_to_text::{self, NetworkSpec, ReadStage, TextReader};
use lantern_tools::input::resolution;
use lantern_tools::text_formats;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::IndexEntry;
use crate::backend::{self, OnBackend, build_on, on_backend};

/// JPEG quality of the page image inside the searchable PDF.
const PDF_QUALITY: u8 = 85;
/// The searchable PDF's pixels per inch where the image names none: 72, one PDF point a pixel.
const UNSTATED_RESOLUTION: (f32, f32) = (72.0, 72.0);

/// `ImageToTextOptions` in site/protocol.js.
#[derive(Deserialize)]
struct ImageToTextOptions {
    /// Names the image inside the hOCR file.
    title: String,
}

#[wasm_bindgen]
pub struct ImageToText {
    reader: OnBackend<TextReader<CpuBackend>, TextReader<GpuBackend>>,
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
    /// As in `ProcessedImage`.
    pub warning: Option<String>,
}

/// One network of Image to text: its file and its models/index.json entry.
#[wasm_bindgen]
pub struct Network {
    onnx: Vec<u8>,
    entry: IndexEntry,
}

#[wasm_bindgen]
impl Network {
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: Vec<u8>, entry_json: &str) -> Result<Network, JsError> {
        Ok(Network { onnx, entry: IndexEntry::parse(entry_json)? })
    }
}

impl Network {
    fn spec(&self) -> NetworkSpec<'_> {
        self.entry.spec(&self.onnx)
    }
}

#[wasm_bindgen]
impl ImageToText {
    /// Reads text with these networks (the orientation classifier is optional) and the
    /// recogniser's dictionary, on the backend a `BackendChoice` (site/worker.js) names.
    #[wasm_bindgen(constructor)]
    pub fn new(
        detect: Network,
        recognise: Network,
        dictionary: &str,
        orientation: Option<Network>,
        backend: JsValue,
    ) -> Result<ImageToText, JsError> {
        let (det, rec) = (detect.spec(), recognise.spec());
        let cls = orientation.as_ref().map(Network::spec);
        let reader = build_on!(backend::chosen(backend)?, backend => TextReader::new(&det, &rec, dictionary, cls.as_ref(), backend)?);
        Ok(ImageToText { reader })
    }

    /// Reads the text in `image`; `options` is `ImageToTextOptions` in site/protocol.js.
    /// `progress(stage, done, total)` names the stage ("detect", "classify", "recognise") and its
    /// share done (lines, while recognising); returning false cancels. "encode" (1 of 1) follows
    /// once the lines are read, while the downloads are written. Engine failures on the GPU
    /// reject as a "GpuError".
    pub async fn process(&self, image: Vec<u8>, options: JsValue, progress: Function) -> Result<TextResult, JsValue> {
        let ImageToTextOptions { title } = crate::options(options)?;
        let picture = crate::decode_photo(&image)?;
        let mut report = |stage, done: usize, total: usize| {
            let stage = match stage {
                ReadStage::Detect => "detect",
                ReadStage::Orient => "classify",
                ReadStage::Recognise => "recognise",
            };
            progress
                .call3(&JsValue::NULL, &JsValue::from_str(stage), &(done as u32).into(), &(total as u32).into())
                .map_or(true, |v| v.is_truthy())
        };
        let lines = on_backend!(&self.reader, reader => reader.read(&picture, &mut report).await)
            .map_err(|e| self.reader.error(e))?;
        progress.call3(&JsValue::NULL, &JsValue::from_str("encode"), &1.into(), &1.into())?;
        let (width, height) = picture.dimensions();
        Ok(TextResult {
            text: image_to_text::text(&lines),
            json: text_formats::json(&lines, width, height),
            hocr: text_formats::hocr(&lines, width, height, &title),
            pdf: text_formats::searchable_pdf(
                &picture,
                &lines,
                PDF_QUALITY,
                resolution(&image).unwrap_or(UNSTATED_RESOLUTION),
            )
            .map_err(JsError::from)?,
            width,
            height,
            warning: crate::input_warning(&image),
        })
    }
}

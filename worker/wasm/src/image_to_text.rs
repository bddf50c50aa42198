//! Image to text for the worker: detection, orientation and recognition networks loaded once,
//! run per image; the results come back in every download format at once.

use js_sys::Function;
use lantern_engine::{CpuBackend, GpuBackend};
use lantern_tools::ToolError;
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

#[wasm_bindgen]
pub struct ImageToText {
    reader: OnBackend<TextReader<CpuBackend>, TextReader<GpuBackend>>,
}

/// What was read: the text, and the lines with their polygons (for display and the exports).
#[wasm_bindgen(getter_with_clone)]
pub struct TextResult {
    pub text: String,
    /// The lines with their polygons; `exportText` builds hOCR and the PDF from it when asked.
    pub json: String,
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

/// A Tesseract `.traineddata` model and its models/index.json entry, which names its language.
#[wasm_bindgen]
pub struct TesseractModel {
    traineddata: Vec<u8>,
    entry: TesseractEntry,
}

/// The part of a Tesseract model's index entry this reads.
#[derive(Deserialize)]
struct TesseractEntry {
    language: Language,
}

#[derive(Deserialize)]
struct Language {
    english: String,
}

#[wasm_bindgen]
impl TesseractModel {
    #[wasm_bindgen(constructor)]
    pub fn new(traineddata: Vec<u8>, entry_json: &str) -> Result<TesseractModel, JsError> {
        let entry = serde_json::from_str(entry_json).map_err(|e| JsError::new(&format!("bad model entry: {e}")))?;
        Ok(TesseractModel { traineddata, entry })
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

    /// Reads text with PP-OCR's detector (and orientation classifier, if given) finding the lines
    /// and a Tesseract model reading them: for the languages PP-OCR's recognisers do not read.
    /// A model the reader refuses is named by its language, with the reason.
    #[wasm_bindgen(js_name = withTesseract)]
    pub fn with_tesseract(
        detect: Network,
        model: TesseractModel,
        orientation: Option<Network>,
        backend: JsValue,
    ) -> Result<ImageToText, JsError> {
        let det = detect.spec();
        let cls = orientation.as_ref().map(Network::spec);
        let refused = |e: ToolError| match e {
            ToolError::TesseractModel(reason) => {
                JsError::new(&format!("The {} text model cannot be used: {reason}.", model.entry.language.english))
            }
            other => other.into(),
        };
        let reader = build_on!(backend::chosen(backend)?, backend => TextReader::with_tesseract(&det, &model.traineddata, cls.as_ref(), backend).map_err(refused)?);
        Ok(ImageToText { reader })
    }

    /// Reads the text in `image`.
    /// `progress(stage, done, total)` names the stage ("detect", "classify", "recognise") and its
    /// share done (lines, while recognising); returning false cancels. "encode" (1 of 1) follows
    /// once the lines are read, while the text and JSON are written. Engine failures on the GPU
    /// reject as a "GpuError".
    pub async fn process(&self, image: Vec<u8>, progress: Function) -> Result<TextResult, JsValue> {
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
            width,
            height,
            warning: crate::input_warning(&image),
        })
    }
}

/// What `exportText` builds: `ExportMessage` in site/protocol.js without the image.
#[derive(Deserialize)]
struct ExportOptions {
    /// "hocr" or "pdf".
    format: String,
    /// The reading's `TextResult.json`.
    json: String,
    /// Names the image inside the hOCR file.
    title: String,
}

/// Image to text's hOCR or searchable PDF, built when the person asks for one, from the image
/// file and the lines read (`TextResult.json`). Building both for every reading cost about a
/// second on a 12 MP photo (the PDF's full-resolution JPEG), mostly for files nobody downloads;
/// nothing is kept between a reading and its exports.
#[wasm_bindgen(js_name = exportText)]
pub fn export_text(image: Vec<u8>, options: JsValue) -> Result<Vec<u8>, JsValue> {
    let ExportOptions { format, json, title } = crate::options(options)?;
    let (lines, width, height) = text_formats::from_json(&json).map_err(JsError::from)?;
    match format.as_str() {
        "hocr" => Ok(text_formats::hocr(&lines, width, height, &title).into_bytes()),
        "pdf" => {
            let picture = crate::decode_photo(&image)?;
            let pixels_per_inch = resolution(&image).unwrap_or(UNSTATED_RESOLUTION);
            Ok(text_formats::searchable_pdf(&picture, &lines, PDF_QUALITY, pixels_per_inch).map_err(JsError::from)?)
        }
        other => Err(JsError::new(&format!("unknown export format '{other}'")).into()),
    }
}

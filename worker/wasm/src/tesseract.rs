//! The Tesseract line reader alone, without PP-OCR's detector: one `.traineddata` model reading
//! text lines that are already cut out. It is what `ModelRunner` is to the networks: the engine
//! level, for the browser parity test (tests/browser/tesseract.test.js) and the line benchmark
//! (benches/browser/tesseract.js), which compare it with Tesseract's own CLI. The page reads
//! whole images through `ImageToText.withTesseract` instead.
//!
//! ```js
//! const reader = new LineReader(traineddataBytes);
//! const { text, confidence } = reader.readImage(pngBytes);
//! const line = reader.readGrey(width, height, greyPixels, { fitMargin: true });
//! const readings = reader.readImages([png1, png2]); // on the worker pool in the threaded build
//! ```

use js_sys::Uint8Array;
use lantern_tesseract::{GreyImage, Recogniser};
use rayon::prelude::*;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

/// A Tesseract LSTM model ready to read lines.
#[wasm_bindgen]
pub struct LineReader {
    recogniser: Recogniser,
}

/// One line read: its text in reading order, the network's mean confidence (0 to 1), and whether
/// it was read as light text on a dark ground.
#[wasm_bindgen(getter_with_clone)]
pub struct LineReading {
    pub text: String,
    pub confidence: f32,
    pub inverted: bool,
}

/// How a line is read (`{ fitMargin }`, every field optional).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ReadOptions {
    /// Cut the line to its ink and pad it with the margin Tesseract trained with, as the page does
    /// with the lines its detector finds; by default the line is read as it is given, as Tesseract's
    /// CLI reads an image with `--psm 13`.
    #[serde(default)]
    fit_margin: bool,
}

impl ReadOptions {
    const FIELDS: [&str; 1] = ["fitMargin"];

    /// The options object, or the defaults for none. serde-wasm-bindgen reads only the fields it
    /// knows, so a misspelt one is looked for here: silently ignored, it would time or test the
    /// wrong reading.
    fn from_js(value: Option<JsValue>) -> Result<ReadOptions, JsError> {
        let Some(value) = value.filter(|value| !value.is_undefined() && !value.is_null()) else {
            return Ok(ReadOptions::default());
        };
        if let Some(object) = value.dyn_ref::<js_sys::Object>() {
            for key in js_sys::Object::keys(object).iter().filter_map(|key| key.as_string()) {
                if !Self::FIELDS.contains(&key.as_str()) {
                    let expected = Self::FIELDS.map(|field| format!("`{field}`")).join(", ");
                    return Err(JsError::new(&format!("invalid options: unknown field `{key}`, expected {expected}")));
                }
            }
        }
        crate::options(value)
    }
}

#[wasm_bindgen]
impl LineReader {
    /// Reads a `.traineddata` file's LSTM recogniser; a file it cannot use is refused with the
    /// reason, worded for a person.
    #[wasm_bindgen(constructor)]
    pub fn new(traineddata: &[u8]) -> Result<LineReader, JsError> {
        let recogniser = Recogniser::from_traineddata(traineddata)
            .map_err(|reason| JsError::new(&format!("This Tesseract model cannot be used: {reason}.")))?;
        Ok(LineReader { recogniser })
    }

    /// The height, in pixels, the network reads lines at; other heights are scaled to it.
    #[wasm_bindgen(getter, js_name = inputHeight)]
    pub fn input_height(&self) -> u32 {
        self.recogniser.input_height() as u32
    }

    /// Reads one line from 8-bit grey pixels, row by row.
    #[wasm_bindgen(js_name = readGrey)]
    pub fn read_grey(
        &self,
        width: u32,
        height: u32,
        pixels: Vec<u8>,
        #[wasm_bindgen(unchecked_optional_param_type = "{ fitMargin?: boolean }")] options: Option<JsValue>,
    ) -> Result<LineReading, JsError> {
        let options = ReadOptions::from_js(options)?;
        let expected = width as usize * height as usize;
        if pixels.len() != expected {
            return Err(JsError::new(&format!(
                "A {width}×{height} grey line has {expected} pixels, but {} bytes were given.",
                pixels.len()
            )));
        }
        Ok(self.read(&GreyImage::new(width as usize, height as usize, pixels), &options))
    }

    /// Reads one line from an image file's bytes (PNG, JPEG, WebP, … as the page takes them),
    /// made grey as the page makes its lines grey. A file that cannot be read rejects as the page's
    /// tools do ("ImageUnreadable" or "ImageTooLarge").
    #[wasm_bindgen(js_name = readImage)]
    pub fn read_image(
        &self,
        image: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "{ fitMargin?: boolean }")] options: Option<JsValue>,
    ) -> Result<LineReading, JsValue> {
        let options = ReadOptions::from_js(options)?;
        Ok(self.read(&grey_line(image)?, &options))
    }

    /// Reads several lines from image files, in their order. In the threaded build the lines are
    /// read at once on the worker pool, as the page reads a page's lines; in the single-thread
    /// build one after another.
    #[wasm_bindgen(js_name = readImages)]
    pub fn read_images(
        &self,
        images: Vec<Uint8Array>,
        #[wasm_bindgen(unchecked_optional_param_type = "{ fitMargin?: boolean }")] options: Option<JsValue>,
    ) -> Result<Vec<LineReading>, JsValue> {
        let options = ReadOptions::from_js(options)?;
        let files: Vec<Vec<u8>> = images.iter().map(Uint8Array::to_vec).collect();
        let lines = files.iter().map(|file| grey_line(file)).collect::<Result<Vec<_>, _>>()?;
        Ok(lines.par_iter().map(|line| self.read(line, &options)).collect())
    }
}

impl LineReader {
    fn read(&self, line: &GreyImage, options: &ReadOptions) -> LineReading {
        let reading =
            if options.fit_margin { self.recogniser.recognise_detected(line) } else { self.recogniser.recognise(line) };
        LineReading { text: reading.text, confidence: reading.confidence, inverted: reading.inverted }
    }
}

/// An image file's pixels made grey with the weights the page's Tesseract lines use (alpha
/// dropped, as there); a grey file keeps its levels.
fn grey_line(image: &[u8]) -> Result<GreyImage, JsValue> {
    let picture = crate::decode_photo(image)?;
    let (width, height) = (picture.width() as usize, picture.height() as usize);
    let rgb: Vec<u8> = picture.as_raw().chunks_exact(4).flat_map(|pixel| [pixel[0], pixel[1], pixel[2]]).collect();
    Ok(GreyImage::from_rgb(width, height, &rgb))
}

//! Remove background for the worker: one instance per model and backend, planned once, run per image.

use js_sys::Function;
use lantern_engine::{CpuBackend, GpuBackend};
use lantern_tools::remove_background::{Backdrop, BackgroundRemover, Output, encode};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::backend::{self, OnBackend, build_on, on_backend};
use crate::{Encoding, IndexEntry, ProcessedImage};

/// The new background `RemoveBackgroundOptions` may ask for, besides the encoding's fields.
#[derive(Deserialize)]
struct BackdropOptions {
    /// "colour" (`background`), "blur" (the photo's own, blurred) or "picture"; none: transparent.
    backdrop: Option<String>,
    /// The picture's file, for "picture".
    picture: Option<serde_bytes::ByteBuf>,
}

#[wasm_bindgen]
pub struct RemoveBackground {
    remover: OnBackend<BackgroundRemover<CpuBackend>, BackgroundRemover<GpuBackend>>,
}

#[wasm_bindgen]
impl RemoveBackground {
    /// `entry_json` is the model's entry in models/index.json; `backend` is a `BackendChoice`
    /// (site/worker.js). Planning on the GPU fails as a "GpuError" where the network does not fit it.
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], entry_json: &str, backend: JsValue) -> Result<RemoveBackground, JsValue> {
        let entry = IndexEntry::parse(entry_json)?;
        let backend = backend::chosen(backend)?;
        let side = backend.side();
        let remover = build_on!(backend, backend => BackgroundRemover::new(onnx, &entry.preprocess, &entry.postprocess, backend)
            .map_err(|e| side.error(e))?);
        Ok(RemoveBackground { remover })
    }

    /// Decodes `image`, removes its background at full resolution and encodes it as
    /// `options.output` ("png", "webp", "jpeg" on `options.background` "#rrggbb", or "mask"), on
    /// `options.backdrop` where one is asked for: `RemoveBackgroundOptions` in site/protocol.js.
    /// `progress(done, total)` is called after every network step. Engine failures on the GPU
    /// reject as a "GpuError".
    pub async fn process(
        &self,
        image: Vec<u8>,
        options: JsValue,
        progress: Function,
    ) -> Result<ProcessedImage, JsValue> {
        let encoding: Encoding = crate::options(options.clone())?;
        let BackdropOptions { backdrop, picture } = crate::options(options)?;
        let backdrop = match (backdrop.as_deref(), picture) {
            (None, _) => None,
            (Some("colour"), _) => Some(Backdrop::Colour(crate::parse_colour(&encoding.background)?)),
            (Some("blur"), _) => Some(Backdrop::Blur),
            (Some("picture"), Some(bytes)) => Some(Backdrop::Picture(
                lantern_tools::input::decode(&bytes)
                    .map_err(|e| JsError::new(&format!("The background picture cannot be used: {e}")))?,
            )),
            (Some("picture"), None) => return Err(JsError::new("Choose the background picture first.").into()),
            (Some(other), _) => return Err(JsError::new(&format!("unknown backdrop '{other}'")).into()),
        };
        let output = match (encoding.output.as_str(), backdrop) {
            ("mask", _) => Output::Mask,
            (_, Some(backdrop)) => Output::OnBackdrop(backdrop, encoding.format()?),
            (_, None) => Output::CutOut(encoding.format()?),
        };
        let picture = crate::decode_photo(&image)?;
        let mut progress = crate::js_progress(&progress);
        let mask = on_backend!(&self.remover, remover => remover.mask(&picture, &mut progress).await)
            .map_err(|e| self.remover.error(e))?;
        let bytes = encode(&picture, &mask, output).map_err(JsError::from)?;
        Ok(ProcessedImage {
            bytes,
            width: picture.width(),
            height: picture.height(),
            warning: crate::input_warning(&image),
        })
    }
}

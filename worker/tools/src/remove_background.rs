//! Remove background: a salient-object network predicts a mask at its own size; the mask is
//! scaled back to the photo's full resolution and becomes its alpha.

use std::io::Cursor;

use image::codecs::png::PngEncoder;
use image::imageops;
use image::{GrayImage, ImageBuffer, ImageEncoder, Luma, RgbaImage};
use lantern_engine::{Backend, Model as Network, Session};
use lantern_models::{Filter, Postprocess, Preprocess, Range};

use crate::ToolError;
use crate::encode::{ImageFormat, encode_image};
use crate::tensor::{filter_type, image_to_nchw, resize};

/// What the person downloads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Output {
    /// The cut-out, transparent where the background was.
    CutOut(ImageFormat),
    /// The mask alone, white where the subject is (PNG).
    Mask,
}

pub struct BackgroundRemover<B: Backend> {
    session: Session<B>,
    preprocess: Preprocess,
    postprocess: Postprocess,
    size: u32,
}

impl<B: Backend> BackgroundRemover<B> {
    /// Plans the network once at its working size, as its manifest entry describes it.
    pub fn new(onnx: &[u8], preprocess: &Preprocess, postprocess: &Postprocess, backend: B) -> Result<Self, ToolError> {
        let size = preprocess.size.ok_or_else(|| ToolError::Model("the manifest gives no input size".into()))?;
        let network = Network::from_bytes(onnx)?;
        let input = network.inputs.first().ok_or_else(|| ToolError::Model("the network has no input".into()))?;
        let output = match &postprocess.output {
            Some(name) => name.clone(),
            None => {
                network.outputs.first().cloned().ok_or_else(|| ToolError::Model("the network has no output".into()))?
            }
        };
        let side = size as usize;
        let plan = network.plan(&[(input.name.as_str(), &[1, 3, side, side])], Some(&[output.as_str()]))?;
        Ok(BackgroundRemover {
            session: Session::new(plan, backend)?,
            preprocess: preprocess.clone(),
            postprocess: postprocess.clone(),
            size,
        })
    }

    pub fn backend(&self) -> &B {
        self.session.backend()
    }

    /// The mask at the network's working size, 0..1. `progress(done, total)` returning false cancels.
    pub async fn network_mask(
        &self,
        image: &RgbaImage,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<ImageBuffer<Luma<f32>, Vec<f32>>, ToolError> {
        let input = image_to_nchw(image, self.size, self.size, &self.preprocess);
        let output = self.session.run_async(&[input], progress).await?.remove(0);
        let mut values = output.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(lantern_engine::Error::from)?;
        let expected = (self.size * self.size) as usize;
        if values.len() != expected {
            return Err(ToolError::Model(format!("the mask has {} values, expected {expected}", values.len())));
        }
        match self.postprocess.range.unwrap_or(Range::Unit) {
            Range::MinMax => {
                let (lo, hi) = values.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                let span = (hi - lo).max(f32::EPSILON);
                values.iter_mut().for_each(|v| *v = (*v - lo) / span);
            }
            Range::Unit => values.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0)),
            Range::Tanh => values.iter_mut().for_each(|v| *v = ((*v + 1.0) / 2.0).clamp(0.0, 1.0)),
        }
        Ok(ImageBuffer::from_raw(self.size, self.size, values).expect("length checked above"))
    }

    /// The mask at the image's own resolution.
    pub async fn mask(
        &self,
        image: &RgbaImage,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<GrayImage, ToolError> {
        let small = self.network_mask(image, progress).await?;
        let filter = self.postprocess.filter.unwrap_or(Filter::Bicubic);
        Ok(upscale_mask(&small, image.width(), image.height(), filter))
    }
}

/// The mask at `width`×`height`, 8-bit. Bilinear and bicubic resize the float mask, so edges stay
/// smooth at any size; Lanczos resizes it as rembg does: stored in 8 bits first, fractions dropped.
pub fn upscale_mask(mask: &ImageBuffer<Luma<f32>, Vec<f32>>, width: u32, height: u32, filter: Filter) -> GrayImage {
    if filter == Filter::Lanczos {
        let stored = GrayImage::from_fn(mask.width(), mask.height(), |x, y| {
            Luma([(mask.get_pixel(x, y)[0].clamp(0.0, 1.0) * 255.0) as u8])
        });
        return resize(&stored, width, height, Filter::Lanczos);
    }
    let full = imageops::resize(mask, width, height, filter_type(filter));
    GrayImage::from_fn(width, height, |x, y| Luma([(full.get_pixel(x, y)[0].clamp(0.0, 1.0) * 255.0).round() as u8]))
}

/// The image with the mask multiplied into its alpha.
pub fn cut_out(image: &RgbaImage, mask: &GrayImage) -> RgbaImage {
    let mut out = image.clone();
    for (p, m) in out.pixels_mut().zip(mask.pixels()) {
        p[3] = ((p[3] as u16 * m[0] as u16 + 127) / 255) as u8;
    }
    out
}

/// Encodes the result in the format the person chose.
pub fn encode(image: &RgbaImage, mask: &GrayImage, output: Output) -> Result<Vec<u8>, ToolError> {
    match output {
        Output::CutOut(format) => encode_image(&cut_out(image, mask), format),
        Output::Mask => {
            let mut bytes = Vec::new();
            let (w, h) = mask.dimensions();
            PngEncoder::new(Cursor::new(&mut bytes)).write_image(mask, w, h, image::ExtendedColorType::L8)?;
            Ok(bytes)
        }
    }
}

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
use crate::tensor::{image_to_nchw, resize};

/// What the person downloads.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// The cut-out, transparent where the background was.
    CutOut(ImageFormat),
    /// The subject on a new background, opaque, at the photo's full resolution.
    OnBackdrop(Backdrop, ImageFormat),
    /// The mask alone, white where the subject is (PNG).
    Mask,
}

/// A new background for the subject.
#[derive(Debug, Clone, PartialEq)]
pub enum Backdrop {
    /// One colour, as RGB.
    Colour([u8; 3]),
    /// The photo's own background, blurred, as a camera's portrait mode does.
    Blur,
    /// A picture of the person's choice, scaled to cover the photo and centred.
    Picture(RgbaImage),
}

/// Longest side of the working copy the background is blurred at: a blur this wide keeps no
/// detail that a larger copy would, and a 40 MP photo's copy stays small (4 MB in f32).
const BLUR_WORKING_SIDE: u32 = 1024;
/// The blur's standard deviation, as a share of the photo's longer side: 4000 px get 50 px, soft
/// enough that nothing in the background draws the eye, as a portrait lens would leave it.
const BLUR_SIGMA_SHARE: f32 = 1.0 / 80.0;

/// The subject (the photo where the mask is white) over `backdrop`, opaque.
pub fn on_backdrop(image: &RgbaImage, mask: &GrayImage, backdrop: &Backdrop) -> RgbaImage {
    let (width, height) = image.dimensions();
    let under = match backdrop {
        Backdrop::Colour([r, g, b]) => RgbaImage::from_pixel(width, height, image::Rgba([*r, *g, *b, 255])),
        Backdrop::Blur => blurred_background(image, mask),
        Backdrop::Picture(picture) => cover(picture, width, height),
    };
    RgbaImage::from_fn(width, height, |x, y| {
        let (p, q, m) = (image.get_pixel(x, y), under.get_pixel(x, y), mask.get_pixel(x, y)[0] as u32);
        // The photo's own alpha counts as background too.
        let a = m * p[3] as u32 / 255;
        let mix = |i: usize| ((p[i] as u32 * a + q[i] as u32 * (255 - a) + 127) / 255) as u8;
        image::Rgba([mix(0), mix(1), mix(2), 255])
    })
}

/// The photo's background blurred, with the subject left out of the blur: each pixel is the
/// average of the background around it, weighted by how much background each neighbour is
/// (normalised convolution), so no halo of the subject's colours spreads behind it. Where the
/// subject covers everything within reach, the plain blur stands in.
fn blurred_background(image: &RgbaImage, mask: &GrayImage) -> RgbaImage {
    let (width, height) = image.dimensions();
    let scale = (BLUR_WORKING_SIDE as f32 / width.max(height) as f32).min(1.0);
    let (w, h) = (((width as f32 * scale).round() as u32).max(1), ((height as f32 * scale).round() as u32).max(1));
    let small = imageops::resize(image, w, h, imageops::FilterType::Triangle);
    let small_mask = imageops::resize(mask, w, h, imageops::FilterType::Triangle);
    // RGB in 0..1 (the range the blur keeps f32 values in), premultiplied by how much background
    // the pixel is, and that weight as alpha.
    let unit = |v: u8| v as f32 / 255.0;
    let weighted = image::Rgba32FImage::from_fn(w, h, |x, y| {
        let (p, m) = (small.get_pixel(x, y), small_mask.get_pixel(x, y)[0]);
        let weight = 1.0 - unit(m);
        image::Rgba([unit(p[0]) * weight, unit(p[1]) * weight, unit(p[2]) * weight, weight])
    });
    let plain = image::Rgba32FImage::from_fn(w, h, |x, y| {
        let p = small.get_pixel(x, y);
        image::Rgba([unit(p[0]), unit(p[1]), unit(p[2]), 1.0])
    });
    let sigma = (width.max(height) as f32 * BLUR_SIGMA_SHARE * scale).max(0.5);
    let (weighted, plain) = (imageops::fast_blur(&weighted, sigma), imageops::fast_blur(&plain, sigma));
    let blurred = RgbaImage::from_fn(w, h, |x, y| {
        let (v, p) = (weighted.get_pixel(x, y), plain.get_pixel(x, y));
        let channel = |i: usize| {
            let value = if v[3] > 1e-3 { v[i] / v[3] } else { p[i] };
            (value * 255.0).round().clamp(0.0, 255.0) as u8
        };
        image::Rgba([channel(0), channel(1), channel(2), 255])
    });
    imageops::resize(&blurred, width, height, imageops::FilterType::Triangle)
}

/// `picture` scaled to cover `width`×`height` and centred, the overflow cropped.
fn cover(picture: &RgbaImage, width: u32, height: u32) -> RgbaImage {
    let scale = (width as f32 / picture.width() as f32).max(height as f32 / picture.height() as f32);
    let (w, h) = (
        ((picture.width() as f32 * scale).ceil() as u32).max(width),
        ((picture.height() as f32 * scale).ceil() as u32).max(height),
    );
    let scaled = imageops::resize(picture, w, h, imageops::FilterType::CatmullRom);
    imageops::crop_imm(&scaled, (w - width) / 2, (h - height) / 2, width, height).to_image()
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
/// smooth at any size; Lanczos and point-bilinear resize it as their references do (rembg,
/// @imgly/background-removal): stored in 8 bits first, fractions dropped.
pub fn upscale_mask(mask: &ImageBuffer<Luma<f32>, Vec<f32>>, width: u32, height: u32, filter: Filter) -> GrayImage {
    let smooth = match filter {
        Filter::Bilinear => imageops::FilterType::Triangle,
        Filter::Bicubic => imageops::FilterType::CatmullRom,
        Filter::Lanczos | Filter::PointBilinear => {
            let stored = GrayImage::from_fn(mask.width(), mask.height(), |x, y| {
                Luma([(mask.get_pixel(x, y)[0].clamp(0.0, 1.0) * 255.0) as u8])
            });
            return resize(&stored, width, height, filter);
        }
    };
    let full = imageops::resize(mask, width, height, smooth);
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
        Output::OnBackdrop(backdrop, format) => encode_image(&on_backdrop(image, mask, &backdrop), format),
        Output::Mask => {
            let mut bytes = Vec::new();
            let (w, h) = mask.dimensions();
            PngEncoder::new(Cursor::new(&mut bytes)).write_image(mask, w, h, image::ExtendedColorType::L8)?;
            Ok(bytes)
        }
    }
}

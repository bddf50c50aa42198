//! Results to files: the formats every image tool offers for download.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage, RgbaImage};

use crate::ToolError;

/// A file format for an RGBA result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImageFormat {
    /// Lossless, transparency kept.
    Png,
    /// Lossless WebP, transparency kept.
    WebP,
    /// Transparency flattened onto `background`.
    Jpeg { background: [u8; 3], quality: u8 },
}

/// Encodes `image` as `format`.
pub fn encode_image(image: &RgbaImage, format: ImageFormat) -> Result<Vec<u8>, ToolError> {
    let mut bytes = Vec::new();
    let (w, h) = image.dimensions();
    match format {
        ImageFormat::Png => {
            PngEncoder::new(Cursor::new(&mut bytes)).write_image(image, w, h, ExtendedColorType::Rgba8)?
        }
        ImageFormat::WebP => {
            WebPEncoder::new_lossless(&mut bytes).write_image(image, w, h, ExtendedColorType::Rgba8)?
        }
        ImageFormat::Jpeg { background, quality } => {
            let flat = flatten(image, background);
            JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100)).write_image(
                &flat,
                w,
                h,
                ExtendedColorType::Rgb8,
            )?;
        }
    }
    Ok(bytes)
}

/// The image over an opaque `background`, for formats without transparency.
pub fn flatten(image: &RgbaImage, background: [u8; 3]) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let p = image.get_pixel(x, y);
        let a = p[3] as f32 / 255.0;
        image::Rgb(std::array::from_fn(|c| (p[c] as f32 * a + background[c] as f32 * (1.0 - a)).round() as u8))
    })
}

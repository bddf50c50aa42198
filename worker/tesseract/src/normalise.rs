//! From a line image to the network's int8 input: grey, scaled to the network's height with the
//! aspect ratio kept, then levels stretched from the black and white that the middle row shows.
//!
//! Scaling is leptonica's `pixScale` as Tesseract calls it: area mapping below a factor of 0.7
//! (repeated halving for 1/2, 1/4, 1/8, 1/16), linear interpolation above (exact paths for 2 and 4),
//! and an unsharp mask between 1/5 and 1.4. A test checks it pixel for pixel against leptonica 1.82
//! (Debian bookworm's, which its Tesseract links) on grey lines; it matters, since swapping
//! leptonica's scaler for another changed the text of 16 of 26 lines. Not covered: factors below
//! 1/16 (unchecked), and colour lines, which Tesseract scales before making them grey.
//!
//! Lines already at the network's height are not scaled, by Tesseract either, so only the level
//! mapping applies to them.

use crate::forward::NetworkInput;

/// An 8-bit grey image, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreyImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl GreyImage {
    /// # Panics
    /// If `pixels` does not hold `width × height` values.
    pub fn new(width: usize, height: usize, pixels: Vec<u8>) -> GreyImage {
        assert_eq!(pixels.len(), width * height, "a {width}×{height} grey image needs {} pixels", width * height);
        GreyImage { width, height, pixels }
    }

    /// Grey from interleaved RGB with leptonica's default weights (0.3, 0.5, 0.2), rounded.
    ///
    /// Tesseract scales a colour line before it makes it grey; this makes it grey first, which can
    /// differ by a grey level where the line is scaled.
    ///
    /// # Panics
    /// If `rgb` does not hold `width × height × 3` values.
    pub fn from_rgb(width: usize, height: usize, rgb: &[u8]) -> GreyImage {
        assert_eq!(rgb.len(), width * height * 3, "a {width}×{height} RGB image needs {} bytes", width * height * 3);
        let pixels = rgb
            .chunks_exact(3)
            .map(|p| (0.3f32 * f32::from(p[0]) + 0.5 * f32::from(p[1]) + 0.2 * f32::from(p[2]) + 0.5) as u8)
            .collect();
        GreyImage { width, height, pixels }
    }

    fn at(&self, x: usize, y: usize) -> u32 {
        u32::from(self.pixels[y * self.width + x])
    }

    /// The line scaled to `height` pixels with its aspect ratio kept, as Tesseract scales lines to
    /// its network's height (see the module's notes on how closely).
    pub fn scaled_to_height(&self, height: usize) -> GreyImage {
        scale_to_height(self, height)
    }

    /// The photographic negative, for light text on a dark ground.
    pub(crate) fn inverted(&self) -> GreyImage {
        GreyImage { pixels: self.pixels.iter().map(|p| 255 - p).collect(), ..self.clone() }
    }
}

/// The line scaled so that its height is `target_height`, as Tesseract's `ImageData::PreScale`.
fn scale_to_height(image: &GreyImage, target_height: usize) -> GreyImage {
    if image.height == target_height || image.width == 0 || image.height == 0 {
        return image.clone();
    }
    let factor = target_height as f32 / image.height as f32;
    let size = |side: usize| ((factor * side as f32 + 0.5) as usize).max(1);
    let (width, height) = (size(image.width), size(image.height));
    if factor < 0.7 {
        // Reductions by 2, 4, 8 and 16 are repeated exact halvings, as in leptonica.
        let halvings = [0.5, 0.25, 0.125, 0.0625].iter().position(|&power| factor == power);
        let scaled = match halvings {
            Some(index) => (0..=index).fold(image.clone(), |image, _| halve(&image)),
            None => area_map(image, width, height),
        };
        if factor > 0.2 { unsharp_mask(&scaled, 1, 0.2) } else { scaled }
    } else if factor == 2.0 || factor == 4.0 {
        enlarge(image, factor as usize)
    } else {
        let scaled = interpolate(image, width, height);
        if factor < 1.4 { unsharp_mask(&scaled, 2, 0.4) } else { scaled }
    }
}

/// Exact halving: each output is the mean of a 2×2 block, rounded down (leptonica's
/// `scaleAreaMapLow2`).
fn halve(image: &GreyImage) -> GreyImage {
    let (width, height) = (image.width / 2, image.height / 2);
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let sum = image.at(2 * x, 2 * y)
                + image.at(2 * x + 1, 2 * y)
                + image.at(2 * x, 2 * y + 1)
                + image.at(2 * x + 1, 2 * y + 1);
            pixels.push((sum >> 2) as u8);
        }
    }
    GreyImage { width, height, pixels }
}

/// Source pixels per output pixel, in sixteenths: `16. * (float)source / (float)output` in double,
/// kept as a float, as leptonica computes it.
fn sixteenths(source: usize, output: usize) -> f32 {
    (16.0 * f64::from(source as f32) / f64::from(output as f32)) as f32
}

/// Area-weighted reduction in sixteenths of a source pixel (leptonica's `scaleGrayAreaMapLow`).
fn area_map(image: &GreyImage, width: usize, height: usize) -> GreyImage {
    let (scale_x, scale_y) = (sixteenths(image.width, width), sixteenths(image.height, height));
    let (last_x, last_y) = (image.width.saturating_sub(2), image.height.saturating_sub(2));
    let mut pixels = Vec::with_capacity(width * height);
    for i in 0..height {
        let top = (scale_y * i as f32) as usize;
        // `i + 1.0` is a double in leptonica, so this product is too.
        let bottom = (f64::from(scale_y) * (i as f64 + 1.0)) as usize;
        let (top_pixel, top_fraction) = (top >> 4, (top & 15) as u32);
        let (bottom_pixel, bottom_fraction) = (bottom >> 4, (bottom & 15) as u32);
        let rows = bottom_pixel - top_pixel;
        for j in 0..width {
            let left = (scale_x * j as f32) as usize;
            let right = (f64::from(scale_x) * (j as f64 + 1.0)) as usize;
            let (left_pixel, left_fraction) = (left >> 4, (left & 15) as u32);
            let (right_pixel, right_fraction) = (right >> 4, (right & 15) as u32);
            let columns = right_pixel - left_pixel;
            if right_pixel > last_x || bottom_pixel > last_y {
                pixels.push(image.at(left_pixel.min(image.width - 1), top_pixel.min(image.height - 1)) as u8);
                continue;
            }
            // Weights in 1/16 pixel units: partial first and last rows and columns, whole inside.
            let column_weight = |m: usize| match m {
                0 => 16 - left_fraction,
                m if m == columns => right_fraction,
                _ => 16,
            };
            let row_weight = |k: usize| match k {
                0 => 16 - top_fraction,
                k if k == rows => bottom_fraction,
                _ => 16,
            };
            let mut sum = 0u32;
            for k in 0..=rows {
                for m in 0..=columns {
                    sum += row_weight(k) * column_weight(m) * image.at(left_pixel + m, top_pixel + k);
                }
            }
            let area = (16 - left_fraction + 16 * (columns as u32).saturating_sub(1) + right_fraction)
                * (16 - top_fraction + 16 * (rows as u32).saturating_sub(1) + bottom_fraction);
            pixels.push(((sum + 128) / area.max(1)).min(255) as u8);
        }
    }
    GreyImage { width, height, pixels }
}

/// Bilinear interpolation in sixteenths of a pixel (leptonica's `scaleGrayLILow`).
fn interpolate(image: &GreyImage, width: usize, height: usize) -> GreyImage {
    let (scale_x, scale_y) = (sixteenths(image.width, width), sixteenths(image.height, height));
    let mut pixels = Vec::with_capacity(width * height);
    for i in 0..height {
        let y16 = (scale_y * i as f32) as usize;
        let (y, fy) = ((y16 >> 4).min(image.height - 1), (y16 & 15) as u32);
        let y1 = (y + 1).min(image.height - 1);
        for j in 0..width {
            let x16 = (scale_x * j as f32) as usize;
            let (x, fx) = ((x16 >> 4).min(image.width - 1), (x16 & 15) as u32);
            let x1 = (x + 1).min(image.width - 1);
            let value = (16 - fx) * (16 - fy) * image.at(x, y)
                + fx * (16 - fy) * image.at(x1, y)
                + (16 - fx) * fy * image.at(x, y1)
                + fx * fy * image.at(x1, y1);
            pixels.push(((value + 128) / 256) as u8);
        }
    }
    GreyImage { width, height, pixels }
}

/// Exact enlargement by 2 or 4: each output weighs the source pixel and its right, lower and
/// lower-right neighbours (the last row and column repeat) by its position between them, the sum
/// rounded down (leptonica's `scaleGray2xLILow` and `scaleGray4xLILow`).
fn enlarge(image: &GreyImage, factor: usize) -> GreyImage {
    let (width, height) = (image.width * factor, image.height * factor);
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        let (source_y, fy) = (y / factor, (y % factor) as u32);
        let below = (source_y + 1).min(image.height - 1);
        for x in 0..width {
            let (source_x, fx) = (x / factor, (x % factor) as u32);
            let right = (source_x + 1).min(image.width - 1);
            let k = factor as u32;
            let sum = (k - fx) * (k - fy) * image.at(source_x, source_y)
                + fx * (k - fy) * image.at(right, source_y)
                + (k - fx) * fy * image.at(source_x, below)
                + fx * fy * image.at(right, below);
            pixels.push((sum / (k * k)) as u8);
        }
    }
    GreyImage { width, height, pixels }
}

/// `p + fraction·(p − box mean)` over a `(2·half+1)²` box, rounded and clamped; a border of `half`
/// pixels is left as it is (leptonica's `pixUnsharpMaskingGray2D`).
fn unsharp_mask(image: &GreyImage, half: usize, fraction: f32) -> GreyImage {
    let mut output = image.clone();
    if image.width <= 2 * half || image.height <= 2 * half {
        return output;
    }
    let norm = 1.0 / ((2 * half + 1) * (2 * half + 1)) as f32;
    for y in half..image.height - half {
        for x in half..image.width - half {
            let mut sum = 0u32;
            for yy in y - half..=y + half {
                for xx in x - half..=x + half {
                    sum += image.at(xx, yy);
                }
            }
            let pixel = image.at(x, y) as f32;
            let value = pixel + fraction * (pixel - norm * sum as f32);
            output.pixels[y * image.width + x] = ((value + 0.5) as i32).clamp(0, 255) as u8;
        }
    }
    output
}

/// Black and white levels from the middle row's local minima and maxima: the minima's 25th and the
/// maxima's 75th fractional percentile (Tesseract's `ComputeBlackWhite`).
fn black_and_white(image: &GreyImage) -> (f32, f32) {
    let mut minima = [0u32; 256];
    let mut maxima = [0u32; 256];
    if image.width >= 3 {
        let row = &image.pixels[image.height / 2 * image.width..][..image.width];
        for window in row.windows(3) {
            let (previous, current, next) = (window[0], window[1], window[2]);
            if (current < previous && current <= next) || (current <= previous && current < next) {
                minima[current as usize] += 1;
            }
            if (current > previous && current >= next) || (current >= previous && current > next) {
                maxima[current as usize] += 1;
            }
        }
    }
    if minima.iter().all(|&count| count == 0) {
        minima[0] = 1;
    }
    if maxima.iter().all(|&count| count == 0) {
        maxima[255] = 1;
    }
    (percentile(&minima, 0.25) as f32, percentile(&maxima, 0.75) as f32)
}

/// Tesseract's `STATS::ile`: the fractional position at which the running count passes
/// `fraction` of the total.
fn percentile(histogram: &[u32; 256], fraction: f64) -> f64 {
    let total: u32 = histogram.iter().sum();
    let target = ((fraction * f64::from(total)) as u32).clamp(1, total);
    let mut sum = 0;
    let mut index = 0;
    while index < histogram.len() && sum < target {
        sum += histogram[index];
        index += 1;
    }
    index as f64 - f64::from(sum - target) / f64::from(histogram[index - 1])
}

/// The network's input for a line already at its height: `(p − black) / ((white − black) / 2) − 1`,
/// times 128, rounded half away from zero and clipped to ±127. Ink comes out near −127.
pub(crate) fn network_input(image: &GreyImage) -> NetworkInput {
    let (black, white) = black_and_white(image);
    let contrast = match (white - black) / 2.0 {
        contrast if contrast > 0.0 => contrast,
        _ => 1.0,
    };
    let pixels = image
        .pixels
        .iter()
        .map(|&p| {
            let x = 128.0 * ((f32::from(p) - black) / contrast - 1.0);
            let rounded = if x >= 0.0 { (x + 0.5) as i32 } else { -((-x + 0.5) as i32) };
            rounded.clamp(-127, 127) as i8
        })
        .collect();
    NetworkInput { width: image.width, height: image.height, pixels }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_within_a_bucket() {
        let mut histogram = [0u32; 256];
        histogram[10] = 2;
        histogram[20] = 2;
        // 25% of 4 is 1: reached half-way through bucket 10, reported as 11 − (2 − 1)/2.
        assert_eq!(percentile(&histogram, 0.25), 10.5);
        assert_eq!(percentile(&histogram, 0.75), 20.5);
    }

    #[test]
    fn levels_come_from_the_middle_row_and_map_ink_to_minus_one() {
        // Middle row alternates ink (40) and paper (220); the other rows are noise the levels ignore.
        let mut pixels = vec![0u8; 3 * 8];
        for (x, pixel) in pixels[8..16].iter_mut().enumerate() {
            *pixel = if x % 2 == 0 { 40 } else { 220 };
        }
        let image = GreyImage::new(8, 3, pixels);
        let (black, white) = black_and_white(&image);
        assert!((40.0..41.0).contains(&black) && (220.0..221.0).contains(&white), "{black} {white}");
        let input = network_input(&image);
        assert_eq!(input.pixels[8], -127);
        assert!(input.pixels[9] >= 126);
    }

    #[test]
    fn scaling_reaches_the_target_height_and_keeps_the_aspect_ratio() {
        let image = GreyImage::new(200, 100, (0..20_000).map(|i| (i % 251) as u8).collect());
        for (target, width) in [(36, 72), (48, 96), (50, 100), (150, 300)] {
            let scaled = scale_to_height(&image, target);
            assert_eq!((scaled.width, scaled.height), (width, target));
        }
        let flat = GreyImage::new(90, 30, vec![200; 2700]);
        for target in [12, 15, 36, 48] {
            assert!(scale_to_height(&flat, target).pixels.iter().all(|&p| p == 200), "{target}");
        }
    }
}

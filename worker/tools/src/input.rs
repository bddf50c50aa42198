//! Turning a user's file into pixels: any common format, upright per its EXIF orientation, 8-bit
//! RGBA, with a readable reason when it cannot be done.

use std::fmt;
use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits, RgbaImage};

/// Longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Most pixels accepted: 40 MP is 160 MB as RGBA, which leaves room in wasm's 4 GB for the work.
pub const MAX_PIXELS: u64 = 40_000_000;

#[derive(Debug, Clone, PartialEq)]
pub enum InputError {
    Empty,
    NotAnImage,
    Unsupported(String),
    Damaged(String),
    NoPixels,
    TooLarge { width: u32, height: u32 },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Empty => write!(f, "The file is empty."),
            InputError::NotAnImage => {
                write!(f, "This file is not an image Lantern can read (PNG, JPEG, WebP, GIF, BMP or TIFF).")
            }
            InputError::Unsupported(what) => write!(f, "This image uses a feature Lantern cannot read: {what}."),
            InputError::Damaged(what) => write!(f, "The image file is damaged or incomplete ({what})."),
            InputError::NoPixels => write!(f, "The image has no pixels (zero width or height)."),
            InputError::TooLarge { width, height } => write!(
                f,
                "The image is {width}×{height}; Lantern handles up to {MAX_SIDE} pixels on a side and {} megapixels.",
                MAX_PIXELS / 1_000_000
            ),
        }
    }
}

impl std::error::Error for InputError {}

fn classify(e: ImageError, width: u32, height: u32) -> InputError {
    match e {
        ImageError::Limits(_) => InputError::TooLarge { width, height },
        ImageError::Unsupported(u) => InputError::Unsupported(u.to_string()),
        ImageError::Decoding(d) => InputError::Damaged(d.to_string()),
        ImageError::IoError(io) => InputError::Damaged(io.to_string()),
        other => InputError::Damaged(other.to_string()),
    }
}

fn too_large(width: u32, height: u32) -> bool {
    u64::from(width) * u64::from(height) > MAX_PIXELS || width > MAX_SIDE || height > MAX_SIDE
}

/// The width and height the file's header claims, read without decoding.
pub fn claimed_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let size = imagesize::blob_size(bytes).ok()?;
    Some((u32::try_from(size.width).ok()?, u32::try_from(size.height).ok()?))
}

/// Decodes the first frame of `bytes`, rotated and flipped upright per its EXIF orientation.
/// 16-bit, grey, palette and CMYK sources all become 8-bit RGBA.
pub fn decode(bytes: &[u8]) -> Result<RgbaImage, InputError> {
    if bytes.is_empty() {
        return Err(InputError::Empty);
    }
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| InputError::Damaged(e.to_string()))?;
    if reader.format().is_none() {
        return Err(InputError::NotAnImage);
    }
    // Headers are read without limits so a refusal can name the size; pixels are decoded with them.
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(|e| match claimed_size(bytes) {
        // The decoder may refuse a huge image before saying its size (in wasm32 a 60000×60000
        // PNG's buffer size overflows): its header still names it.
        Some((width, height)) if too_large(width, height) => InputError::TooLarge { width, height },
        _ => classify(e, 0, 0),
    })?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(InputError::NoPixels);
    }
    if too_large(width, height) {
        return Err(InputError::TooLarge { width, height });
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    decoder.set_limits(limits).map_err(|e| classify(e, width, height))?;
    // A broken EXIF block should not cost the user the picture: it just stays as stored.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| classify(e, width, height))?;
    img.apply_orientation(orientation);
    Ok(img.into_rgba8())
}

//! Turning a user's file into pixels: any common format, upright per its EXIF orientation, 8-bit
//! RGBA, with a readable reason when it cannot be done.

use std::fmt;
use std::io::Cursor;

/// The pixels [`decode`] gives, named here for the tools' callers.
pub use image::RgbaImage;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

/// Longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Most pixels accepted: 40 MP is 160 MB as RGBA, which leaves room in wasm's 4 GB for the work.
pub const MAX_PIXELS: u64 = 40_000_000;

#[derive(Debug, Clone, PartialEq)]
pub enum InputError {
    Empty,
    NotAnImage,
    /// A kind of picture people have that Lantern does not decode, told by name with what to do.
    OtherFormat(OtherFormat),
    Unsupported(String),
    Damaged(String),
    NoPixels,
    TooLarge {
        width: u32,
        height: u32,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Empty => write!(f, "The file is empty."),
            InputError::NotAnImage => {
                write!(f, "This file is not an image Lantern can read (PNG, JPEG, WebP, GIF, BMP or TIFF).")
            }
            InputError::OtherFormat(OtherFormat::Heic) => write!(
                f,
                "This is a HEIC photo (an iPhone's usual format), which Lantern cannot read. Share or export it as JPEG, \
                 or set the camera to “Most Compatible”."
            ),
            InputError::OtherFormat(OtherFormat::Avif) => {
                write!(f, "This is an AVIF image, which Lantern cannot read. Save it as PNG or JPEG first.")
            }
            InputError::OtherFormat(OtherFormat::Svg) => {
                write!(f, "This is an SVG drawing, not a photo: Lantern reads pixels. Export it as PNG first.")
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

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OtherFormat {
    Heic,
    Avif,
    Svg,
}

/// Names the formats a person may well drop that no decoder here reads: HEIC and AVIF by their
/// ISO-BMFF `ftyp` box (major brand first, then the compatible ones), SVG by its opening tag.
fn other_format(bytes: &[u8]) -> Option<OtherFormat> {
    if bytes.get(4..8) == Some(b"ftyp") {
        let size = u32::from_be_bytes(bytes[..4].try_into().ok()?) as usize;
        let box_end = size.clamp(8, bytes.len());
        let brands: Vec<&[u8]> =
            bytes[8..box_end].chunks_exact(4).enumerate().filter(|(i, _)| *i != 1).map(|(_, b)| b).collect();
        let is = |names: &[&[u8]]| brands.iter().any(|brand| names.contains(brand));
        // An AVIF often lists `mif1` too, so AVIF's brands are looked for first.
        if is(&[b"avif", b"avis"]) {
            return Some(OtherFormat::Avif);
        }
        if is(&[b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"]) {
            return Some(OtherFormat::Heic);
        }
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let text = head.trim_start_matches('\u{feff}').trim_start();
    (text.starts_with('<') && text.contains("<svg")).then_some(OtherFormat::Svg)
}

/// What a person should know about a file that did decode.
#[derive(Debug, Clone, PartialEq)]
pub enum InputWarning {
    /// A JPEG cut short (an interrupted download or copy): the decoder fills what is missing.
    EndsEarly,
}

impl fmt::Display for InputWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputWarning::EndsEarly => {
                write!(f, "The file ends early, so the lower part of the image is missing (shown as grey).")
            }
        }
    }
}

/// The warning for `bytes`, which `decode` accepted. Of the formats read, only a JPEG decodes
/// when cut short; the others are refused as damaged.
pub fn warning(bytes: &[u8]) -> Option<InputWarning> {
    let jpeg = bytes.starts_with(&[0xFF, 0xD8]);
    (jpeg && !jpeg_scan_ends(bytes)).then_some(InputWarning::EndsEarly)
}

/// Whether the last scan in a JPEG is followed by its end-of-image marker. Entropy-coded data
/// never holds 0xFF followed by a marker code (an 0xFF byte is stuffed as FF 00), so the last
/// start-of-scan is found by its marker, and an end-of-image after it means the image data is
/// whole. Searching from the last scan, not the file's end, ignores the thumbnail inside EXIF
/// (it comes first) and accepts the extra data some cameras append after the image.
fn jpeg_scan_ends(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|pair| pair == [0xFF, 0xDA]);
    last_scan.is_some_and(|at| bytes[at..].windows(2).any(|pair| pair == [0xFF, 0xD9]))
}

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

/// The pixels per inch the file says it was made at (across, down): a PNG's `pHYs`, a JPEG's JFIF
/// density or else its EXIF resolution, a TIFF's resolution tags. None where it says nothing, or
/// only an aspect ratio. A searchable PDF's page takes its physical size from this.
pub fn resolution(bytes: &[u8]) -> Option<(f32, f32)> {
    let (x, y) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png_resolution(bytes)?
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        jpeg_resolution(bytes)?
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        tiff_resolution(bytes)?
    } else {
        return None;
    };
    // A claim of under 1 or over 100,000 pixels an inch is a mistake, not a scan.
    let plausible = |v: f32| (1.0..=100_000.0).contains(&v);
    (plausible(x) && plausible(y)).then_some((x, y))
}

const INCHES_A_METRE: f32 = 1.0 / 0.0254;

/// `pHYs`: pixels per unit across and down, then the unit (1: the metre; 0: an aspect ratio only).
fn png_resolution(bytes: &[u8]) -> Option<(f32, f32)> {
    let mut at = 8;
    while let Some(header) = bytes.get(at..at + 8) {
        let length = u32::from_be_bytes(header[..4].try_into().ok()?) as usize;
        let data = bytes.get(at + 8..(at + 8).checked_add(length)?)?;
        match &header[4..] {
            b"pHYs" if length == 9 && data[8] == 1 => {
                let per_metre = |i: usize| u32::from_be_bytes(data[i..i + 4].try_into().unwrap()) as f32;
                return Some((per_metre(0) / INCHES_A_METRE, per_metre(4) / INCHES_A_METRE));
            }
            // pHYs comes before the image data, or not at all.
            b"IDAT" | b"IEND" => return None,
            _ => at += 12 + length,
        }
    }
    None
}

/// The JFIF APP0 density (units 1: per inch, 2: per centimetre), else EXIF's in APP1.
fn jpeg_resolution(bytes: &[u8]) -> Option<(f32, f32)> {
    let mut at = 2;
    let mut exif = None;
    // Markers up to the first scan: each is FF, its code, and a big-endian length that counts itself.
    while let Some(&[0xFF, code, high, low, ..]) = bytes.get(at..) {
        let length = usize::from(u16::from_be_bytes([high, low]));
        let data = bytes.get(at + 4..(at + 2 + length).max(at + 4))?;
        match code {
            0xE0 if data.starts_with(b"JFIF\0") && data.len() >= 12 => {
                let density = |i: usize| f32::from(u16::from_be_bytes([data[i], data[i + 1]]));
                match data[7] {
                    1 => return Some((density(8), density(10))),
                    2 => return Some((density(8) * 2.54, density(10) * 2.54)),
                    _ => {}
                }
            }
            0xE1 if data.starts_with(b"Exif\0\0") => exif = Some(&data[6..]),
            0xDA => break,
            _ => {}
        }
        at += 2 + length;
    }
    tiff_resolution(exif?)
}

/// XResolution and YResolution (RATIONALs) in a TIFF structure's first IFD, per ResolutionUnit
/// (2, the default: the inch; 3: the centimetre; 1: no unit, an aspect ratio only).
fn tiff_resolution(tiff: &[u8]) -> Option<(f32, f32)> {
    let big = tiff.starts_with(b"MM");
    let u16_at = |i: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(i..i + 2)?.try_into().ok()?;
        Some(if big { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    };
    let u32_at = |i: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(i..i + 4)?.try_into().ok()?;
        Some(if big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    };
    let ifd = u32_at(4)? as usize;
    let (mut x, mut y, mut unit) = (None, None, 2);
    for entry in 0..usize::from(u16_at(ifd)?) {
        let at = ifd + 2 + entry * 12;
        let rational = || -> Option<f32> {
            let offset = u32_at(at + 8)? as usize;
            let (numerator, denominator) = (u32_at(offset)?, u32_at(offset + 4)?);
            (denominator != 0).then(|| numerator as f32 / denominator as f32)
        };
        match u16_at(at)? {
            0x011A => x = rational(),
            0x011B => y = rational(),
            0x0128 => unit = u16_at(at + 8)?,
            _ => {}
        }
    }
    let scale = match unit {
        2 => 1.0,
        3 => 2.54,
        _ => return None,
    };
    Some((x? * scale, y? * scale))
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
    if let Some(format) = other_format(bytes) {
        return Err(InputError::OtherFormat(format));
    }
    if reader.format().is_none() {
        return Err(InputError::NotAnImage);
    }
    // Headers are read without limits so a refusal can name the size; pixels are decoded with them.
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(|e| match claimed_size(bytes) {
        // The decoder may refuse a huge image before saying its size (in wasm32 a 60000×60000
        // PNG's buffer size overflows): its header still names it.
        Some((width, height)) if too_large(width, height) => InputError::TooLarge { width, height },
        Some((0, _) | (_, 0)) => InputError::NoPixels,
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

//! Files people actually drop on the page: each decodes upright to 8-bit RGBA, or is refused
//! with a reason.

use std::io::Cursor;

use image::{ImageEncoder, Rgba, RgbaImage};
use lantern_tools::input::{InputError, MAX_PIXELS, decode};

fn png(img: &image::DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

/// A 3×2 image whose top-left pixel is red and the rest blue: shows where rotation put it.
fn marker() -> RgbaImage {
    RgbaImage::from_fn(3, 2, |x, y| if (x, y) == (0, 0) { Rgba([255, 0, 0, 255]) } else { Rgba([0, 0, 255, 255]) })
}

/// An EXIF APP1 payload holding only an orientation tag.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0".to_vec();
    exif.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0]);
    exif.extend(value.to_le_bytes());
    exif.extend([0, 0, 0, 0, 0, 0]);
    exif
}

fn jpeg(img: &RgbaImage, colour: jpeg_encoder::ColorType, data: &[u8], exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 100);
    if let Some(exif) = exif {
        encoder.add_app_segment(1, &exif).unwrap();
    }
    encoder.encode(data, img.width() as u16, img.height() as u16, colour).unwrap();
    out
}

fn is_red(p: &Rgba<u8>) -> bool {
    p[0] > 200 && p[2] < 60
}

#[test]
fn exif_rotation_is_applied() {
    let img = marker();
    let rgb: Vec<u8> = img.pixels().flat_map(|p| [p[0], p[1], p[2]]).collect();
    // Orientation 6: stored rotated, shown after a 90° clockwise turn, so the red corner moves
    // from top-left to top-right and the sides swap.
    let bytes = jpeg(&img, jpeg_encoder::ColorType::Rgb, &rgb, Some(exif_orientation(6)));
    let out = decode(&bytes).unwrap();
    assert_eq!(out.dimensions(), (2, 3));
    assert!(is_red(out.get_pixel(1, 0)), "{:?}", out.get_pixel(1, 0));
    assert!(!is_red(out.get_pixel(0, 0)));
}

#[test]
fn cmyk_jpeg_becomes_rgb() {
    let img = marker();
    // Red is C=0 M=255 Y=255 K=0, blue C=255 M=255 Y=0 K=0.
    let cmyk: Vec<u8> =
        img.pixels().flat_map(|p| if p[0] == 255 { [0, 255, 255, 0] } else { [255, 255, 0, 0] }).collect();
    let out = decode(&jpeg(&img, jpeg_encoder::ColorType::Cmyk, &cmyk, None)).unwrap();
    assert_eq!(out.dimensions(), (3, 2));
    let (red, blue) = (out.get_pixel(0, 0), out.get_pixel(2, 1));
    assert!(red[0] > blue[0] && blue[2] > red[2], "red {red:?} blue {blue:?}");
}

#[test]
fn sixteen_bit_and_grey_become_rgba8() {
    let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(2, 2, image::Rgb([65535, 32768, 0]));
    let out = decode(&png(&image::DynamicImage::ImageRgb16(deep))).unwrap();
    assert_eq!(out.get_pixel(1, 1).0, [255, 128, 0, 255]);
    let grey = image::GrayImage::from_pixel(2, 1, image::Luma([77]));
    let out = decode(&png(&image::DynamicImage::ImageLuma8(grey))).unwrap();
    assert_eq!(out.get_pixel(0, 0).0, [77, 77, 77, 255]);
}

#[test]
fn animation_gives_its_first_frame() {
    let mut bytes = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut bytes);
        let frames =
            [Rgba([255, 0, 0, 255]), Rgba([0, 255, 0, 255])].map(|c| image::Frame::new(RgbaImage::from_pixel(4, 4, c)));
        encoder.encode_frames(frames).unwrap();
    }
    let out = decode(&bytes).unwrap();
    assert!(is_red(out.get_pixel(2, 2)), "{:?}", out.get_pixel(2, 2));
}

#[test]
fn alpha_is_kept() {
    let img = RgbaImage::from_pixel(2, 2, Rgba([10, 20, 30, 40]));
    assert_eq!(decode(&png(&img.into())).unwrap().get_pixel(0, 0).0, [10, 20, 30, 40]);
}

#[test]
fn empty_garbage_and_truncated_files_are_refused() {
    assert_eq!(decode(&[]), Err(InputError::Empty));
    assert_eq!(decode(b"just some text, not a picture"), Err(InputError::NotAnImage));
    let whole = png(&marker().into());
    for cut in [20, whole.len() / 2, whole.len() - 13] {
        let err = decode(&whole[..cut]).unwrap_err();
        assert!(matches!(err, InputError::Damaged(_)), "cut at {cut}: {err:?}");
        assert!(err.to_string().contains("damaged or incomplete"));
    }
}

/// A PNG that is only a header: enough for a decoder to learn the claimed size.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]);
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0d".to_vec();
    bytes.extend(&ihdr);
    bytes.extend(crc32fast::hash(&ihdr).to_be_bytes());
    for chunk in [&b"IDAT"[..], b"IEND"] {
        bytes.extend([0, 0, 0, 0]);
        bytes.extend(chunk);
        bytes.extend(crc32fast::hash(chunk).to_be_bytes());
    }
    bytes
}

#[test]
fn huge_images_are_refused_before_decoding() {
    let err = decode(&png_header(10_000, 10_000)).unwrap_err();
    assert_eq!(err, InputError::TooLarge { width: 10_000, height: 10_000 });
    assert!(err.to_string().contains(&format!("{} megapixels", MAX_PIXELS / 1_000_000)));
    assert!(matches!(decode(&png_header(20_000, 10)), Err(InputError::TooLarge { .. })));
    // Sizes the PNG decoder itself refuses to open are named too, not as 0×0.
    for side in [60_000, 100_000] {
        let err = decode(&png_header(side, side)).unwrap_err();
        assert_eq!(err, InputError::TooLarge { width: side, height: side });
    }
}

#[test]
fn zero_sized_images_are_refused() {
    let err = decode(&png_header(0, 5)).unwrap_err();
    assert!(matches!(err, InputError::NoPixels | InputError::Damaged(_)), "{err:?}");
}

#[test]
fn webp_decodes() {
    let img = marker();
    let mut bytes = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut bytes)
        .write_image(img.as_raw(), 3, 2, image::ExtendedColorType::Rgba8)
        .unwrap();
    assert_eq!(decode(&bytes).unwrap(), img);
}

//! Files people actually drop on the page: each decodes upright to 8-bit RGBA, or is refused
//! with a reason.

use std::io::Cursor;

use image::{ImageEncoder, Rgba, RgbaImage};
use lantern_tools::input::{InputError, InputWarning, MAX_PIXELS, OtherFormat, decode, resolution, warning};

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
fn every_exif_orientation_is_applied() {
    let img = marker();
    let rgb: Vec<u8> = img.pixels().flat_map(|p| [p[0], p[1], p[2]]).collect();
    // Where the red top-left corner of the 3×2 marker is shown for each EXIF orientation.
    let expected = [
        (1, (3, 2), (0, 0)), // as stored
        (2, (3, 2), (2, 0)), // mirrored
        (3, (3, 2), (2, 1)), // turned 180°
        (4, (3, 2), (0, 1)), // flipped
        (5, (2, 3), (0, 0)), // transposed
        (6, (2, 3), (1, 0)), // turned 90° clockwise
        (7, (2, 3), (1, 2)), // transversed
        (8, (2, 3), (0, 2)), // turned 90° anticlockwise
    ];
    for (orientation, size, (x, y)) in expected {
        let out = decode(&jpeg(&img, jpeg_encoder::ColorType::Rgb, &rgb, Some(exif_orientation(orientation)))).unwrap();
        assert_eq!(out.dimensions(), size, "orientation {orientation}");
        let red: Vec<_> = out.enumerate_pixels().filter(|(_, _, p)| is_red(p)).map(|(x, y, _)| (x, y)).collect();
        assert_eq!(red, [(x, y)], "orientation {orientation}");
    }
}

#[test]
fn heic_avif_and_svg_are_named_with_what_to_do() {
    let ftyp = |brands: &[&[u8; 4]]| {
        let mut bytes = (8 + 4 * brands.len() as u32 + 4).to_be_bytes().to_vec();
        bytes.extend(b"ftyp");
        bytes.extend(brands[0]);
        bytes.extend([0, 0, 0, 0]);
        for brand in &brands[1..] {
            bytes.extend(*brand);
        }
        bytes.extend([0; 64]);
        bytes
    };
    let heic = decode(&ftyp(&[b"heic", b"mif1", b"heic"])).unwrap_err();
    assert_eq!(heic, InputError::OtherFormat(OtherFormat::Heic));
    assert!(heic.to_string().contains("Share or export it as JPEG"));
    assert_eq!(decode(&ftyp(&[b"mif1", b"mif1", b"heix"])), Err(InputError::OtherFormat(OtherFormat::Heic)));
    // AVIF lists mif1 too: its own brand decides.
    assert_eq!(decode(&ftyp(&[b"avif", b"mif1", b"miaf"])), Err(InputError::OtherFormat(OtherFormat::Avif)));
    assert_eq!(decode(&ftyp(&[b"mif1", b"avif", b"mif1"])), Err(InputError::OtherFormat(OtherFormat::Avif)));
    // An MP4 video is not taken for either.
    assert_eq!(decode(&ftyp(&[b"isom", b"iso2", b"mp41"])), Err(InputError::NotAnImage));
    for svg in [&b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..], b"\xef\xbb\xbf  <?xml version='1.0'?>\n<svg/>"] {
        let err = decode(svg).unwrap_err();
        assert_eq!(err, InputError::OtherFormat(OtherFormat::Svg), "{}", String::from_utf8_lossy(svg));
        assert!(err.to_string().contains("Export it as PNG"));
    }
    assert_eq!(decode(b"<html><body>not a picture</body></html>"), Err(InputError::NotAnImage));
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

#[test]
fn a_jpeg_cut_short_decodes_with_a_warning() {
    let img = RgbaImage::from_fn(64, 64, |x, y| Rgba([(x * 4) as u8, (y * 4) as u8, 100, 255]));
    let rgb: Vec<u8> = img.pixels().flat_map(|p| [p[0], p[1], p[2]]).collect();
    let whole = jpeg(&img, jpeg_encoder::ColorType::Rgb, &rgb, None);
    assert_eq!(warning(&whole), None);
    // Data some cameras append after the image is not a cut.
    let appended = [whole.as_slice(), b"\0\0trailing data"].concat();
    assert_eq!(warning(&appended), None);
    // Cut inside the image data: the decoder fills the rest, and the person is told.
    let cut = &whole[..whole.len() * 2 / 3];
    assert_eq!(decode(cut).unwrap().dimensions(), (64, 64));
    assert_eq!(warning(cut), Some(InputWarning::EndsEarly));
    assert!(warning(cut).unwrap().to_string().contains("lower part of the image is missing"));
    // Every other format refuses a cut file instead (`empty_garbage_and_truncated_files_are_refused`).
    assert_eq!(warning(&png(&img.into())), None);
}

#[test]
fn truncated_webp_gif_bmp_and_tiff_are_refused() {
    let img = image::DynamicImage::ImageRgba8(RgbaImage::from_fn(64, 64, |x, y| Rgba([x as u8, y as u8, 9, 255])));
    for format in [image::ImageFormat::WebP, image::ImageFormat::Gif, image::ImageFormat::Bmp, image::ImageFormat::Tiff]
    {
        let mut whole = Vec::new();
        img.write_to(&mut Cursor::new(&mut whole), format).unwrap();
        for cut in [whole.len() / 3, whole.len() * 2 / 3] {
            let err = decode(&whole[..cut]).map(|img| img.dimensions()).unwrap_err();
            assert!(matches!(err, InputError::Damaged(_)), "{format:?} cut at {cut}: {err:?}");
        }
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
    for (width, height) in [(0, 5), (5, 0)] {
        assert_eq!(decode(&png_header(width, height)), Err(InputError::NoPixels));
    }
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

/// A little-endian TIFF structure whose first IFD holds only XResolution, YResolution (both
/// `pixels`/1) and ResolutionUnit `unit`: a TIFF file's start, or an EXIF block's body.
fn tiff_with_resolution(pixels: (u32, u32), unit: u16) -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0\x03\0".to_vec();
    // Two RATIONALs follow the IFD: 8 + 2 + 3 × 12 + 4 = 50.
    for (tag, kind, value) in [(0x011A_u16, 5_u16, 50_u32), (0x011B, 5, 58), (0x0128, 3, u32::from(unit))] {
        tiff.extend(tag.to_le_bytes());
        tiff.extend(kind.to_le_bytes());
        tiff.extend(1_u32.to_le_bytes());
        tiff.extend(value.to_le_bytes());
    }
    tiff.extend(0_u32.to_le_bytes());
    for numerator in [pixels.0, pixels.1] {
        tiff.extend(numerator.to_le_bytes());
        tiff.extend(1_u32.to_le_bytes());
    }
    tiff
}

#[test]
fn the_resolution_a_file_claims_is_read() {
    let img = RgbaImage::new(2, 2);
    let rgb = [0_u8; 12];
    let jpeg_with = |density: jpeg_encoder::Density, exif: Option<Vec<u8>>| {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
        encoder.set_density(density);
        if let Some(exif) = exif {
            encoder.add_app_segment(1, &exif).unwrap();
        }
        encoder.encode(&rgb, 2, 2, jpeg_encoder::ColorType::Rgb).unwrap();
        out
    };
    // JFIF density, per inch and per centimetre.
    assert_eq!(resolution(&jpeg_with(jpeg_encoder::Density::Inch { x: 300, y: 150 }, None)), Some((300.0, 150.0)));
    assert_eq!(
        resolution(&jpeg_with(jpeg_encoder::Density::Centimeter { x: 100, y: 100 }, None)),
        Some((254.0, 254.0))
    );
    // No JFIF unit: the EXIF resolution, here per centimetre; neither: nothing.
    let exif = [b"Exif\0\0".to_vec(), tiff_with_resolution((40, 40), 3)].concat();
    assert_eq!(resolution(&jpeg_with(jpeg_encoder::Density::None, Some(exif))), Some((101.6, 101.6)));
    assert_eq!(resolution(&jpeg_with(jpeg_encoder::Density::None, None)), None);
    // A TIFF's own tags; "no unit" is an aspect ratio, not a resolution.
    assert_eq!(resolution(&tiff_with_resolution((600, 600), 2)), Some((600.0, 600.0)));
    assert_eq!(resolution(&tiff_with_resolution((600, 600), 1)), None);
    // A PNG's pHYs, put after IHDR (the reader needs no CRC): 11811 per metre is 300 per inch.
    let plain = png(&image::DynamicImage::ImageRgba8(img));
    assert_eq!(resolution(&plain), None);
    let mut phys = 9_u32.to_be_bytes().to_vec();
    phys.extend(b"pHYs");
    phys.extend(11811_u32.to_be_bytes());
    phys.extend(11811_u32.to_be_bytes());
    phys.extend([1, 0, 0, 0, 0]);
    let ihdr_end = 8 + 4 + 4 + 13 + 4;
    let with_phys = [&plain[..ihdr_end], &phys, &plain[ihdr_end..]].concat();
    let (x, y) = resolution(&with_phys).unwrap();
    assert!((x - 300.0).abs() < 0.01 && x == y, "{x} {y}");
    // A claim no scanner makes is none.
    assert_eq!(resolution(&tiff_with_resolution((0, 0), 2)), None);
    assert_eq!(resolution(b"GIF89a"), None);
}

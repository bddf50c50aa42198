//! Renders one thumbnail per learned style of the site's style network from one photo, so the
//! style picker shows what each style does before anyone runs it.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use image::imageops::{self, FilterType};
use lantern_engine::CpuBackend;
use lantern_models::{Manifest, Tool};
use lantern_tools::cartoonify::{Cartoonifier, Style, StyleModel, blend_with_original};
use lantern_tools::encode::{ImageFormat, encode_image};
use lantern_tools::input::decode;

#[derive(Parser)]
struct Arguments {
    /// The photo every style is applied to.
    #[arg(long)]
    photo: PathBuf,
    /// Folder for style-01.jpg, style-02.jpg, …
    #[arg(long)]
    out: PathBuf,
    /// Side of the square thumbnails, in pixels.
    #[arg(long, default_value_t = 144)]
    size: u32,
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let manifest = Manifest::load_default()?;
    let model = manifest
        .models
        .iter()
        .find(|m| m.tool == Tool::Cartoonify && m.default)
        .context("the manifest has no default Cartoonify model")?;
    let onnx_path = model.entry.cached_path();
    let onnx = std::fs::read(&onnx_path).with_context(|| format!("{}; run `just models`", onnx_path.display()))?;
    let style_model = StyleModel::from_manifest(&model.preprocess, &model.postprocess)?;
    let styles = style_model.styles();
    let cartoonifier = Cartoonifier::new(&onnx, style_model, CpuBackend)?;

    let photo = decode(&std::fs::read(&arguments.photo).with_context(|| arguments.photo.display().to_string())?)?;
    let side = photo.width().min(photo.height());
    let square =
        imageops::crop_imm(&photo, (photo.width() - side) / 2, (photo.height() - side) / 2, side, side).to_image();
    let square = imageops::resize(&square, arguments.size, arguments.size, FilterType::Lanczos3);
    std::fs::create_dir_all(&arguments.out)?;
    for index in 0..styles {
        let styled = pollster::block_on(cartoonifier.stylize_at(
            &square,
            arguments.size,
            arguments.size,
            &Style::single(index),
            &mut |_, _| true,
        ))?;
        let thumbnail = blend_with_original(&square, &styled, 1.0);
        let jpeg = encode_image(&thumbnail, ImageFormat::Jpeg { background: [255, 255, 255], quality: 85 })?;
        std::fs::write(arguments.out.join(format!("style-{:02}.jpg", index + 1)), jpeg)?;
    }
    println!("{styles} style thumbnails in {}", arguments.out.display());
    Ok(())
}

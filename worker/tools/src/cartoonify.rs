//! Cartoonify: a feed-forward style network repaints the photo, then the result is brought back
//! to the photo's full resolution, either by upscaling one pass at a working size ([`Resolution::Fast`])
//! or by running the network over overlapping tiles of the original ([`Resolution::FullDetail`]).
//!
//! Memory: what a pass needs grows with the area it runs at, not with the photo. For multistyle26
//! the largest activation is [1, 32, h + 2, w + 2] f32 (a reflect-padded full-resolution layer;
//! measured from the plan's step shapes): 128 MiB at 1024², 32 MiB for a
//! 512² tile. The plan does not expose the sum of live buffers, so count about three such buffers
//! alive at once (a layer's input, its output and a residual skip): roughly 400 MB for a 1024²
//! Fast pass and 100 MB per 512² tile in FullDetail, plus the photo itself in f32 (12 bytes a
//! pixel, twice over for the blended sum) at full size.

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Rgb, Rgb32FImage, RgbaImage};
use lantern_engine::{Backend, Device, Model as Network, Session, Tensor};
use lantern_models::{Colour, Filter, Postprocess, Preprocess, Range, Scale};

use crate::ToolError;
use crate::tensor::resize;

/// How a style network takes its image and gives its result.
#[derive(Debug, Clone, PartialEq)]
pub enum StyleModel {
    /// Image in 0..1 plus a vector mixing `styles` learned styles (input `style_weights`); output
    /// 0..1. The photo is resized to the working size with `filter`, and padded to `pad_multiple`.
    MultiStyle { styles: usize, output: String, max_side: u32, pad_multiple: u32, filter: Filter },
    /// AnimeGAN family: one RGB image in −1..1 (x/127.5 − 1), one image out in −1..1 (tanh).
    AnimeGan,
}

/// AnimeGAN downsamples three times by two, so sides must divide by eight.
const ANIMEGAN_MULTIPLE: u32 = 8;
/// The AnimeGAN generators are trained well below this; larger only costs memory.
const ANIMEGAN_MAX_SIDE: u32 = 1024;

impl StyleModel {
    /// The convention the model's manifest entry describes: multi-style when it gives a style
    /// count, AnimeGAN when it gives exactly that convention (see models/manifest.toml).
    pub fn from_manifest(preprocess: &Preprocess, postprocess: &Postprocess) -> Result<Self, ToolError> {
        if let Some(styles) = preprocess.style_weights {
            if preprocess.scale != Scale::Unit || preprocess.mean.is_some() || preprocess.std.is_some() {
                return Err(ToolError::Model("a style network must take its image in 0..1".into()));
            }
            return Ok(StyleModel::MultiStyle {
                styles: styles as usize,
                output: postprocess.output.clone().unwrap_or_else(|| "stylized".into()),
                max_side: preprocess.max_side.unwrap_or(1024),
                pad_multiple: preprocess.pad_multiple.unwrap_or(1).max(1),
                filter: preprocess.filter.unwrap_or(Filter::Bilinear),
            });
        }
        // The AnimeGan variant runs at a fixed maximum side, so a manifest may only restate it.
        let animegan_preprocess = Preprocess {
            colour: Colour::Rgb,
            scale: Scale::Unit,
            mean: Some([0.5; 3]),
            std: Some([0.5; 3]),
            size: None,
            height: None,
            width: None,
            max_side: preprocess.max_side.filter(|&side| side == ANIMEGAN_MAX_SIDE),
            multiple: Some(ANIMEGAN_MULTIPLE),
            pad_multiple: None,
            style_weights: None,
            filter: None,
        };
        let animegan_postprocess = Postprocess { range: Some(Range::Tanh), ..Postprocess::default() };
        if *preprocess == animegan_preprocess && *postprocess == animegan_postprocess {
            return Ok(StyleModel::AnimeGan);
        }
        Err(ToolError::Model(format!(
            "a cartoonify model needs `style_weights` (multi-style) or exactly the AnimeGAN convention: preprocess \
             colour \"rgb\", scale \"unit\", mean and std [0.5, 0.5, 0.5], multiple = {ANIMEGAN_MULTIPLE} and max_side \
             {ANIMEGAN_MAX_SIDE} or none; postprocess range = \"tanh\" alone. This entry has preprocess {} and postprocess {}",
            serde_json::to_string(preprocess).expect("plain data"),
            serde_json::to_string(postprocess).expect("plain data")
        )))
    }

    /// How many styles the weight vector mixes; zero when the network has one fixed style.
    pub fn styles(&self) -> usize {
        match self {
            StyleModel::MultiStyle { styles, .. } => *styles,
            StyleModel::AnimeGan => 0,
        }
    }

    /// The longest side a Fast pass runs at.
    pub fn max_side(&self) -> u32 {
        match self {
            StyleModel::MultiStyle { max_side, .. } => *max_side,
            StyleModel::AnimeGan => ANIMEGAN_MAX_SIDE,
        }
    }

    /// What every side the network sees must divide by.
    pub fn multiple(&self) -> u32 {
        match self {
            StyleModel::MultiStyle { pad_multiple, .. } => *pad_multiple,
            StyleModel::AnimeGan => ANIMEGAN_MULTIPLE,
        }
    }

    /// What a Fast pass's working size is rounded to: AnimeGAN's convention resizes to its
    /// multiple; a multi-style network is padded to its multiple instead, as its reference does.
    fn resize_multiple(&self) -> u32 {
        match self {
            StyleModel::MultiStyle { .. } => 1,
            StyleModel::AnimeGan => ANIMEGAN_MULTIPLE,
        }
    }

    /// The filter the photo is resized with to a Fast pass's working size.
    fn filter(&self) -> Filter {
        match self {
            StyleModel::MultiStyle { filter, .. } => *filter,
            StyleModel::AnimeGan => Filter::Bilinear,
        }
    }
}

/// A mix of two learned styles: `first` weighs 1 − `mix`, `second` weighs `mix`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub first: usize,
    pub second: usize,
    pub mix: f32,
}

impl Style {
    /// One style alone.
    pub fn single(index: usize) -> Self {
        Style { first: index, second: index, mix: 0.0 }
    }

    /// The network's `style_weights` input for `styles` learned styles.
    pub fn weights(&self, styles: usize) -> Result<Vec<f32>, ToolError> {
        if self.first >= styles || self.second >= styles {
            return Err(ToolError::Model(format!(
                "the network has {styles} styles, not {}",
                self.first.max(self.second) + 1
            )));
        }
        let mix = self.mix.clamp(0.0, 1.0);
        let mut weights = vec![0.0; styles];
        weights[self.first] += 1.0 - mix;
        weights[self.second] += mix;
        Ok(weights)
    }
}

/// How the result reaches the photo's full resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolution {
    /// One pass with the long side at `long_side` (the photo's own when None), at most the model's
    /// maximum, then a bicubic upscale. Quick, but fine detail is the working size's.
    Fast { long_side: Option<u32> },
    /// Passes over `tile`² tiles of the original overlapping by `overlap` pixels, feathered
    /// together. Memory stays that of one tile at any photo size, after one pass at the Fast
    /// working size that measures each instance normalisation's statistics on the whole photo
    /// (where the network exports them as spatial means, as multistyle26 does): every tile
    /// normalises with those, so the tiles make one picture. On a 1600×1056 photo in 512² tiles
    /// the result is 8.4 levels (mean) from one untiled pass at full size; each tile normalising
    /// by its own it was 42 levels, and a dark visor could turn light grey in one tile.
    FullDetail { tile: u32, overlap: u32 },
}

/// Everything the person chooses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    pub style: Style,
    /// 1 gives the network's result, 0 the original photo, between a blend of the two.
    pub strength: f32,
    pub resolution: Resolution,
}

/// Colour planes in 0..1, channel-major like the network's input.
struct Planes {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl Planes {
    fn from_rgba(image: &RgbaImage) -> Self {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let plane = width * height;
        let mut data = vec![0.0; 3 * plane];
        for (i, p) in image.pixels().enumerate() {
            for c in 0..3 {
                data[c * plane + i] = p[c] as f32 / 255.0;
            }
        }
        Planes { width, height, data }
    }

    /// The window at (`left`, `top`), extended right and down to `width`×`height` by mirroring.
    fn window(&self, left: usize, top: usize, inner: (usize, usize), padded: (usize, usize)) -> Planes {
        let (width, height) = padded;
        let mut data = vec![0.0; 3 * width * height];
        for c in 0..3 {
            for y in 0..height {
                let source_y = top + reflect(y, inner.1);
                for x in 0..width {
                    let source_x = left + reflect(x, inner.0);
                    data[(c * height + y) * width + x] =
                        self.data[(c * self.height + source_y) * self.width + source_x];
                }
            }
        }
        Planes { width, height, data }
    }

    fn into_image(self) -> Rgb32FImage {
        let plane = self.width * self.height;
        ImageBuffer::from_fn(self.width as u32, self.height as u32, |x, y| {
            let i = y as usize * self.width + x as usize;
            Rgb([self.data[i], self.data[plane + i], self.data[2 * plane + i]])
        })
    }
}

/// Mirror index without repeating the edge, as ONNX `reflect` padding does.
fn reflect(i: usize, length: usize) -> usize {
    if length < 2 {
        return 0;
    }
    let period = 2 * (length - 1);
    let folded = i % period;
    if folded < length { folded } else { period - folded }
}

/// The smallest side a style network is run at: a smaller photo or tile is mirrored out to it and
/// cropped back. Reflect padding needs an input larger than the pad, and these networks pad by up
/// to 4 (multistyle26's 9×9 input layer) and then halve the image two or three times.
const MIN_NETWORK_SIDE: usize = 32;

/// The side a network runs at for `value` pixels: a multiple of `multiple`, at least `MIN_NETWORK_SIDE`.
fn network_side(value: usize, multiple: u32) -> usize {
    value.max(MIN_NETWORK_SIDE).div_ceil(multiple as usize) * multiple as usize
}

pub struct Cartoonifier<B: Backend + Clone> {
    network: Network,
    model: StyleModel,
    image_input: String,
    output: String,
    backend: B,
}

/// An AnimeGAN network ends in tanh, so its output stays within −1..1. One that goes past it
/// (exported to give 0..255, say) would come out as a white or posterised picture: it is refused,
/// naming the range it gave. A few values just past ±1 are rounding; one in a thousand is not.
fn check_tanh_range(values: &[f32]) -> Result<(), ToolError> {
    let outside = values.iter().filter(|v| v.abs() > 1.01 || v.is_nan()).count();
    if outside * 1000 <= values.len() {
        return Ok(());
    }
    let (lowest, highest) =
        values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    Err(ToolError::Model(format!(
        "its output runs from {lowest:.1} to {highest:.1}, where an AnimeGANv2 model's stays within −1..1 (tanh); \
         it was exported with another output range, or is not an AnimeGANv2 model"
    )))
}

impl<B: Backend + Clone> Cartoonifier<B> {
    /// Reads the network and checks it has the inputs and output its convention needs.
    pub fn new(onnx: &[u8], model: StyleModel, backend: B) -> Result<Self, ToolError> {
        let network = Network::from_bytes(onnx)?;
        let names: Vec<&str> = network.inputs.iter().map(|i| i.name.as_str()).collect();
        let (image_input, output) = match &model {
            StyleModel::MultiStyle { output, .. } => {
                if names.len() != 2 || !names.contains(&"style_weights") {
                    return Err(ToolError::Model(format!(
                        "a multi-style network takes an image and `style_weights`; this one takes {names:?}"
                    )));
                }
                if !network.outputs.contains(output) {
                    return Err(ToolError::Model(format!("the network has no output `{output}`")));
                }
                let image = names.iter().find(|n| **n != "style_weights").expect("two inputs, one is the weights");
                (image.to_string(), output.clone())
            }
            StyleModel::AnimeGan => {
                if names.len() != 1 || network.outputs.len() != 1 {
                    return Err(ToolError::Model(format!(
                        "an AnimeGAN network takes one image and gives one image; this one has {} inputs and {} outputs",
                        names.len(),
                        network.outputs.len()
                    )));
                }
                let rank = network.inputs[0].dims.len();
                if rank != 4 {
                    return Err(ToolError::Model(format!(
                        "an AnimeGAN network takes an image [1, 3, h, w]; this input has {rank} dimensions"
                    )));
                }
                (names[0].to_string(), network.outputs[0].clone())
            }
        };
        Ok(Cartoonifier { network, model, image_input, output, backend })
    }

    pub fn model(&self) -> &StyleModel {
        &self.model
    }

    /// The `style_weights` input for `style`; empty for a network with one fixed style.
    fn style_weights(&self, style: &Style) -> Result<Vec<f32>, ToolError> {
        match self.model {
            StyleModel::MultiStyle { styles, .. } => style.weights(styles),
            StyleModel::AnimeGan => Ok(Vec::new()),
        }
    }

    /// A session for one input size; plans take milliseconds, so none is kept between calls.
    pub fn session(&self, width: usize, height: usize) -> Result<Session<B>, ToolError> {
        self.session_of(&self.network, width, height, &[self.output.as_str()])
    }

    /// A session of `network` (this one's, or a rewrite of it) for one input size, giving `outputs`.
    fn session_of(
        &self,
        network: &Network,
        width: usize,
        height: usize,
        outputs: &[&str],
    ) -> Result<Session<B>, ToolError> {
        let image_shape = [1, 3, height, width];
        let styles = [self.model.styles()];
        let mut shapes: Vec<(&str, &[usize])> = vec![(self.image_input.as_str(), &image_shape)];
        if let StyleModel::MultiStyle { .. } = self.model {
            shapes.push(("style_weights", &styles));
        }
        // A node that cannot be planned (an op Lantern lacks) is the model's, not a failed run.
        let plan = network.plan(&shapes, Some(outputs)).map_err(|e| match e {
            lantern_engine::Error::Node { .. } => ToolError::Model(e.to_string()),
            other => other.into(),
        })?;
        Ok(Session::new(plan, self.backend.clone())?)
    }

    /// Runs `session` on 0..1 planes of its exact size; the result is in 0..1.
    async fn stylize_planes(
        &self,
        session: &Session<B>,
        planes: &Planes,
        weights: &[f32],
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Planes, ToolError> {
        let (width, height) = (planes.width, planes.height);
        let output = self.run(session, planes, weights, progress).await?.remove(0);
        let values = output.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(lantern_engine::Error::from)?;
        if values.len() != 3 * width * height {
            return Err(ToolError::Model(format!(
                "the network gave {} values for a {width}×{height} image",
                values.len()
            )));
        }
        if let StyleModel::AnimeGan = self.model {
            check_tanh_range(&values)?;
        }
        let data = values
            .into_iter()
            .map(|y| match self.model {
                StyleModel::MultiStyle { .. } => y.clamp(0.0, 1.0),
                StyleModel::AnimeGan => ((y + 1.0) / 2.0).clamp(0.0, 1.0),
            })
            .collect();
        Ok(Planes { width, height, data })
    }

    /// Runs `session` on 0..1 planes of its exact size, as the network takes them; its outputs.
    async fn run(
        &self,
        session: &Session<B>,
        planes: &Planes,
        weights: &[f32],
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Vec<Tensor>, ToolError> {
        let (width, height) = (planes.width, planes.height);
        let to_network = |v: f32| match self.model {
            StyleModel::MultiStyle { .. } => v,
            StyleModel::AnimeGan => v * 2.0 - 1.0,
        };
        let image = Tensor::from_vec(
            planes.data.iter().map(|&v| to_network(v)).collect::<Vec<f32>>(),
            (1, 3, height, width),
            &Device::Cpu,
        )
        .map_err(lantern_engine::Error::from)?;
        let mut inputs = Vec::new();
        for spec in &session.plan().inputs {
            if spec.name == self.image_input {
                inputs.push(image.clone());
            } else {
                inputs.push(
                    Tensor::from_vec(weights.to_vec(), weights.len(), &Device::Cpu)
                        .map_err(lantern_engine::Error::from)?,
                );
            }
        }
        Ok(session.run_async(&inputs, progress).await?)
    }

    /// The network with each statistic over the image in `names` (the instance normalisations'
    /// means and variances: `Network::spatial_means`) fixed to its value over the whole photo,
    /// measured in one pass at the Fast working size (padded as that pass is); None where there
    /// is none.
    async fn with_whole_photo_statistics(
        &self,
        image: &RgbaImage,
        names: Vec<String>,
        weights: &[f32],
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Option<Network>, ToolError> {
        if names.is_empty() {
            return Ok(None);
        }
        let measuring = self.network.with_outputs(&names);
        let (width, height) = self.working_size(image.width(), image.height(), None);
        let planes = Planes::from_rgba(&resize(image, width, height, self.model.filter()));
        let multiple = self.model.multiple();
        let (padded_width, padded_height) =
            (network_side(planes.width, multiple), network_side(planes.height, multiple));
        let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
        let session = self.session_of(&measuring, padded_width, padded_height, &outputs)?;
        let padded = planes.window(0, 0, (planes.width, planes.height), (padded_width, padded_height));
        let values = self.run(&session, &padded, weights, progress).await?;
        Ok(Some(self.network.with_values_fixed(names.into_iter().zip(values).collect())?))
    }

    /// The network's result on `planes` of any size: mirrored out to the model's multiple, cropped back.
    async fn stylize_padded(
        &self,
        session: &Session<B>,
        planes: &Planes,
        weights: &[f32],
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Planes, ToolError> {
        let [_, _, height, width] =
            session.plan().inputs.iter().find(|i| i.name == self.image_input).expect("planned above").shape[..]
        else {
            return Err(ToolError::Model("the image input is not [1, 3, h, w]".into()));
        };
        let padded = planes.window(0, 0, (planes.width, planes.height), (width, height));
        let result = self.stylize_planes(session, &padded, weights, progress).await?;
        Ok(result.window(0, 0, (planes.width, planes.height), (planes.width, planes.height)))
    }

    /// The working size of a Fast pass: long side as asked (at most the model's), both sides
    /// rounded to the nearest multiple the convention resizes to (`StyleModel::resize_multiple`).
    pub fn working_size(&self, width: u32, height: u32, long_side: Option<u32>) -> (u32, u32) {
        let long = width.max(height).max(1);
        let target = long_side.unwrap_or(long).min(self.model.max_side());
        let scale = target as f64 / long as f64;
        let multiple = self.model.resize_multiple() as f64;
        let side = |s: u32| (((s as f64 * scale) / multiple).round().max(1.0) * multiple) as u32;
        (side(width), side(height))
    }

    /// One pass at `width`×`height` (resized from the photo with the model's filter), the result
    /// at that size.
    pub async fn stylize_at(
        &self,
        image: &RgbaImage,
        width: u32,
        height: u32,
        style: &Style,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Rgb32FImage, ToolError> {
        let weights = self.style_weights(style)?;
        let resized = resize(image, width, height, self.model.filter());
        let planes = Planes::from_rgba(&resized);
        let multiple = self.model.multiple();
        let session = self.session(network_side(planes.width, multiple), network_side(planes.height, multiple))?;
        Ok(self.stylize_padded(&session, &planes, &weights, progress).await?.into_image())
    }

    /// The photo over overlapping tiles at full resolution, feathered together.
    pub async fn stylize_tiled(
        &self,
        image: &RgbaImage,
        tile: u32,
        overlap: u32,
        style: &Style,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Rgb32FImage, ToolError> {
        if overlap >= tile {
            return Err(ToolError::Model(format!("tiles of {tile} pixels cannot overlap by {overlap}")));
        }
        let weights = self.style_weights(style)?;
        let (tile, overlap) = (tile as usize, overlap as usize);
        let (photo_width, photo_height) = (image.width() as usize, image.height() as usize);
        let columns = tile_starts(photo_width, tile, overlap);
        let rows = tile_starts(photo_height, tile, overlap);
        let tiles = columns.len() * rows.len();
        // Progress in thousandths of a pass: the statistics pass first, then each tile.
        let statistics = self.network.spatial_means();
        let passes = tiles + usize::from(!statistics.is_empty());
        let mut report =
            |pass: usize, done: usize, steps: usize| progress(pass * 1000 + done * 1000 / steps.max(1), passes * 1000);
        // Measured before the photo is held in floats, so the two never take memory together.
        let fixed = self
            .with_whole_photo_statistics(image, statistics, &weights, &mut |done, steps| report(0, done, steps))
            .await?;
        let first_tile = passes - tiles;
        let planes = Planes::from_rgba(image);
        let (tile_width, tile_height) = (tile.min(planes.width), tile.min(planes.height));
        let multiple = self.model.multiple();
        let session = self.session_of(
            fixed.as_ref().unwrap_or(&self.network),
            network_side(tile_width, multiple),
            network_side(tile_height, multiple),
            &[self.output.as_str()],
        )?;

        let plane = planes.width * planes.height;
        let mut sum = vec![0.0f32; 3 * plane];
        let mut total_weight = vec![0.0f32; plane];
        let mut index = 0;
        for &top in &rows {
            for &left in &columns {
                let window = planes.window(left, top, (tile_width, tile_height), (tile_width, tile_height));
                let mut tile_progress = |done: usize, steps: usize| report(first_tile + index, done, steps);
                let result = self.stylize_padded(&session, &window, &weights, &mut tile_progress).await?;
                for y in 0..tile_height {
                    let weight_y = feather(y, tile_height, overlap, top == 0, top + tile_height == planes.height);
                    for x in 0..tile_width {
                        let weight =
                            weight_y * feather(x, tile_width, overlap, left == 0, left + tile_width == planes.width);
                        let target = (top + y) * planes.width + left + x;
                        total_weight[target] += weight;
                        for c in 0..3 {
                            sum[c * plane + target] += weight * result.data[(c * tile_height + y) * tile_width + x];
                        }
                    }
                }
                index += 1;
            }
        }
        for c in 0..3 {
            for (value, weight) in sum[c * plane..(c + 1) * plane].iter_mut().zip(&total_weight) {
                *value /= weight;
            }
        }
        Ok(Planes { width: planes.width, height: planes.height, data: sum }.into_image())
    }

    /// The cartoon at the photo's own size, alpha kept. `progress(done, total)` returning false cancels.
    pub async fn cartoonify(
        &self,
        image: &RgbaImage,
        options: &Options,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<RgbaImage, ToolError> {
        let (width, height) = image.dimensions();
        let stylized = match options.resolution {
            Resolution::Fast { long_side } => {
                let (work_width, work_height) = self.working_size(width, height, long_side);
                let small = self.stylize_at(image, work_width, work_height, &options.style, progress).await?;
                imageops::resize(&small, width, height, FilterType::CatmullRom)
            }
            Resolution::FullDetail { tile, overlap } => {
                self.stylize_tiled(image, tile, overlap, &options.style, progress).await?
            }
        };
        Ok(blend_with_original(image, &stylized, options.strength))
    }
}

/// Left (or top) edges of tiles covering `length`; the last one is pulled back to end at the edge.
fn tile_starts(length: usize, tile: usize, overlap: usize) -> Vec<usize> {
    if length <= tile {
        return vec![0];
    }
    let mut starts: Vec<usize> = (0..).map(|i| i * (tile - overlap)).take_while(|&s| s + tile < length).collect();
    starts.push(length - tile);
    starts
}

/// A tile's weight along one axis: rising linearly over `overlap` pixels at edges shared with
/// another tile, flat at the photo's own edges, so overlapping tiles cross-fade without a seam.
fn feather(i: usize, length: usize, overlap: usize, at_start: bool, at_end: bool) -> f32 {
    let ramp = overlap.max(1) as f32;
    let rise = if at_start { 1.0 } else { ((i as f32 + 0.5) / ramp).min(1.0) };
    let fall = if at_end { 1.0 } else { ((length - i) as f32 - 0.5) / ramp };
    rise.min(fall.min(1.0))
}

/// `strength` of the cartoon over the original, with the original's alpha.
pub fn blend_with_original(image: &RgbaImage, stylized: &Rgb32FImage, strength: f32) -> RgbaImage {
    let strength = strength.clamp(0.0, 1.0);
    RgbaImage::from_fn(image.width(), image.height(), |x, y| {
        let original = image.get_pixel(x, y);
        let cartoon = stylized.get_pixel(x, y);
        let mix = |c: usize| {
            (cartoon[c].clamp(0.0, 1.0) * 255.0 * strength + original[c] as f32 * (1.0 - strength)).round() as u8
        };
        image::Rgba([mix(0), mix(1), mix(2), original[3]])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_past_tanh_range_is_refused_naming_it() {
        // tanh's own output, with rounding just past 1 in a few values: accepted.
        let mut tanh: Vec<f32> = (0..10_000).map(|i| (i as f32 / 500.0 - 10.0).tanh()).collect();
        tanh[..5].fill(1.004);
        assert!(check_tanh_range(&tanh).is_ok());
        // A network exported to give 0..255.
        let bytes: Vec<f32> = (0..10_000).map(|i| (i % 256) as f32).collect();
        let err = check_tanh_range(&bytes).unwrap_err().to_string();
        assert!(err.contains("runs from 0.0 to 255.0") && err.contains("within −1..1"), "{err}");
    }
}

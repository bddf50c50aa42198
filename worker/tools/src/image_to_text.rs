//! Image to text: a DB network marks where text is, each line is cut out straight (turned a
//! quarter where lines run down the page), an optional classifier turns upside-down lines round,
//! a CTC network reads them (PP-OCR's, or a Tesseract LSTM model for the scripts PP-OCR does not
//! read), and the lines are put in the order the page, however turned, is read.

use image::imageops;
use image::{Rgba, RgbaImage};
use lantern_engine::{Backend, Device, Model as Network, Session, Tensor};
use lantern_models::{Model, Postprocess, Preprocess};
use rayon::prelude::*;

use crate::ToolError;
use crate::tensor::image_to_nchw;

/// A point in pixels, x to the right and y down.
pub type Point = (f32, f32);

/// Lines read with less confidence than this are more often noise than text.
const MIN_CONFIDENCE: f32 = 0.5;

/// A line the classifier turned and the recogniser then read with less confidence than this is
/// read unturned too (lines read right are above 0.9 with every recogniser here).
const REREAD_TURNED_BELOW: f32 = 0.85;

/// A box this many times longer one way than the other is a line running that way (PaddleOCR's
/// rule for turning tall crops).
const TALL_LINE: f32 = 1.5;

/// Lines recognised in one network run; bounded so wide batches stay small in memory.
const RECOGNITION_BATCH: usize = 8;

/// Lines of a page each thread reads with a Tesseract model between progress reports: a few, so
/// lines of different lengths even out, and a cancel waits for at most a few lines (20–90 ms each).
const TESSERACT_LINES_PER_THREAD: usize = 4;

/// A gap between characters that the space's probability reaches this in is a space
/// (`ctc_greedy`). Chosen on the word-recall set (tests/data/ocr-words.toml, 396 words): words
/// read went from 347 to 353 with v6 tiny and from 372 to 376 with small. Lower bars split
/// letter-spaced capitals ("ST E VE K LABNIK" at 0.1, where tiny's words on a book cover fell
/// from 19 to 13); 0.3 split none there.
const SPACE_IN_GAP: f32 = 0.3;

/// The stages of reading, in order; orientation runs only with a classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStage {
    Detect,
    Orient,
    Recognise,
}

/// One line of text found in the image.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub text: String,
    /// Mean probability of the characters read, 0..1.
    pub confidence: f32,
    /// Corners in the image's pixels (pixel (0, 0) covers 0..1 × 0..1): top-left, top-right,
    /// bottom-right, bottom-left as read.
    pub polygon: [Point; 4],
}

/// One network with the manifest's description of how it is fed and read.
struct Stage {
    network: Network,
    input: String,
    output: String,
    preprocess: Preprocess,
    postprocess: Postprocess,
}

impl Stage {
    fn new(spec: &NetworkSpec) -> Result<Self, ToolError> {
        let network = Network::from_bytes(spec.onnx)?;
        let input =
            network.inputs.first().ok_or_else(|| ToolError::Model("the network has no input".into()))?.name.clone();
        let output = match &spec.postprocess.output {
            Some(name) => name.clone(),
            None => {
                network.outputs.first().cloned().ok_or_else(|| ToolError::Model("the network has no output".into()))?
            }
        };
        Ok(Stage { network, input, output, preprocess: spec.preprocess.clone(), postprocess: spec.postprocess.clone() })
    }

    /// Plans for this input's shape (planning is cheap next to running) and runs once.
    async fn run<B: Backend>(
        &self,
        input: Tensor,
        backend: B,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<(Vec<usize>, Vec<f32>), ToolError> {
        let shape = input.dims().to_vec();
        let plan = self.network.plan(&[(self.input.as_str(), &shape)], Some(&[self.output.as_str()]))?;
        let output = Session::new(plan, backend)?.run_async(&[input], progress).await?.remove(0);
        let dims = output.dims().to_vec();
        let values = output.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(lantern_engine::Error::from)?;
        Ok((dims, values))
    }

    fn crop_height(&self) -> u32 {
        self.preprocess.height.unwrap_or(48)
    }
}

/// Reads the text in images: detection, optional orientation, recognition.
pub struct TextReader<B: Backend + Clone> {
    detector: Stage,
    recogniser: LineRecogniser,
    orientation: Option<Stage>,
    backend: B,
}

/// What reads the lines the detector found. Each holds its network boxed: they differ in size by
/// hundreds of bytes.
enum LineRecogniser {
    /// A PP-OCR recognition network, run by the engine on the reader's backend.
    PaddleOcr {
        stage: Box<Stage>,
        /// Characters by class index; index 0 is the CTC blank.
        classes: Vec<String>,
        /// The space's class, where the recogniser reads spaces.
        space: Option<usize>,
    },
    /// A Tesseract LSTM model, run on the CPU line by line.
    Tesseract(Box<lantern_tesseract::Recogniser>),
}

/// One network's file and how its manifest entry says to feed and read it.
pub struct NetworkSpec<'a> {
    pub onnx: &'a [u8],
    pub preprocess: &'a Preprocess,
    pub postprocess: &'a Postprocess,
}

impl<'a> NetworkSpec<'a> {
    pub fn of(onnx: &'a [u8], model: &'a Model) -> Self {
        NetworkSpec { onnx, preprocess: &model.preprocess, postprocess: &model.postprocess }
    }
}

impl<B: Backend + Clone> TextReader<B> {
    /// `dictionary_text` is the recogniser's dictionary asset, one character per line; the
    /// orientation classifier is optional.
    pub fn new(
        det: &NetworkSpec,
        rec: &NetworkSpec,
        dictionary_text: &str,
        cls: Option<&NetworkSpec>,
        backend: B,
    ) -> Result<Self, ToolError> {
        let recogniser = Stage::new(rec)?;
        let blank = recogniser.postprocess.blank.unwrap_or(0);
        if blank != 0 {
            return Err(ToolError::Model(format!("the CTC blank is class {blank}; only class 0 is supported")));
        }
        let reads_spaces = recogniser.postprocess.space.unwrap_or(false);
        let classes = dictionary_classes(dictionary_text, reads_spaces);
        Ok(TextReader {
            detector: Stage::new(det)?,
            recogniser: LineRecogniser::PaddleOcr {
                stage: Box::new(recogniser),
                space: reads_spaces.then(|| classes.len() - 1),
                classes,
            },
            orientation: cls.map(Stage::new).transpose()?,
            backend,
        })
    }

    /// Finds the lines with PP-OCR's detector (and orientation classifier, if given) and reads
    /// them with a Tesseract `.traineddata` LSTM model: for the scripts PP-OCR does not read.
    pub fn with_tesseract(
        det: &NetworkSpec,
        traineddata: &[u8],
        cls: Option<&NetworkSpec>,
        backend: B,
    ) -> Result<Self, ToolError> {
        Ok(TextReader {
            detector: Stage::new(det)?,
            recogniser: LineRecogniser::Tesseract(Box::new(lantern_tesseract::Recogniser::from_traineddata(
                traineddata,
            )?)),
            orientation: cls.map(Stage::new).transpose()?,
            backend,
        })
    }

    /// The lines of text in reading order. `progress(stage, done, total)` reports each stage's
    /// share done (recognition counts lines); returning false cancels.
    pub async fn read(
        &self,
        image: &RgbaImage,
        progress: &mut dyn FnMut(ReadStage, usize, usize) -> bool,
    ) -> Result<Vec<TextLine>, ToolError> {
        let boxes = self.detect(image, &mut |done, total| progress(ReadStage::Detect, done, total)).await?;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        // Each box as its line is read before the classifier: upright, or turned a quarter.
        let quads: Vec<[Point; 4]> = boxes
            .iter()
            .zip(sideways_lines(&boxes))
            .map(|(corners, sideways)| if sideways { turned(corners, 1) } else { *corners })
            .collect();
        let mut crops: Vec<RgbaImage> = quads.iter().map(|quad| crop_quad(image, quad)).collect();
        let mut turns = match &self.orientation {
            Some(orientation) => {
                self.orientations(orientation, &crops, &mut |done, total| progress(ReadStage::Orient, done, total))
                    .await?
            }
            None => vec![false; crops.len()],
        };
        for (crop, &turned) in crops.iter_mut().zip(&turns) {
            if turned {
                imageops::rotate180_in_place(crop);
            }
        }
        let mut readings =
            self.recognise(&crops, &mut |done, total| progress(ReadStage::Recognise, done, total)).await?;
        // The classifier can turn an upright line (a line of small print on a clean scan, read at
        // 0.53 as "8 #  1- 7U)"): a turned line read with little confidence is read the way it
        // was found too, and the more confident reading kept. Lines the classifier left alone are
        // never turned, so an upright page cannot lose a line to a 180° turn.
        let doubtful: Vec<usize> =
            (0..crops.len()).filter(|&i| turns[i] && readings[i].1 < REREAD_TURNED_BELOW).collect();
        if !doubtful.is_empty() {
            let unturned: Vec<RgbaImage> = doubtful.iter().map(|&i| imageops::rotate180(&crops[i])).collect();
            let total = crops.len();
            let second = self.recognise(&unturned, &mut |_, _| progress(ReadStage::Recognise, total, total)).await?;
            for (&i, reading) in doubtful.iter().zip(second) {
                if reading.1 > readings[i].1 {
                    readings[i] = reading;
                    turns[i] = false;
                }
            }
        }
        let mut lines: Vec<TextLine> = quads
            .into_iter()
            .zip(&turns)
            .zip(readings)
            .filter(|(_, (text, confidence))| !text.trim().is_empty() && *confidence >= MIN_CONFIDENCE)
            .map(|((quad, &upside_down), (text, confidence))| TextLine {
                text,
                confidence,
                polygon: if upside_down { turned(&quad, 2) } else { quad },
            })
            .collect();
        sort_in_reading_order(&mut lines);
        Ok(lines)
    }

    /// Text boxes in the image's pixels.
    async fn detect(
        &self,
        image: &RgbaImage,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Vec<[Point; 4]>, ToolError> {
        let pre = &self.detector.preprocess;
        let (width, height) =
            detection_size(image.width(), image.height(), pre.max_side.unwrap_or(960), pre.multiple.unwrap_or(32));
        let input = image_to_nchw(image, width, height, pre);
        let (dims, values) = self.detector.run(input, self.backend.clone(), progress).await?;
        let [.., map_height, map_width] = dims[..] else {
            return Err(ToolError::Model(format!("the detection output has shape {dims:?}")));
        };
        let post = &self.detector.postprocess;
        let db = DbParams {
            thresh: post.thresh.unwrap_or(0.3),
            box_thresh: post.box_thresh.unwrap_or(0.6),
            unclip_ratio: post.unclip_ratio.unwrap_or(1.5),
            max_candidates: post.max_candidates.unwrap_or(1000) as usize,
        };
        let map = ProbabilityMap { width: map_width, height: map_height, values: &values[..map_width * map_height] };
        let (sx, sy) = (image.width() as f32 / map_width as f32, image.height() as f32 / map_height as f32);
        let (right, bottom) = (image.width() as f32, image.height() as f32);
        Ok(text_boxes(&map, &db)
            .into_iter()
            .map(|corners| {
                corners.map(|(x, y)| (((x + 0.5) * sx).clamp(0.0, right), ((y + 0.5) * sy).clamp(0.0, bottom)))
            })
            // Scaling back to the image can leave slivers too thin to hold a character.
            .filter(|corners| distance(corners[0], corners[1]) > 3.0 && distance(corners[0], corners[3]) > 3.0)
            .collect())
    }

    /// Which crops to turn by 180°: those the classifier finds upside down with confidence, and,
    /// where it is unsure either way (long lines squeezed into its width), those on a page whose
    /// confident lines, weighted by length, are mostly upside down.
    async fn orientations(
        &self,
        orientation: &Stage,
        crops: &[RgbaImage],
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Vec<bool>, ToolError> {
        let labels = orientation.postprocess.labels.clone().unwrap_or_else(|| vec!["0".into(), "180".into()]);
        let label = |name: &str| {
            let missing = || ToolError::Model(format!("the orientation labels have no \"{name}\""));
            labels.iter().position(|label| label == name).ok_or_else(missing)
        };
        let (upright, upside_down) = (label("0")?, label("180")?);
        let threshold = orientation.postprocess.threshold.unwrap_or(0.9);
        let width = orientation.preprocess.width.unwrap_or(192);
        let input = padded_batch(crops.iter(), orientation.crop_height(), width, &orientation.preprocess);
        let (dims, scores) = orientation.run(input, self.backend.clone(), progress).await?;
        if dims != [crops.len(), labels.len()] {
            return Err(ToolError::Model(format!("the orientation output has shape {dims:?}")));
        }
        let verdicts: Vec<Option<bool>> = scores
            .chunks(labels.len())
            .map(|row| {
                if row[upside_down] > threshold {
                    Some(true)
                } else if row[upright] > threshold {
                    Some(false)
                } else {
                    None
                }
            })
            .collect();
        let confident = verdicts
            .iter()
            .zip(crops)
            .filter_map(|(verdict, crop)| verdict.map(|turned| (turned, crop.width() as f32)));
        let page_turned = outweighs(confident);
        Ok(verdicts.into_iter().map(|v| v.unwrap_or(page_turned)).collect())
    }

    /// Text and confidence of every crop, in the crops' order. `progress` counts lines read.
    async fn recognise(
        &self,
        crops: &[RgbaImage],
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Vec<(String, f32)>, ToolError> {
        match &self.recogniser {
            LineRecogniser::PaddleOcr { stage, classes, space } => {
                self.recognise_paddle(stage, classes, *space, crops, progress).await
            }
            LineRecogniser::Tesseract(recogniser) => recognise_tesseract(recogniser, crops, progress),
        }
    }

    async fn recognise_paddle(
        &self,
        stage: &Stage,
        classes: &[String],
        space: Option<usize>,
        crops: &[RgbaImage],
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Vec<(String, f32)>, ToolError> {
        let pre = &stage.preprocess;
        let height = stage.crop_height();
        // Batching lines of similar aspect keeps the padding, and so the wasted work, small.
        let mut order: Vec<usize> = (0..crops.len()).collect();
        order.sort_by(|&a, &b| aspect(&crops[a]).total_cmp(&aspect(&crops[b])));
        let batches: Vec<&[usize]> = order.chunks(RECOGNITION_BATCH).collect();
        let mut readings = vec![(String::new(), 0.0); crops.len()];
        let mut lines_read = 0;
        for batch in &batches {
            let widest = batch.iter().map(|&i| aspect(&crops[i])).fold(0.0, f32::max);
            let width = ((height as f32 * widest).ceil() as u32).max(pre.width.unwrap_or(320)).next_multiple_of(8);
            let input = padded_batch(batch.iter().map(|&i| &crops[i]), height, width, pre);
            let (dims, probabilities) =
                stage.run(input, self.backend.clone(), &mut |_, _| progress(lines_read, crops.len())).await?;
            let [n, steps, outputs] = dims[..] else {
                return Err(ToolError::Model(format!("the recognition output has shape {dims:?}")));
            };
            if n != batch.len() || outputs != classes.len() {
                return Err(ToolError::Model(format!(
                    "the recognition output has shape {dims:?}; the dictionary gives {} classes",
                    classes.len()
                )));
            }
            for (&i, line) in batch.iter().zip(probabilities.chunks(steps * outputs)) {
                let (indices, confidence) = ctc_greedy(line, outputs, space);
                readings[i] = (indices.iter().map(|&c| classes[c].as_str()).collect(), confidence);
            }
            lines_read += batch.len();
            if !progress(lines_read, crops.len()) {
                return Err(ToolError::Cancelled);
            }
        }
        Ok(readings)
    }
}

/// Text and confidence of every crop read by a Tesseract model, in the crops' order; `progress`
/// counts lines read. The model finds each line's ink and margin itself, and reads light text on a
/// dark ground by retrying the line inverted.
///
/// Lines share nothing, so they are read on the thread pool, `TESSERACT_LINES_PER_THREAD` a
/// thread between progress reports (where a cancel is heard).
fn recognise_tesseract(
    recogniser: &lantern_tesseract::Recogniser,
    crops: &[RgbaImage],
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Vec<(String, f32)>, ToolError> {
    let read = |crop: &RgbaImage| {
        let rgb = image::DynamicImage::ImageRgba8(crop.clone()).into_rgb8();
        let grey = lantern_tesseract::GreyImage::from_rgb(crop.width() as usize, crop.height() as usize, rgb.as_raw());
        let reading = recogniser.recognise_detected(&grey);
        (reading.text, reading.confidence)
    };
    let mut readings = Vec::with_capacity(crops.len());
    for round in crops.chunks(rayon::current_num_threads() * TESSERACT_LINES_PER_THREAD) {
        readings.par_extend(round.par_iter().map(read));
        if !progress(readings.len(), crops.len()) {
            return Err(ToolError::Cancelled);
        }
    }
    Ok(readings)
}

/// A row further from the one before than this many line heights (beyond touching) starts a paragraph.
const PARAGRAPH_GAP: f32 = 0.6;

/// Lines in reading order grouped into rows (lines side by side) and rows into paragraphs,
/// measured along the page's own axes so a turned or skewed page groups like an upright one.
pub fn paragraphs(lines: &[TextLine]) -> Vec<Vec<Vec<&TextLine>>> {
    let axes = PageAxes::of(lines.iter().map(|line| &line.polygon));
    let mut out: Vec<Vec<Vec<&TextLine>>> = Vec::new();
    // The last row's extent across the page's lines.
    let mut row_extent = (0.0f32, 0.0f32);
    for (i, line) in lines.iter().enumerate() {
        let (top, bottom) = PageAxes::extent(&line.polygon, axes.down);
        if i > 0 && axes.same_row(&lines[i - 1].polygon, &line.polygon) {
            out.last_mut().and_then(|paragraph| paragraph.last_mut()).expect("a row exists").push(line);
            row_extent = (row_extent.0.min(top), row_extent.1.max(bottom));
            continue;
        }
        let height = (bottom - top).max(row_extent.1 - row_extent.0);
        match out.last_mut() {
            Some(paragraph) if top - row_extent.1 <= PARAGRAPH_GAP * height => paragraph.push(vec![line]),
            _ => out.push(vec![vec![line]]),
        }
        row_extent = (top, bottom);
    }
    out
}

/// The lines' text: lines sharing a row joined by a space, rows by newlines, paragraphs by a
/// blank line.
pub fn text(lines: &[TextLine]) -> String {
    paragraphs(lines)
        .iter()
        .map(|paragraph| {
            let rows =
                paragraph.iter().map(|row| row.iter().map(|line| line.text.as_str()).collect::<Vec<_>>().join(" "));
            rows.collect::<Vec<_>>().join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Whether the lines voting yes outweigh the others, given (vote, length) for each line.
fn outweighs(votes: impl IntoIterator<Item = (bool, f32)>) -> bool {
    votes.into_iter().map(|(yes, length)| if yes { length } else { -length }).sum::<f32>() > 0.0
}

/// Which boxes hold lines running down or up the image rather than across: those much taller
/// than wide, and, where a box is too square to tell (a short word), those on a page whose clear
/// lines, weighted by length, mostly run that way.
fn sideways_lines(boxes: &[[Point; 4]]) -> Vec<bool> {
    let verdicts: Vec<Option<(bool, f32)>> = boxes
        .iter()
        .map(|corners| {
            let (across, down) = (distance(corners[0], corners[1]), distance(corners[0], corners[3]));
            if down >= TALL_LINE * across {
                Some((true, down))
            } else if across >= TALL_LINE * down {
                Some((false, across))
            } else {
                None
            }
        })
        .collect();
    let page_sideways = outweighs(verdicts.iter().flatten().copied());
    verdicts.into_iter().map(|verdict| verdict.map_or(page_sideways, |(sideways, _)| sideways)).collect()
}

/// The same box read from another side: `quarters` = 1 puts its right side on top (a line
/// running down the image), 2 its bottom (a line upside down).
fn turned(quad: &[Point; 4], quarters: usize) -> [Point; 4] {
    let mut quad = *quad;
    quad.rotate_left(quarters);
    quad
}

/// The recogniser's classes from its dictionary asset (one character per line, either line
/// ending): the CTC blank first, then each line, then a space where the model reads spaces.
pub fn dictionary_classes(dictionary_text: &str, space: bool) -> Vec<String> {
    let mut classes = vec![String::new()];
    classes.extend(dictionary_text.lines().map(|line| line.trim_end_matches('\r').to_string()));
    if space {
        classes.push(" ".into());
    }
    classes
}

/// Network input size: the long side at most `max_side`, both sides multiples of `multiple`.
pub fn detection_size(width: u32, height: u32, max_side: u32, multiple: u32) -> (u32, u32) {
    let ratio = (max_side as f32 / width.max(height) as f32).min(1.0);
    let side = |v: u32| (((v as f32 * ratio) / multiple as f32).round() as u32 * multiple).max(multiple);
    (side(width), side(height))
}

/// DB post-processing settings, from the detector's manifest entry.
#[derive(Debug, Clone, Copy)]
pub struct DbParams {
    pub thresh: f32,
    pub box_thresh: f32,
    pub unclip_ratio: f32,
    pub max_candidates: usize,
}

/// The detector's per-pixel text probability, row by row.
pub struct ProbabilityMap<'a> {
    pub width: usize,
    pub height: usize,
    pub values: &'a [f32],
}

/// Text boxes in the map's pixels (a pixel's centre at whole coordinates), corners in reading order.
pub fn text_boxes(map: &ProbabilityMap, db: &DbParams) -> Vec<[Point; 4]> {
    let text: Vec<bool> = map.values.iter().map(|&p| p > db.thresh).collect();
    regions(&text, map.width, map.height)
        .into_iter()
        .take(db.max_candidates)
        .filter_map(|pixels| min_area_rect(&pixels))
        .filter(|rect| rect.short_side() >= 3.0 && box_score(map, &rect.corners()) >= db.box_thresh)
        .map(|rect| rect.unclip(db.unclip_ratio))
        .filter(|rect| rect.short_side() >= 5.0)
        .map(|rect| reading_order_corners(rect.corners()))
        .collect()
}

/// The 8-connected regions of set pixels, each as its pixels' coordinates.
pub fn regions(set: &[bool], width: usize, height: usize) -> Vec<Vec<(i32, i32)>> {
    let mut seen = vec![false; set.len()];
    let mut regions = Vec::new();
    let mut stack = Vec::new();
    for start in 0..set.len() {
        if !set[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut pixels = Vec::new();
        while let Some(i) = stack.pop() {
            let (x, y) = ((i % width) as i32, (i / width) as i32);
            pixels.push((x, y));
            for (dx, dy) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= width as i32 || ny >= height as i32 {
                    continue;
                }
                let j = ny as usize * width + nx as usize;
                if set[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        regions.push(pixels);
    }
    regions
}

/// The convex hull, counter-clockwise in y-down coordinates, without collinear points.
pub fn convex_hull(points: &[(i32, i32)]) -> Vec<(i32, i32)> {
    let mut sorted = points.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() < 3 {
        return sorted;
    }
    let cross = |o: (i32, i32), a: (i32, i32), b: (i32, i32)| {
        (a.0 - o.0) as i64 * (b.1 - o.1) as i64 - (a.1 - o.1) as i64 * (b.0 - o.0) as i64
    };
    let mut hull: Vec<(i32, i32)> = Vec::with_capacity(2 * sorted.len());
    for pass in [sorted.clone(), sorted.iter().rev().copied().collect()] {
        let floor = hull.len();
        for p in pass {
            while hull.len() >= floor + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0 {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// A rectangle at any angle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotatedRect {
    pub centre: Point,
    /// Extent along `axis`, then across it.
    pub size: (f32, f32),
    /// Unit direction of the first side.
    pub axis: Point,
}

impl RotatedRect {
    pub fn short_side(&self) -> f32 {
        self.size.0.min(self.size.1)
    }

    /// Grown by area × ratio / perimeter on every side, as DB's unclip of a rectangle.
    pub fn unclip(&self, ratio: f32) -> RotatedRect {
        let (w, h) = self.size;
        let grow = w * h * ratio / (2.0 * (w + h)).max(f32::EPSILON);
        RotatedRect { size: (w + 2.0 * grow, h + 2.0 * grow), ..*self }
    }

    pub fn corners(&self) -> [Point; 4] {
        let (cx, cy) = self.centre;
        let (ux, uy) = self.axis;
        let (vx, vy) = (-uy, ux);
        let (hw, hh) = (self.size.0 / 2.0, self.size.1 / 2.0);
        [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)].map(|(a, b)| (cx + a * ux + b * vx, cy + a * uy + b * vy))
    }
}

/// The smallest-area rectangle around the points (rotating calipers over the hull's edges).
pub fn min_area_rect(points: &[(i32, i32)]) -> Option<RotatedRect> {
    let hull: Vec<Point> = convex_hull(points).into_iter().map(|(x, y)| (x as f32, y as f32)).collect();
    if hull.len() < 3 {
        return None;
    }
    let mut best: Option<(f32, RotatedRect)> = None;
    for (i, &a) in hull.iter().enumerate() {
        let b = hull[(i + 1) % hull.len()];
        let length = distance(a, b);
        let axis = ((b.0 - a.0) / length, (b.1 - a.1) / length);
        let across = (-axis.1, axis.0);
        let (mut lo, mut hi) = ((f32::MAX, f32::MAX), (f32::MIN, f32::MIN));
        for &p in &hull {
            let (u, v) = (p.0 * axis.0 + p.1 * axis.1, p.0 * across.0 + p.1 * across.1);
            lo = (lo.0.min(u), lo.1.min(v));
            hi = (hi.0.max(u), hi.1.max(v));
        }
        let area = (hi.0 - lo.0) * (hi.1 - lo.1);
        if best.is_none_or(|(smallest, _)| area < smallest) {
            let (u, v) = ((lo.0 + hi.0) / 2.0, (lo.1 + hi.1) / 2.0);
            let centre = (u * axis.0 + v * across.0, u * axis.1 + v * across.1);
            best = Some((area, RotatedRect { centre, size: (hi.0 - lo.0, hi.1 - lo.1), axis }));
        }
    }
    best.map(|(_, rect)| rect)
}

/// Mean probability of the map's pixels inside the convex quadrilateral.
pub fn box_score(map: &ProbabilityMap, corners: &[Point; 4]) -> f32 {
    let clampx = |v: f32| v.clamp(0.0, map.width as f32 - 1.0) as usize;
    let clampy = |v: f32| v.clamp(0.0, map.height as f32 - 1.0) as usize;
    let lowest = |values: [f32; 4]| values.into_iter().fold(f32::MAX, f32::min).floor();
    let highest = |values: [f32; 4]| values.into_iter().fold(f32::MIN, f32::max).ceil();
    let (xs, ys) = (corners.map(|c| c.0), corners.map(|c| c.1));
    let (x0, x1) = (clampx(lowest(xs)), clampx(highest(xs)));
    let (y0, y1) = (clampy(lowest(ys)), clampy(highest(ys)));
    let (mut sum, mut count) = (0.0, 0usize);
    for y in y0..=y1 {
        for x in x0..=x1 {
            if inside_convex(corners, (x as f32, y as f32)) {
                sum += map.values[y * map.width + x];
                count += 1;
            }
        }
    }
    if count == 0 { 0.0 } else { sum / count as f32 }
}

/// Whether the point lies inside or on the edge of a convex polygon given in either winding.
fn inside_convex(polygon: &[Point; 4], p: Point) -> bool {
    let sides = (0..4).map(|i| {
        let (a, b) = (polygon[i], polygon[(i + 1) % 4]);
        (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0)
    });
    let (mut left, mut right) = (false, false);
    for side in sides {
        left |= side > 1e-3;
        right |= side < -1e-3;
    }
    !(left && right)
}

/// Orders a rectangle's corners, given in order round it either way, as a line across the image
/// is read: top-left, top-right, bottom-right, bottom-left, going clockwise on screen from the
/// corner whose next side points most nearly to the right.
pub fn reading_order_corners(corners: [Point; 4]) -> [Point; 4] {
    let doubled_area: f32 = (0..4).map(|i| cross(corners[i], corners[(i + 1) % 4])).sum();
    let mut clockwise = corners;
    // y points down, so a clockwise turn on screen has a positive area.
    if doubled_area < 0.0 {
        clockwise.reverse();
    }
    let rightwards = |i: usize| {
        let (a, b) = (clockwise[i], clockwise[(i + 1) % 4]);
        (b.0 - a.0) / distance(a, b).max(f32::EPSILON)
    };
    let first = (0..4).max_by(|&a, &b| rightwards(a).total_cmp(&rightwards(b))).expect("four corners");
    clockwise.rotate_left(first);
    clockwise
}

fn cross(a: Point, b: Point) -> f32 {
    a.0 * b.1 - a.1 * b.0
}

fn distance(a: Point, b: Point) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// The quadrilateral cut out at the image's resolution, its first corner at the crop's top left
/// and its second at the top right.
fn crop_quad(image: &RgbaImage, quad: &[Point; 4]) -> RgbaImage {
    let [top_left, top_right, bottom_right, bottom_left] = *quad;
    let width = distance(top_left, top_right).max(distance(bottom_left, bottom_right));
    let height = distance(top_left, bottom_left).max(distance(top_right, bottom_right));
    let (columns, rows) = (width.round().max(1.0) as u32, height.round().max(1.0) as u32);
    RgbaImage::from_fn(columns, rows, |u, v| {
        let (s, t) = ((u as f32 + 0.5) / columns as f32, (v as f32 + 0.5) / rows as f32);
        let x = top_left.0 + s * (top_right.0 - top_left.0) + t * (bottom_left.0 - top_left.0);
        let y = top_left.1 + s * (top_right.1 - top_left.1) + t * (bottom_left.1 - top_left.1);
        sample_bilinear(image, x - 0.5, y - 0.5)
    })
}

/// The image at a point between pixel centres, edges extended outwards.
fn sample_bilinear(image: &RgbaImage, x: f32, y: f32) -> Rgba<u8> {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let (fx, fy) = (x.floor(), y.floor());
    let (ax, ay) = (x - fx, y - fy);
    let pixel = |dx: i64, dy: i64| {
        *image.get_pixel((fx as i64 + dx).clamp(0, w - 1) as u32, (fy as i64 + dy).clamp(0, h - 1) as u32)
    };
    let (p00, p10, p01, p11) = (pixel(0, 0), pixel(1, 0), pixel(0, 1), pixel(1, 1));
    Rgba(std::array::from_fn(|c| {
        let top = p00[c] as f32 * (1.0 - ax) + p10[c] as f32 * ax;
        let bottom = p01[c] as f32 * (1.0 - ax) + p11[c] as f32 * ax;
        (top * (1.0 - ay) + bottom * ay).round() as u8
    }))
}

fn aspect(crop: &RgbaImage) -> f32 {
    crop.width() as f32 / crop.height() as f32
}

/// The crops resized to `height` keeping their aspect (at most `width` wide), normalised, and
/// padded with zeros on the right to `width`: an [N, 3, height, width] tensor.
fn padded_batch<'a>(
    crops: impl ExactSizeIterator<Item = &'a RgbaImage>,
    height: u32,
    width: u32,
    pre: &Preprocess,
) -> Tensor {
    let count = crops.len();
    let (rows, columns) = (height as usize, width as usize);
    let mut data = vec![0f32; count * 3 * rows * columns];
    for (n, crop) in crops.enumerate() {
        let resized_width = ((height as f32 * aspect(crop)).ceil() as u32).clamp(1, width);
        let values = image_to_nchw(crop, resized_width, height, pre)
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .expect("a host tensor of f32");
        let resized = resized_width as usize;
        for c in 0..3 {
            for y in 0..rows {
                let from = (c * rows + y) * resized;
                let to = ((n * 3 + c) * rows + y) * columns;
                data[to..to + resized].copy_from_slice(&values[from..from + resized]);
            }
        }
    }
    Tensor::from_vec(data, (count, 3, rows, columns), &Device::Cpu).expect("length matches shape")
}

/// CTC greedy decoding of one line's [steps × classes] probabilities: the most likely class per
/// step, repeats collapsed, blanks (class 0) dropped; confidence is the kept steps' mean
/// probability.
///
/// With `space` (the space's class), a gap of blanks between two characters that the space's
/// probability reached `SPACE_IN_GAP` in is read as a space, though the blank won each step
/// there: the recogniser often gives a narrow gap between words to the blank, and PaddleOCR's
/// greedy decoding then runs the words together ("aNDCAROL" on a book cover, where the space
/// reached 0.29). The space's probability is left out of the confidence, which stays that of
/// the steps' winners.
pub fn ctc_greedy(probabilities: &[f32], classes: usize, space: Option<usize>) -> (Vec<usize>, f32) {
    let mut kept: Vec<usize> = Vec::new();
    let (mut total, mut winners) = (0.0, 0);
    let mut previous = None;
    // The space's highest probability over the blanks since the last character.
    let mut space_in_gap = 0.0f32;
    for step in probabilities.chunks(classes) {
        let (best, p) =
            step.iter().enumerate().fold((0, f32::MIN), |acc, (i, &p)| if p > acc.1 { (i, p) } else { acc });
        if best == 0 {
            if let Some(space) = space {
                space_in_gap = space_in_gap.max(step[space]);
            }
        } else if previous != Some(best) {
            let after_a_character = kept.last().is_some_and(|&last| Some(last) != space);
            if space_in_gap >= SPACE_IN_GAP && after_a_character && Some(best) != space {
                kept.push(space.expect("a space seen only where the model reads spaces"));
            }
            kept.push(best);
            (total, winners) = (total + p, winners + 1);
            space_in_gap = 0.0;
        }
        previous = Some(best);
    }
    let confidence = if winners == 0 { 0.0 } else { total / winners as f32 };
    (kept, confidence)
}

/// The directions a page is read in, as unit vectors: along its lines, and from one line to the
/// next (a quarter turn clockwise on screen from the first).
#[derive(Debug, Clone, Copy, PartialEq)]
struct PageAxes {
    along: Point,
    down: Point,
}

impl PageAxes {
    /// The quarter turn that most of the text (by length) runs in, refined to its lines' mean
    /// direction so a skewed page's rows stay apart. Each line runs from its first to its second
    /// corner; a page with no lines is upright.
    fn of<'a>(polygons: impl Iterator<Item = &'a [Point; 4]>) -> PageAxes {
        let directions: Vec<(usize, Point)> = polygons
            .map(|polygon| {
                let run = (polygon[1].0 - polygon[0].0, polygon[1].1 - polygon[0].1);
                let quarter = (run.1.atan2(run.0) / std::f32::consts::FRAC_PI_2).round().rem_euclid(4.0) as usize;
                (quarter, run)
            })
            .collect();
        let mut lengths = [0.0f32; 4];
        for &(quarter, run) in &directions {
            lengths[quarter] += distance(run, (0.0, 0.0));
        }
        let page = (0..4).max_by(|&a, &b| lengths[a].total_cmp(&lengths[b]).then(b.cmp(&a))).expect("four quarters");
        // Each of the page's lines turned back by the page's quarter turns, then summed.
        let (x, y) = directions
            .iter()
            .filter(|&&(quarter, _)| quarter == page)
            .map(|&(_, run)| (0..page).fold(run, |(x, y), _| (y, -x)))
            .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
        let length = distance((x, y), (0.0, 0.0));
        let upright = if length > 0.0 { (x / length, y / length) } else { (1.0, 0.0) };
        let along = (0..page).fold(upright, |(x, y), _| (-y, x));
        PageAxes { along, down: (-along.1, along.0) }
    }

    /// The polygon's least and greatest extent along the axis.
    fn extent(polygon: &[Point; 4], axis: Point) -> (f32, f32) {
        polygon
            .iter()
            .map(|p| p.0 * axis.0 + p.1 * axis.1)
            .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
    }

    /// Whether two lines overlap across the page's lines by more than half the thinner one.
    fn same_row(&self, a: &[Point; 4], b: &[Point; 4]) -> bool {
        let ((a_top, a_bottom), (b_top, b_bottom)) = (Self::extent(a, self.down), Self::extent(b, self.down));
        let overlap = a_bottom.min(b_bottom) - a_top.max(b_top);
        overlap > 0.5 * (a_bottom - a_top).min(b_bottom - b_top)
    }
}

/// Rows in the order the page is read (top to bottom on an upright page) by their centres, and
/// lines within a row in the order it is read, whichever way the page is turned: from the right
/// where most of the row's letters are of a right-to-left script (a detector splits an Arabic or
/// Hebrew line at wide gaps between words).
pub fn sort_in_reading_order(lines: &mut [TextLine]) {
    let axes = PageAxes::of(lines.iter().map(|line| &line.polygon));
    let depth = |line: &TextLine| line.polygon.iter().map(|p| p.0 * axes.down.0 + p.1 * axes.down.1).sum::<f32>() / 4.0;
    let start = |line: &TextLine| PageAxes::extent(&line.polygon, axes.along).0;
    lines.sort_by(|a, b| depth(a).total_cmp(&depth(b)));
    for i in 1..lines.len() {
        let mut j = i;
        while j > 0
            && axes.same_row(&lines[j - 1].polygon, &lines[j].polygon)
            && start(&lines[j]) < start(&lines[j - 1])
        {
            lines.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut row_start = 0;
    for end in 1..=lines.len() {
        if end == lines.len() || !axes.same_row(&lines[end - 1].polygon, &lines[end].polygon) {
            let row = &mut lines[row_start..end];
            if reads_right_to_left(row.iter().map(|line| line.text.as_str())) {
                row.reverse();
            }
            row_start = end;
        }
    }
}

/// Whether most letters of the texts are of a right-to-left script.
fn reads_right_to_left<'a>(texts: impl Iterator<Item = &'a str>) -> bool {
    let (mut right_to_left, mut left_to_right) = (0, 0);
    for c in texts.flat_map(str::chars).filter(|c| c.is_alphabetic()) {
        if lantern_tesseract::is_right_to_left(c) {
            right_to_left += 1;
        } else {
            left_to_right += 1;
        }
    }
    right_to_left > left_to_right
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_near(a: f32, b: f32) {
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }

    #[test]
    fn min_area_rect_finds_a_rotated_rectangle() {
        // A 40×10 rectangle turned by atan(3/4): sides along (4, 3)/5 and (-3, 4)/5.
        let mut points = Vec::new();
        for a in 0..=8 {
            for b in 0..=2 {
                points.push((a * 4 - b * 3, a * 3 + b * 4));
            }
        }
        let rect = min_area_rect(&points).unwrap();
        let (long, short) = if rect.size.0 > rect.size.1 { rect.size } else { (rect.size.1, rect.size.0) };
        assert_near(long, 40.0);
        assert_near(short, 10.0);
        assert_near(rect.centre.0, (32.0 - 6.0) / 2.0);
        assert_near(rect.centre.1, (24.0 + 8.0) / 2.0);
        assert_near(
            (rect.axis.0 * 3.0 - rect.axis.1 * 4.0).abs().min((rect.axis.0 * 4.0 + rect.axis.1 * 3.0).abs()),
            0.0,
        );
    }

    #[test]
    fn unclip_grows_a_square_on_every_side() {
        let square = RotatedRect { centre: (5.0, 5.0), size: (10.0, 10.0), axis: (1.0, 0.0) };
        // area 100 × 1.5 / perimeter 40 = 3.75 on each side.
        let grown = square.unclip(1.5);
        assert_eq!(grown.size, (17.5, 17.5));
        assert_eq!(
            reading_order_corners(grown.corners()),
            [(-3.75, -3.75), (13.75, -3.75), (13.75, 13.75), (-3.75, 13.75)]
        );
    }

    #[test]
    fn hull_drops_inner_and_collinear_points() {
        let points = [(0, 0), (2, 0), (4, 0), (4, 3), (2, 1), (0, 3), (1, 2)];
        assert_eq!(convex_hull(&points), vec![(0, 0), (4, 0), (4, 3), (0, 3)]);
    }

    #[test]
    fn text_boxes_find_two_bars() {
        let (width, height) = (64, 32);
        let mut values = vec![0.0; width * height];
        for (x0, x1, y0, y1) in [(4, 40, 4, 12), (10, 60, 18, 28)] {
            for y in y0..y1 {
                values[y * width + x0..y * width + x1].fill(0.9);
            }
        }
        let map = ProbabilityMap { width, height, values: &values };
        let db = DbParams { thresh: 0.2, box_thresh: 0.4, unclip_ratio: 1.4, max_candidates: 100 };
        let boxes = text_boxes(&map, &db);
        assert_eq!(boxes.len(), 2);
        // The first bar spans pixel centres 4..=39 × 4..=11; unclip adds 35×7×1.4/84 ≈ 4.08.
        let [top_left, _, bottom_right, _] = boxes[0];
        assert_near(top_left.0, 4.0 - 35.0 * 7.0 * 1.4 / 84.0);
        assert_near(bottom_right.1, 11.0 + 35.0 * 7.0 * 1.4 / 84.0);
    }

    #[test]
    fn detection_size_keeps_aspect_in_multiples() {
        assert_eq!(detection_size(2256, 324, 960, 32), (960, 128));
        assert_eq!(detection_size(100, 10, 960, 32), (96, 32));
    }

    #[test]
    fn a_gap_the_space_nearly_won_is_a_space() {
        // Classes: blank, 'a', space. The space reaches 0.35 in the first gap, 0.2 in the second,
        // and 0.4 before the first character, where no space is read.
        let steps =
            [[0.6, 0.0, 0.4], [0.1, 0.9, 0.0], [0.65, 0.0, 0.35], [0.1, 0.9, 0.0], [0.8, 0.0, 0.2], [0.1, 0.9, 0.0]];
        let (kept, confidence) = ctc_greedy(&steps.concat(), 3, Some(2));
        assert_eq!(kept, [1, 2, 1, 1]);
        assert_near(confidence, 0.9);
        assert_eq!(ctc_greedy(&steps.concat(), 3, None).0, [1, 1, 1]);
    }

    #[test]
    fn ctc_collapses_repeats_and_drops_blanks() {
        let steps = [[0.1, 0.8, 0.1], [0.1, 0.6, 0.3], [0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]];
        let (kept, confidence) = ctc_greedy(&steps.concat(), 3, None);
        assert_eq!(kept, vec![1, 1, 2]);
        assert_near(confidence, (0.8 + 0.7 + 0.8) / 3.0);
    }

    #[test]
    fn reading_order_puts_a_row_left_to_right() {
        let line = |x: f32, y: f32, text: &str| TextLine {
            text: text.into(),
            confidence: 1.0,
            polygon: [(x, y), (x + 50.0, y), (x + 50.0, y + 20.0), (x, y + 20.0)],
        };
        let mut lines = vec![line(0.0, 40.0, "c"), line(100.0, 2.0, "b"), line(0.0, 0.0, "a")];
        sort_in_reading_order(&mut lines);
        assert_eq!(lines.iter().map(|line| line.text.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn the_longer_lines_carry_the_vote() {
        assert!(outweighs([(true, 300.0), (false, 100.0), (false, 150.0)]));
        assert!(!outweighs([(true, 100.0), (false, 150.0)]));
        assert!(!outweighs([]));
    }

    #[test]
    fn tall_boxes_are_cropped_turned() {
        let image = RgbaImage::from_fn(10, 40, |_, y| Rgba([(y * 6) as u8, 0, 0, 255]));
        let corners = [(0.0, 0.0), (10.0, 0.0), (10.0, 40.0), (0.0, 40.0)];
        assert_eq!(sideways_lines(&[corners]), [true]);
        let crop = crop_quad(&image, &turned(&corners, 1));
        assert_eq!(crop.dimensions(), (40, 10));
        // Turned anticlockwise: the image's top is now on the left.
        assert!(crop.get_pixel(0, 5)[0] < crop.get_pixel(39, 5)[0]);
    }

    #[test]
    fn corners_of_a_tilted_tall_box_stay_clockwise() {
        // 50 wide, 2000 tall, leaning 5°: sorting by x alone would pair its top corners as a side.
        let (sin, cos) = 5f32.to_radians().sin_cos();
        let at = |a: f32, b: f32| (a * cos - b * sin, a * sin + b * cos);
        let (top_left, top_right) = (at(0.0, 0.0), at(50.0, 0.0));
        let (bottom_right, bottom_left) = (at(50.0, 2000.0), at(0.0, 2000.0));
        let expected = [top_left, top_right, bottom_right, bottom_left];
        assert_eq!(reading_order_corners([bottom_right, bottom_left, top_left, top_right]), expected);
        assert_eq!(reading_order_corners([top_left, bottom_left, bottom_right, top_right]), expected);
    }

    fn upright_box(x: f32, y: f32, width: f32, height: f32) -> [Point; 4] {
        [(x, y), (x + width, y), (x + width, y + height), (x, y + height)]
    }

    #[test]
    fn a_square_box_runs_the_way_the_page_does() {
        let sideways_page = [
            upright_box(0.0, 0.0, 40.0, 900.0),
            upright_box(60.0, 0.0, 40.0, 700.0),
            upright_box(120.0, 0.0, 40.0, 50.0),
        ];
        assert_eq!(sideways_lines(&sideways_page), [true, true, true]);
        let upright_page = [upright_box(0.0, 0.0, 900.0, 40.0), upright_box(0.0, 60.0, 50.0, 40.0)];
        assert_eq!(sideways_lines(&upright_page), [false, false]);
    }

    fn line(text: &str, polygon: [Point; 4]) -> TextLine {
        TextLine { text: text.into(), confidence: 1.0, polygon }
    }

    #[test]
    fn a_page_turned_clockwise_is_read_from_the_right() {
        // Lines running down the image, first corner at their top right: the page's top is on the right.
        let column = |x: f32, y: f32, length: f32, text: &str| line(text, turned(&upright_box(x, y, 30.0, length), 1));
        let mut lines = vec![
            column(0.0, 0.0, 500.0, "c"),
            column(100.0, 0.0, 400.0, "b"),
            column(100.0, 420.0, 60.0, "b2"),
            column(200.0, 0.0, 600.0, "a"),
        ];
        sort_in_reading_order(&mut lines);
        assert_eq!(lines.iter().map(|line| line.text.as_str()).collect::<Vec<_>>(), ["a", "b", "b2", "c"]);
        let grouped: Vec<Vec<Vec<&str>>> = paragraphs(&lines)
            .iter()
            .map(|p| p.iter().map(|row| row.iter().map(|l| l.text.as_str()).collect()).collect())
            .collect();
        // Columns 70 apart are paragraphs apart; b and b2 share a row.
        assert_eq!(grouped, vec![vec![vec!["a"]], vec![vec!["b", "b2"]], vec![vec!["c"]]]);
    }

    #[test]
    fn a_right_to_left_row_is_read_from_the_right() {
        let mut lines = vec![
            line("עולם", upright_box(10.0, 10.0, 40.0, 12.0)),
            line("שלום", upright_box(60.0, 10.0, 40.0, 12.0)),
            line("2024", upright_box(10.0, 30.0, 40.0, 12.0)),
            line("ABC", upright_box(60.0, 30.0, 40.0, 12.0)),
        ];
        sort_in_reading_order(&mut lines);
        let texts: Vec<&str> = lines.iter().map(|line| line.text.as_str()).collect();
        assert_eq!(texts, ["שלום", "עולם", "2024", "ABC"]);
    }

    #[test]
    fn rows_of_a_skewed_page_stay_apart() {
        // Two 1000-long lines leaning 5°, 40 apart across them: their vertical extents overlap.
        let (sin, cos) = 5f32.to_radians().sin_cos();
        let leaning = |offset: f32, text: &str| {
            let at = |a: f32, b: f32| (a * cos - (b + offset) * sin, a * sin + (b + offset) * cos);
            line(text, [at(0.0, 0.0), at(1000.0, 0.0), at(1000.0, 30.0), at(0.0, 30.0)])
        };
        let mut lines = vec![leaning(40.0, "second"), leaning(0.0, "first")];
        sort_in_reading_order(&mut lines);
        assert_eq!(text(&lines), "first\nsecond");
    }
}

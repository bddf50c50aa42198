//! Image to text's results as files people use: JSON, hOCR, and a searchable PDF (the image
//! with an invisible, selectable text layer).

use std::collections::BTreeMap;

use image::RgbaImage;
use image::codecs::jpeg::JpegEncoder;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, TextRenderingMode, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};
use serde::{Deserialize, Serialize};
use unicode_bidi::BidiInfo;

use crate::ToolError;
use crate::encode::flatten;
use crate::image_to_text::{Point, TextLine, paragraphs, text};

#[derive(Serialize)]
struct JsonDocument<'a> {
    width: u32,
    height: u32,
    text: String,
    lines: Vec<JsonLine<'a>>,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    text: &'a str,
    confidence: f32,
    /// Top-left, top-right, bottom-right, bottom-left as read, in the image's pixels.
    polygon: [[f32; 2]; 4],
    paragraph: usize,
}

/// The text and every line with its polygon, confidence and paragraph number.
pub fn json(lines: &[TextLine], width: u32, height: u32) -> String {
    let mut json_lines = Vec::with_capacity(lines.len());
    for (index, paragraph) in paragraphs(lines).iter().enumerate() {
        for line in paragraph.iter().flatten() {
            json_lines.push(JsonLine {
                text: &line.text,
                confidence: line.confidence,
                polygon: line.polygon.map(|(x, y)| [x, y]),
                paragraph: index,
            });
        }
    }
    let document = JsonDocument { width, height, text: text(lines), lines: json_lines };
    serde_json::to_string_pretty(&document).expect("plain data serialises")
}

/// A `json` document read back: its lines (in the document's order) and the image's size. The
/// other formats are built from it when they are asked for, after the reading.
pub fn from_json(json: &str) -> Result<(Vec<TextLine>, u32, u32), ToolError> {
    #[derive(Deserialize)]
    struct Document {
        width: u32,
        height: u32,
        lines: Vec<Line>,
    }
    #[derive(Deserialize)]
    struct Line {
        text: String,
        confidence: f32,
        polygon: [[f32; 2]; 4],
    }
    let document: Document = serde_json::from_str(json)
        .map_err(|e| ToolError::Encode(format!("the lines read are not Lantern's JSON: {e}")))?;
    let lines = document
        .lines
        .into_iter()
        .map(|line| TextLine {
            text: line.text,
            confidence: line.confidence,
            polygon: line.polygon.map(|[x, y]| (x, y)),
        })
        .collect();
    Ok((lines, document.width, document.height))
}

/// hOCR 1.2: page, paragraphs, lines and words with boxes and confidences. Word boxes are
/// shares of their line by character count; the recogniser reads whole lines.
pub fn hocr(lines: &[TextLine], width: u32, height: u32, title: &str) -> String {
    let mut body = String::new();
    let mut line_number = 0;
    let mut word_number = 0;
    for (p, paragraph) in paragraphs(lines).iter().enumerate() {
        let members: Vec<&TextLine> = paragraph.iter().flatten().copied().collect();
        let corners: Vec<Point> = members.iter().flat_map(|line| line.polygon).collect();
        body.push_str(&format!(
            "   <p class=\"ocr_par\" id=\"par_1_{}\" title=\"{}\">\n",
            p + 1,
            bbox(&corners, width, height)
        ));
        for line in members {
            line_number += 1;
            let angle = angle_degrees(line);
            let textangle = if angle.abs() >= 1.0 { format!("; textangle {:.0}", -angle) } else { String::new() };
            let layout = Layout::of(&line.text);
            let direction = if layout.right_to_left { " dir=\"rtl\"" } else { "" };
            body.push_str(&format!(
                "    <span class=\"ocr_line\" id=\"line_1_{line_number}\"{direction} title=\"{}{textangle}; x_wconf {:.0}\">",
                bbox(&line.polygon, width, height),
                line.confidence * 100.0
            ));
            let characters: Vec<char> = line.text.chars().collect();
            let count = characters.len().max(1) as f32;
            let mut start = 0;
            let mut words = Vec::new();
            while start < characters.len() {
                if characters[start].is_whitespace() {
                    start += 1;
                    continue;
                }
                let end =
                    (start..characters.len()).find(|&i| characters[i].is_whitespace()).unwrap_or(characters.len());
                word_number += 1;
                let word: String = characters[start..end].iter().collect();
                // A word's box spans its characters' places as seen: on a right-to-left line the
                // first word read is the rightmost.
                let places = layout.place[start..end].iter();
                let (first, last) = (places.clone().min().copied().unwrap_or(0), places.max().copied().unwrap_or(0));
                let part = share(&line.polygon, first as f32 / count, (last + 1) as f32 / count);
                words.push(format!(
                    "<span class=\"ocrx_word\" id=\"word_1_{word_number}\" title=\"{}; x_wconf {:.0}\">{}</span>",
                    bbox(&part, width, height),
                    line.confidence * 100.0,
                    escape_xml(&word)
                ));
                start = end;
            }
            body.push_str(&words.join(" "));
            body.push_str("</span>\n");
        }
        body.push_str("   </p>\n");
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name="ocr-system" content="Lantern"/>
  <meta name="ocr-capabilities" content="ocr_page ocr_par ocr_line ocrx_word"/>
 </head>
 <body>
  <div class="ocr_page" id="page_1" title="image &quot;{title}&quot;; bbox 0 0 {width} {height}; ppageno 0">
{body}  </div>
 </body>
</html>
"#,
        title = escape_xml(title)
    )
}

/// A one-page PDF: the image (JPEG at `quality`, transparency on white) under an invisible text
/// layer placed over each line, so the page is searchable and selectable. The page has the
/// image's physical size at `pixels_per_inch` (across, down; `input::resolution`, else 72): a
/// 300 DPI scan of a letter prints as a letter.
pub fn searchable_pdf(
    image: &RgbaImage,
    lines: &[TextLine],
    quality: u8,
    pixels_per_inch: (f32, f32),
) -> Result<Vec<u8>, ToolError> {
    let (width, height) = image.dimensions();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, quality.clamp(1, 100)).encode_image(&flatten(image, [255, 255, 255]))?;

    let catalog = Ref::new(1);
    let pages = Ref::new(2);
    let page = Ref::new(3);
    let picture = Ref::new(4);
    let contents = Ref::new(5);
    let font = Ref::new(6);
    let cid_font = Ref::new(7);
    let descriptor = Ref::new(8);
    let to_unicode = Ref::new(9);
    let (w, h) = (width as f32, height as f32);

    // Each distinct character gets its own two-byte code; ToUnicode maps the codes back to text.
    let mut codes: BTreeMap<char, u16> = BTreeMap::new();
    for c in lines.iter().flat_map(|line| line.text.chars()) {
        let next = codes.len() as u16 + 1;
        codes.entry(c).or_insert(next);
    }
    if codes.len() >= u16::MAX as usize {
        return Err(ToolError::Encode("too many distinct characters for one PDF font".into()));
    }

    let mut content = Content::new();
    // Everything below is drawn in pixels; this scales pixels to points (72 an inch).
    let (points_across, points_down) = (72.0 / pixels_per_inch.0, 72.0 / pixels_per_inch.1);
    content.transform([points_across, 0.0, 0.0, points_down, 0.0, 0.0]);
    content.save_state();
    content.transform([w, 0.0, 0.0, h, 0.0, 0.0]);
    content.x_object(Name(b"Page"));
    content.restore_state();
    content.begin_text();
    content.set_text_rendering_mode(TextRenderingMode::Invisible);
    content.set_font(Name(b"Text"), 1.0);
    for line in lines {
        // Glyphs are drawn left to right as the line is seen, as any PDF draws text: readers
        // (pdf.js, Poppler) put right-to-left runs back in reading order when text is copied.
        let encoded: Vec<u8> = Layout::of(&line.text).seen(&line.text).flat_map(|c| codes[&c].to_be_bytes()).collect();
        if encoded.is_empty() {
            continue;
        }
        // PDF space has y up from the page's bottom; image space has y down from its top.
        let to_pdf = |(x, y): Point| (x, h - y);
        let [top_left, _, bottom_right, bottom_left] = line.polygon.map(to_pdf);
        let along = sub(bottom_right, bottom_left);
        let up = sub(top_left, bottom_left);
        let (length, line_h) = (norm(along), norm(up));
        if length < 1.0 || line_h < 1.0 {
            continue;
        }
        // Every glyph advances half an em: stretch the run so it spans the line exactly.
        let glyphs = line.text.chars().count() as f32;
        let stretch = length / (glyphs * GLYPH_ADVANCE);
        content.set_text_matrix([
            along.0 / length * stretch,
            along.1 / length * stretch,
            up.0,
            up.1,
            bottom_left.0,
            bottom_left.1,
        ]);
        content.show(Str(&encoded));
    }
    content.end_text();
    let content = content.finish();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    let mut page_writer = pdf.page(page);
    page_writer.parent(pages).media_box(Rect::new(0.0, 0.0, w * points_across, h * points_down)).contents(contents);
    let mut resources = page_writer.resources();
    resources.x_objects().pair(Name(b"Page"), picture);
    resources.fonts().pair(Name(b"Text"), font);
    resources.finish();
    page_writer.finish();

    let mut picture_writer = pdf.image_xobject(picture, &jpeg);
    picture_writer.filter(Filter::DctDecode);
    picture_writer.width(width as i32).height(height as i32).bits_per_component(8);
    picture_writer.color_space().device_rgb();
    picture_writer.finish();
    pdf.stream(contents, &content);

    // A font with no glyphs: invisible text needs only advances and the ToUnicode map.
    let system_info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
    pdf.type0_font(font)
        .base_font(Name(b"GlyphLessFont"))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_font)
        .to_unicode(to_unicode);
    pdf.cid_font(cid_font)
        .subtype(CidFontType::Type2)
        .base_font(Name(b"GlyphLessFont"))
        .system_info(system_info)
        .font_descriptor(descriptor)
        .default_width(GLYPH_ADVANCE * 1000.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    pdf.font_descriptor(descriptor)
        .name(Name(b"GlyphLessFont"))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(0.0, 0.0, GLYPH_ADVANCE * 1000.0, 1000.0))
        .italic_angle(0.0)
        .ascent(1000.0)
        .descent(0.0)
        .cap_height(1000.0)
        .stem_v(80.0);
    let mut cmap = UnicodeCmap::new(Name(b"Lantern-UTF16"), system_info);
    for (&c, &code) in &codes {
        cmap.pair(code, c);
    }
    pdf.cmap(to_unicode, &cmap.finish());
    Ok(pdf.finish())
}

/// Where each character of a line stands as the line is seen, by the Unicode bidirectional
/// algorithm: the text is in reading order, and right-to-left runs (Arabic, Hebrew, …) are seen
/// reversed, numbers and Latin words inside them not.
struct Layout {
    /// By character in reading order: its place from the left, counted in characters.
    place: Vec<usize>,
    /// Whether the line reads right to left as a whole (its first strong character does).
    right_to_left: bool,
}

impl Layout {
    fn of(text: &str) -> Layout {
        let info = BidiInfo::new(text, None);
        let starts: Vec<usize> = text.char_indices().map(|(byte, _)| byte).collect();
        let mut place = vec![0; starts.len()];
        let mut seen = 0;
        for paragraph in &info.paragraphs {
            let (levels, runs) = info.visual_runs(paragraph, paragraph.range.clone());
            for run in runs {
                let mut characters: Vec<usize> =
                    (starts.partition_point(|&b| b < run.start)..starts.partition_point(|&b| b < run.end)).collect();
                if levels[run.start].is_rtl() {
                    characters.reverse();
                }
                for c in characters {
                    place[c] = seen;
                    seen += 1;
                }
            }
        }
        let right_to_left = info.paragraphs.first().is_some_and(|p| p.level.is_rtl());
        Layout { place, right_to_left }
    }

    /// The line's characters left to right as seen.
    fn seen(&self, text: &str) -> impl Iterator<Item = char> {
        let mut by_place: Vec<(usize, char)> = self.place.iter().copied().zip(text.chars()).collect();
        by_place.sort_unstable_by_key(|&(place, _)| place);
        by_place.into_iter().map(|(_, c)| c)
    }
}

/// The invisible font's advance per character, in ems.
const GLYPH_ADVANCE: f32 = 0.5;

fn sub(a: Point, b: Point) -> Point {
    (a.0 - b.0, a.1 - b.1)
}

fn dot(a: Point, b: Point) -> f32 {
    a.0 * b.0 + a.1 * b.1
}

fn norm(a: Point) -> f32 {
    dot(a, a).sqrt()
}

/// The line's direction in degrees, clockwise from the image's x axis (y points down).
fn angle_degrees(line: &TextLine) -> f32 {
    let along = sub(line.polygon[1], line.polygon[0]);
    along.1.atan2(along.0).to_degrees()
}

/// The part of a line's quadrilateral between fractions `from` and `to` of its length.
fn share(polygon: &[Point; 4], from: f32, to: f32) -> [Point; 4] {
    let lerp = |a: Point, b: Point, t: f32| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
    let [tl, tr, br, bl] = *polygon;
    [lerp(tl, tr, from), lerp(tl, tr, to), lerp(bl, br, to), lerp(bl, br, from)]
}

/// hOCR's `bbox x0 y0 x1 y1`: the points' bounding box in whole pixels inside the image.
fn bbox(points: &[Point], width: u32, height: u32) -> String {
    let (w, h) = (width as f32, height as f32);
    let min_x = points.iter().map(|p| p.0).fold(f32::INFINITY, f32::min).clamp(0.0, w);
    let min_y = points.iter().map(|p| p.1).fold(f32::INFINITY, f32::min).clamp(0.0, h);
    let max_x = points.iter().map(|p| p.0).fold(f32::NEG_INFINITY, f32::max).clamp(0.0, w);
    let max_y = points.iter().map(|p| p.1).fold(f32::NEG_INFINITY, f32::max).clamp(0.0, h);
    format!("bbox {} {} {} {}", min_x.floor(), min_y.floor(), max_x.ceil(), max_y.ceil())
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

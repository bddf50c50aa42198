//! Image to text's download formats on hand-made lines: paragraphs from the gaps between rows
//! (upright and sideways alike), and the structure of JSON and hOCR.

use lantern_tools::image_to_text::{Point, TextLine, paragraphs, text};
use lantern_tools::text_formats::{from_json, hocr, json, searchable_pdf};

/// An upright line `width` wide and 20 high with its top-left corner at (`x`, `y`).
fn line(text: &str, x: f32, y: f32, width: f32) -> TextLine {
    TextLine {
        text: text.into(),
        confidence: 0.9,
        polygon: [(x, y), (x + width, y), (x + width, y + 20.0), (x, y + 20.0)],
    }
}

/// The same line on a page turned 90° clockwise in a `height`-high image: (x, y) → (height − y, x).
fn turned(upright: &TextLine, height: f32) -> TextLine {
    let turn = |(x, y): Point| (height - y, x);
    TextLine { polygon: upright.polygon.map(turn), ..upright.clone() }
}

fn page() -> Vec<TextLine> {
    vec![
        line("First row", 10.0, 10.0, 200.0),
        line("second part", 230.0, 11.0, 150.0),
        line("Second row", 10.0, 36.0, 200.0),
        // A blank line's worth of gap: a new paragraph.
        line("New paragraph", 10.0, 90.0, 220.0),
    ]
}

#[test]
fn rows_and_paragraphs_come_from_the_gaps() {
    let lines = page();
    let grouped = paragraphs(&lines);
    let shape: Vec<Vec<usize>> = grouped.iter().map(|p| p.iter().map(Vec::len).collect()).collect();
    assert_eq!(shape, vec![vec![2, 1], vec![1]]);
    assert_eq!(text(&lines), "First row second part\nSecond row\n\nNew paragraph");
}

#[test]
fn a_sideways_page_groups_as_the_upright_one() {
    let lines: Vec<TextLine> = page().iter().map(|l| turned(l, 400.0)).collect();
    assert_eq!(text(&lines), "First row second part\nSecond row\n\nNew paragraph");
}

#[test]
fn json_lists_lines_with_polygons_and_paragraphs() {
    let lines = page();
    let value: serde_json::Value = serde_json::from_str(&json(&lines, 640, 480)).unwrap();
    assert_eq!(value["width"], 640);
    assert_eq!(value["text"], text(&lines));
    let listed = value["lines"].as_array().unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[3]["paragraph"], 1);
    assert_eq!(listed[0]["polygon"][2], serde_json::json!([210.0, 30.0]));
}

#[test]
fn hocr_has_a_page_paragraphs_lines_and_words_with_boxes() {
    let lines = vec![line("Fish & <chips>", 0.0, 0.0, 140.0)];
    let document = hocr(&lines, 200, 100, "menu \"today\".png");
    assert!(
        document.contains(r#"title="image &quot;menu &quot;today&quot;.png&quot;; bbox 0 0 200 100; ppageno 0""#),
        "{document}"
    );
    assert_eq!(document.matches("class=\"ocr_par\"").count(), 1);
    assert_eq!(document.matches("class=\"ocr_line\"").count(), 1);
    // Words share the line by characters: "Fish" is 4 of 14, so its box ends at 40 of 140.
    assert!(document.contains(r#"title="bbox 0 0 40 20; x_wconf 90">Fish</span>"#), "{document}");
    assert!(document.contains(">&amp;</span>") && document.contains(">&lt;chips&gt;</span>"), "{document}");
}

#[test]
fn a_right_to_left_line_is_marked_and_its_words_boxed_from_the_right() {
    // Hebrew "shalom olam" then a number: read right to left, with "2026" as a left-to-right run.
    let lines = vec![line("שלום עולם 2026", 0.0, 0.0, 140.0)];
    let document = hocr(&lines, 200, 100, "sign.png");
    assert!(document.contains(r#"class="ocr_line" id="line_1_1" dir="rtl""#), "{document}");
    // Seen left to right: "2026 עולם שלום", 14 characters over 140 pixels. The first word read,
    // "שלום", is the rightmost; the number, last read, the leftmost.
    assert!(document.contains(r#"title="bbox 100 0 140 20; x_wconf 90">שלום</span>"#), "{document}");
    assert!(document.contains(r#"title="bbox 50 0 90 20; x_wconf 90">עולם</span>"#), "{document}");
    assert!(document.contains(r#"title="bbox 0 0 40 20; x_wconf 90">2026</span>"#), "{document}");
    // A left-to-right line stays unmarked.
    assert!(!hocr(&[line("Fish", 0.0, 0.0, 40.0)], 100, 40, "menu.png").contains("dir="));
}

#[test]
fn the_pdf_page_has_the_image_physical_size() {
    let image = image::RgbaImage::new(600, 300);
    let media_box = |pixels_per_inch| {
        let pdf = searchable_pdf(&image, &page(), 80, pixels_per_inch).unwrap();
        let text = String::from_utf8_lossy(&pdf).into_owned();
        let at = text.find("/MediaBox [").expect("a MediaBox") + "/MediaBox [".len();
        text[at..at + text[at..].find(']').unwrap()].to_string()
    };
    // 72 pixels an inch is one point a pixel; a 300 DPI scan 600 wide is 2 inches, 144 points.
    assert_eq!(media_box((72.0, 72.0)), "0 0 600 300");
    assert_eq!(media_box((300.0, 150.0)), "0 0 144 144");
}

#[test]
fn the_json_reads_back_as_the_lines_it_holds() {
    let lines = page();
    let (read, width, height) = from_json(&json(&lines, 400, 120)).unwrap();
    assert_eq!((width, height), (400, 120));
    // In paragraph order, as the document lists them: the same lines, so the same hOCR.
    assert_eq!(read.len(), lines.len());
    for line in &lines {
        assert!(read.contains(line), "{line:?}");
    }
    assert_eq!(hocr(&read, 400, 120, "t"), hocr(&lines, 400, 120, "t"));
    assert!(from_json("{\"width\": 1}").is_err());
}

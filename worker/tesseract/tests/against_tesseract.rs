//! The reader beside Tesseract's own CLI on the same models and the same rendered lines: the
//! character error rate between the two texts, per language and over all lines.

mod common;

use lantern_tesseract::Recogniser;

/// Edits and characters of the reader's text against the CLI's, and lines with equal text.
#[derive(Default)]
struct Tally {
    edits: usize,
    characters: usize,
    equal: usize,
    lines: usize,
}

impl Tally {
    fn add(&mut self, ours: &str, theirs: &str) {
        let edits = common::edit_distance(ours, theirs);
        self.edits += edits;
        self.characters += theirs.chars().count().max(1);
        self.equal += usize::from(edits == 0);
        self.lines += 1;
    }

    fn cer(&self) -> f64 {
        self.edits as f64 / self.characters as f64
    }
}

/// Reads every language's lines rendered at `height_for(model height)` and tallies them against
/// the CLI; prints one row per language.
fn compare(height_for: impl Fn(usize) -> usize) -> Tally {
    let mut total = Tally::default();
    for language in common::languages() {
        let recogniser = Recogniser::from_traineddata(&common::model_bytes(&language)).unwrap();
        let height = height_for(recogniser.input_height());
        let mut tally = Tally::default();
        for png in common::render_lines(&language, height) {
            let ours = recogniser.recognise(&common::read_grey_png(&png)).text;
            let theirs = common::tesseract_cli(&png, &language);
            if ours != theirs {
                println!("  {language} {}: ours `{ours}`, tesseract `{theirs}`", png.file_name().unwrap().display());
            }
            tally.add(&ours, &theirs);
            total.add(&ours, &theirs);
        }
        println!(
            "{language} at {height} px: CER {:.4} ({} edits / {} characters), {}/{} lines equal",
            tally.cer(),
            tally.edits,
            tally.characters,
            tally.equal,
            tally.lines
        );
    }
    println!("all: CER {:.4}, {}/{} lines equal", total.cer(), total.equal, total.lines);
    total
}

#[test]
fn lines_at_the_network_height_read_as_tesseract_reads_them() {
    let total = compare(|model_height| model_height);
    assert!(total.cer() <= 0.01, "CER {:.4} against Tesseract", total.cer());
}

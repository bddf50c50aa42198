//! A line's network outputs as text: the recoder beam search's characters (see `beam`) put in
//! reading order, with the confidence Tesseract judges the line's polarity by.

use crate::Recognition;
use crate::beam;
use crate::charset::Charset;
use crate::forward::Probabilities;

/// Reads a line's network outputs: the recoder beam search's characters in reading order, and the
/// confidence that decides on the inverted retry.
pub(crate) fn recognition(
    probabilities: &Probabilities,
    charset: &Charset,
    null_char: usize,
    inverted: bool,
) -> Recognition {
    let ids = beam::decode(probabilities, charset);
    let visual: Vec<&str> = ids.iter().map(|&id| charset.text(id)).collect();
    Recognition {
        text: without_idle_joiners(&reading_order(&visual)),
        confidence: confidence(probabilities, null_char),
        inverted,
    }
}

/// Tesseract's `OutputStats`: the mean of the best non-blank probabilities, counted in 127ths. It
/// decides whether to try the line inverted, so it counts every output, ruled-out ones included,
/// and comes from the network, not from the decoder's reading.
fn confidence(probabilities: &Probabilities, null_char: usize) -> f32 {
    let (mut sum, mut count) = (0u64, 0u64);
    for t in 0..probabilities.timesteps {
        let (best, p) = probabilities.best(t, |_| true);
        if best != null_char {
            sum += (127.0 * p) as u64;
            count += 1;
        }
    }
    // A line of blanks looks bad, so that its inverted reading can win.
    if count == 0 { 0.0 } else { (sum as f64 / count as f64 / 127.0) as f32 }
}

/// Whether a character belongs to a right-to-left script (Hebrew, Arabic, Syriac, Thaana, N'Ko
/// and their presentation forms).
pub fn is_right_to_left(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

/// Joins unichars given left to right as seen into logical text: words are split at spaces;
/// a word with right-to-left letters is reversed; on a line where most letters are right-to-left
/// the word order is reversed too, keeping runs of left-to-right words (numbers,
/// Latin) in their own order. Spaces collapse to one and the ends are trimmed.
fn reading_order(visual: &[&str]) -> String {
    let joined: String = visual.concat();
    let words: Vec<&str> = joined.split_whitespace().collect();
    let rtl_word = |word: &str| word.chars().any(is_right_to_left);
    let rtl_letters = joined.chars().filter(|&c| is_right_to_left(c)).count();
    let ltr_letters = joined.chars().filter(|&c| c.is_alphabetic() && !is_right_to_left(c)).count();
    let line_is_rtl = rtl_letters > ltr_letters;
    let logical_words: Vec<String> =
        words.iter().map(|word| if rtl_word(word) { word.chars().rev().collect() } else { word.to_string() }).collect();
    if !line_is_rtl {
        return logical_words.join(" ");
    }
    // Reverse the word order, but keep each run of left-to-right words as it reads.
    let mut runs: Vec<Vec<String>> = Vec::new();
    let mut previous_ltr = false;
    for (word, original) in logical_words.into_iter().zip(&words) {
        let ltr = !rtl_word(original);
        match runs.last_mut() {
            Some(run) if ltr && previous_ltr => run.push(word),
            _ => runs.push(vec![word]),
        }
        previous_ltr = ltr;
    }
    runs.into_iter().rev().flatten().collect::<Vec<_>>().join(" ")
}

/// The text less each zero-width joiner or non-joiner (U+200D, U+200C) that comes before anything
/// but a letter: they only change how the letters on either side join, so one before a space,
/// punctuation or the line's end does nothing. The Tamil model ends each word-final pulli with a
/// non-joiner (Tesseract 5.3.0 keeps it): invisible, but copied text would miss in a search.
fn without_idle_joiners(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    while let Some(c) = characters.next() {
        let joiner = matches!(c, '\u{200C}' | '\u{200D}');
        if !joiner || characters.peek().is_some_and(|next| next.is_alphabetic()) {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_to_right_text_keeps_its_order_and_single_spaces() {
        assert_eq!(reading_order(&[" ", "a", "b", " ", " ", "c", " "]), "ab c");
    }

    #[test]
    fn joiners_go_where_nothing_follows_to_join() {
        // Tamil's word-final pulli with a non-joiner, before a space and before a full stop.
        assert_eq!(without_idle_joiners("தமிழ்\u{200C} நகரம்\u{200C}."), "தமிழ் நகரம்.");
        // Persian's non-joiner inside a word (می‌خواهم) and a Devanagari joiner stay.
        assert_eq!(without_idle_joiners("می\u{200C}خواهم"), "می\u{200C}خواهم");
        assert_eq!(without_idle_joiners("क्\u{200D}ष"), "क्\u{200D}ष");
        assert_eq!(without_idle_joiners("end\u{200D}"), "end");
    }

    #[test]
    fn right_to_left_words_and_their_order_are_reversed_around_numbers() {
        // Seen left to right: "םלוע 2024 םולש", which reads "שלום 2024 עולם".
        let visual: Vec<String> = "םלוע 2024 םולש".chars().map(String::from).collect();
        let visual: Vec<&str> = visual.iter().map(String::as_str).collect();
        assert_eq!(reading_order(&visual), "שלום 2024 עולם");
        let latin_run: Vec<String> = "2024 ABC םלוע םולש".chars().map(String::from).collect();
        let latin_run: Vec<&str> = latin_run.iter().map(String::as_str).collect();
        assert_eq!(reading_order(&latin_run), "שלום עולם 2024 ABC");
        let mostly_latin: Vec<String> = "ABC DEF םולש".chars().map(String::from).collect();
        let mostly_latin: Vec<&str> = mostly_latin.iter().map(String::as_str).collect();
        assert_eq!(reading_order(&mostly_latin), "ABC DEF שלום");
    }
}

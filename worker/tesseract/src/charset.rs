//! The recogniser's characters: `lstm-unicharset` (one unichar per line) and `lstm-recoder`, which
//! gives each unichar the sequence of network outputs that spells it (one output for most
//! scripts; up to five for Han, Hangul and other large sets).

use crate::beam::RecoderTrie;
use crate::bytes::Bytes;
use crate::config::CharacterFilter;
use crate::error::ReadError;

/// Unichar 0 is written `NULL` in the file and stands for a space.
const SPACE_ID: usize = 0;
/// Ids 1 and 2 are Tesseract's "joined" and "broken" markers when the set has its special codes;
/// they are never text.
const SPECIAL_NAMES: [&str; 2] = ["Joined", "|Broken|0|1"];
/// The recoder's longest code (`RecodedCharID::kMaxCodeLen`).
pub(crate) const MAX_CODE_LENGTH: usize = 9;

/// Decodes sequences of network outputs into text.
#[derive(Debug, Clone)]
pub struct Charset {
    /// Each unichar's text, by id.
    unichars: Vec<String>,
    /// Every unichar's code as the recoder lists it, the blank's included, for the beam search.
    recoder_trie: RecoderTrie,
    /// Unichars the model's config rules out, by id.
    disabled: Vec<bool>,
}

impl Charset {
    pub(crate) fn parse(
        unicharset: Bytes,
        mut recoder: Bytes,
        classes: usize,
        null_char: usize,
    ) -> Result<Charset, ReadError> {
        let unichars = parse_unicharset(unicharset)?;
        let count = recoder.count(5, "the recoder's size")?;
        if count != unichars.len() {
            return Err(ReadError::Damaged(format!("the recoder has {count} entries for {} unichars", unichars.len())));
        }
        let has_special_codes = unichars.get(1..3).is_some_and(|names| names == SPECIAL_NAMES);
        let mut codes = Vec::with_capacity(count);
        for id in 0..count {
            recoder.i8("a recoder entry's normalisation flag")?;
            let length = recoder.i32("a recoder entry's length")?;
            let length = usize::try_from(length)
                .ok()
                .filter(|length| (1..=MAX_CODE_LENGTH).contains(length))
                .ok_or_else(|| ReadError::Damaged(format!("unichar {id} has a code of length {length}")))?;
            let mut code = Vec::with_capacity(length);
            for _ in 0..length {
                let value = recoder.i32("a recoder code")?;
                code.push(
                    usize::try_from(value)
                        .ok()
                        .filter(|&value| value < classes)
                        .ok_or_else(|| ReadError::Damaged(format!("unichar {id} uses output {value} of {classes}")))?,
                );
            }
            codes.push(code);
        }
        if recoder.remaining() != 0 {
            return Err(ReadError::Damaged(format!("{} stray bytes after the recoder", recoder.remaining())));
        }
        // The markers share the blank's code, which the beam never reads as a character; ruling
        // them out keeps them out of the text whatever their code.
        let mut disabled = vec![false; unichars.len()];
        if has_special_codes {
            disabled[1..3].fill(true);
        }
        Ok(Charset { unichars, recoder_trie: RecoderTrie::new(&codes, null_char), disabled })
    }

    /// Rules characters out as Tesseract's `tessedit_char_blacklist` and `_whitelist` do: with a
    /// whitelist, everything else is out (the space stays, as it separates words); the blacklist is
    /// out in any case.
    pub(crate) fn apply_filter(&mut self, filter: &CharacterFilter) {
        if !filter.whitelist.is_empty() {
            self.disabled.fill(true);
            self.disabled[SPACE_ID] = false;
            for id in self.encode(&filter.whitelist) {
                self.disabled[id] = false;
            }
        }
        for id in self.encode(&filter.blacklist) {
            self.disabled[id] = true;
        }
    }

    /// Unichar ids for `text`, the longest unichar matching at each position (characters the set
    /// lacks are passed over).
    fn encode(&self, text: &str) -> Vec<usize> {
        let mut ids = Vec::new();
        let mut rest = text;
        while let Some(first) = rest.chars().next() {
            let longest = (0..self.unichars.len())
                .filter(|&id| id != SPACE_ID && rest.starts_with(self.unichars[id].as_str()))
                .max_by_key(|&id| self.unichars[id].len());
            match longest {
                Some(id) => {
                    ids.push(id);
                    rest = &rest[self.unichars[id].len()..];
                }
                None => rest = &rest[first.len_utf8()..],
            }
        }
        ids
    }

    /// The recoder's codes as a trie, for the beam search.
    pub(crate) fn recoder_trie(&self) -> &RecoderTrie {
        &self.recoder_trie
    }

    /// Whether the model's config rules this unichar out.
    pub(crate) fn is_disabled(&self, id: usize) -> bool {
        self.disabled[id]
    }

    /// The text of a unichar.
    pub(crate) fn text(&self, id: usize) -> &str {
        if id == SPACE_ID { " " } else { &self.unichars[id] }
    }

    /// The number of unichars.
    pub fn len(&self) -> usize {
        self.unichars.len()
    }

    /// Whether the set is empty (a valid model never has an empty set).
    pub fn is_empty(&self) -> bool {
        self.unichars.is_empty()
    }
}

/// The first field of each line after the count; further fields are properties this reader does
/// not need (script, case, direction, glyph metrics).
fn parse_unicharset(mut bytes: Bytes) -> Result<Vec<String>, ReadError> {
    let size = bytes.remaining();
    let text = std::str::from_utf8(bytes.take(size, "the unicharset")?)
        .map_err(|_| ReadError::Damaged("the unicharset is not UTF-8".into()))?;
    let mut lines = text.lines();
    let count: usize = lines
        .next()
        .and_then(|line| line.trim().parse().ok())
        .ok_or_else(|| ReadError::Damaged("the unicharset does not start with its size".into()))?;
    let mut unichars = Vec::with_capacity(count.min(size));
    for line in lines.take(count) {
        let unichar = line.split(' ').next().filter(|field| !field.is_empty());
        let unichar =
            unichar.ok_or_else(|| ReadError::Damaged(format!("unicharset line `{line}` names no unichar")))?;
        unichars.push(if unichar == "NULL" { " ".to_string() } else { unichar.to_string() });
    }
    if unichars.len() != count {
        return Err(ReadError::Truncated { what: "the unicharset's lines", offset: size });
    }
    Ok(unichars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::Probabilities;

    fn recoder(codes: &[&[i32]]) -> Vec<u8> {
        let mut bytes = (codes.len() as u32).to_le_bytes().to_vec();
        for code in codes {
            bytes.push(0);
            bytes.extend_from_slice(&(code.len() as i32).to_le_bytes());
            for value in *code {
                bytes.extend_from_slice(&value.to_le_bytes());
            }
        }
        bytes
    }

    /// Outputs that favour `best` at each timestep (`classes - 1` is the blank), 0.9 to 0.1 for
    /// the blank; a blank timestep is all blank.
    fn favouring(best: &[usize], classes: usize) -> Probabilities {
        let blank = classes - 1;
        let mut values = vec![0.0; best.len() * classes];
        for (row, &class) in values.chunks_mut(classes).zip(best) {
            row[blank] = 0.1;
            row[class] += 0.9;
        }
        Probabilities { timesteps: best.len(), classes, values }
    }

    fn text(charset: &Charset, probabilities: &Probabilities) -> String {
        crate::beam::decode(probabilities, charset).iter().map(|&id| charset.text(id)).collect()
    }

    #[test]
    fn multi_code_characters_decode_only_along_their_codes() {
        let unicharset =
            b"5\nNULL 0 Common 0\nJoined 7 0\n|Broken|0|1 f 0\n\xea\xb0\x80 1 Hangul\n\xea\xb0\x81 1 Hangul\n";
        // The markers share the blank's code, 6, as Tesseract's recoder gives it them.
        let codes = recoder(&[&[0], &[6], &[6], &[3, 4], &[3, 4, 5]]);
        let charset = Charset::parse(Bytes::new(unicharset, 0), Bytes::new(&codes, 0), 7, 6).unwrap();
        assert_eq!(charset.len(), 5);
        // [3,4,5] is 각, blanks between its codes or not; [3,4] before a space is 가; 5 alone
        // starts nothing, so the blank wins there.
        let outputs = favouring(&[3, 6, 4, 6, 5, 0, 3, 4, 6, 0, 5, 6], 7);
        assert_eq!(text(&charset, &outputs), "각 가 ");
    }

    #[test]
    fn ruled_out_characters_never_decode() {
        let unicharset = b"5\nNULL 0 Common 0\nJoined 7 0\n|Broken|0|1 f 0\n1 8 Common\nab 3 Latin\n";
        let codes = recoder(&[&[0], &[5], &[5], &[3], &[4]]);
        let parse = || Charset::parse(Bytes::new(unicharset, 0), Bytes::new(&codes, 0), 6, 5).unwrap();
        let outputs = favouring(&[3, 5, 4, 5, 0, 5, 3], 6);
        assert_eq!(text(&parse(), &outputs), "1ab 1");
        let mut charset = parse();
        charset.apply_filter(&CharacterFilter { blacklist: "1".into(), whitelist: String::new() });
        assert_eq!(text(&charset, &outputs), "ab ");
        let mut whitelisted = parse();
        whitelisted.apply_filter(&CharacterFilter { blacklist: String::new(), whitelist: "xab".into() });
        assert_eq!(text(&whitelisted, &outputs), "ab ");
    }

    /// Tesseract's example of why the beam combines scores: a character at 0.4 over two
    /// timesteps, the blank at 0.6 at both. Greedy reads nothing; the beam counts the character
    /// and the blank together at the first timestep (`XN` and `XX` both read `X`).
    #[test]
    fn a_character_split_over_two_timesteps_beats_the_blank() {
        let unicharset = b"4\nNULL 0 Common 0\nJoined 7 0\n|Broken|0|1 f 0\nx 3 Latin\n";
        let codes = recoder(&[&[0], &[2], &[2], &[1]]);
        let charset = Charset::parse(Bytes::new(unicharset, 0), Bytes::new(&codes, 0), 3, 2).unwrap();
        let outputs = Probabilities { timesteps: 2, classes: 3, values: vec![0.0, 0.4, 0.6, 0.0, 0.4, 0.6] };
        assert_eq!(text(&charset, &outputs), "x");
    }

    #[test]
    fn a_recoder_that_disagrees_with_the_unicharset_is_refused() {
        let unicharset = b"2\nNULL 0 Common 0\na 3 Latin\n";
        let short = recoder(&[&[0]]);
        assert!(matches!(
            Charset::parse(Bytes::new(unicharset, 0), Bytes::new(&short, 0), 3, 2),
            Err(ReadError::Damaged(_))
        ));
        let out_of_range = recoder(&[&[0], &[5]]);
        assert!(Charset::parse(Bytes::new(unicharset, 0), Bytes::new(&out_of_range, 0), 3, 2).is_err());
        assert!(matches!(
            Charset::parse(Bytes::new(b"3\nNULL 0\n", 0), Bytes::new(&short, 0), 3, 2),
            Err(ReadError::Truncated { .. })
        ));
    }
}

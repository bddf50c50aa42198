//! The `config` component: Tesseract parameters a model sets for itself, one `name value` per
//! line. Of those that published models set, only the character black- and whitelists change what
//! the LSTM recogniser reads (hin's blacklists `1`); the rest tune the legacy engine and layout.

/// The characters a model's config rules out or alone allows, as Tesseract's
/// `tessedit_char_blacklist` and `tessedit_char_whitelist`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CharacterFilter {
    pub(crate) blacklist: String,
    pub(crate) whitelist: String,
}

pub(crate) fn character_filter(config: &str) -> CharacterFilter {
    let mut filter = CharacterFilter::default();
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once(char::is_whitespace) else { continue };
        match name {
            "tessedit_char_blacklist" => filter.blacklist = value.trim().to_string(),
            "tessedit_char_whitelist" => filter.whitelist = value.trim().to_string(),
            _ => {}
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_read_and_everything_else_ignored() {
        let config = "tessedit_ocr_engine_mode\t1\n# tessedit_char_blacklist x\ntessedit_char_blacklist 1\n\
                      preserve_interword_spaces 1\ntessedit_char_whitelist\t0123456789 \n";
        let filter = character_filter(config);
        assert_eq!(filter, CharacterFilter { blacklist: "1".into(), whitelist: "0123456789".into() });
        assert_eq!(character_filter("language_model_ngram_on\t1\n"), CharacterFilter::default());
    }
}

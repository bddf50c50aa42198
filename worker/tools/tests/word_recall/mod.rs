//! Word recall, as the photo tests measure it: how many of the words a photo shows were read,
//! wherever on the page and in whatever order.

/// The words of a text as the recall counts them: split at whitespace, lower-cased, everything
/// but letters and digits dropped ("Street," and "street" are one word; "np.zeros_like" is
/// "npzeroslike").
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|word| word.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>())
        .filter(|word| !word.is_empty())
        .collect()
}

/// The truth's words that `read` holds, each counted as often as both hold it, and those missed.
pub fn recalled(truth: &[String], read: &[String]) -> (usize, Vec<String>) {
    let mut left: Vec<&String> = read.iter().collect();
    let mut missed = Vec::new();
    for word in truth {
        match left.iter().position(|candidate| *candidate == word) {
            Some(index) => drop(left.swap_remove(index)),
            None => missed.push(word.clone()),
        }
    }
    (truth.len() - missed.len(), missed)
}

//! The character error rate the text tests measure with, each test normalising its texts its own
//! way first.

/// The Levenshtein distance between the expected and the read characters, divided by the expected
/// length.
pub fn error_rate(expected: &[char], read: &[char]) -> f32 {
    let mut previous: Vec<usize> = (0..=read.len()).collect();
    for (i, e) in expected.iter().enumerate() {
        let mut current = vec![i + 1; read.len() + 1];
        for (j, r) in read.iter().enumerate() {
            current[j + 1] = (previous[j] + usize::from(e != r)).min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[read.len()] as f32 / expected.len().max(1) as f32
}

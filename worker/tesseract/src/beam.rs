//! Tesseract's recoder beam search (`RecodeBeamSearch`) without a dictionary: the decoder its
//! LSTM recogniser runs over the network's outputs.
//!
//! Greedy decoding takes the best class at every timestep. The beam instead keeps, at every
//! timestep, the best few partial readings, so a character the network splits over two timesteps
//! (half its probability each, next to a blank) can still beat a blank that is best at both, and a
//! character of several codes (Han, Hangul) is only ever built from a valid code sequence.
//!
//! Each reading is a chain of nodes, one per timestep, scored by the sum of its log-probabilities.
//! Readings are kept in separate small beams by how many codes of an unfinished character they
//! hold and by what may follow their last node (see `Continuation`); narrow beams of each kind lose
//! the best path less often than one wide beam would. Where two readings spell the same codes so
//! far, only the better is kept, which approximates CTC's sum over all paths of one text.

use crate::charset::{Charset, MAX_CODE_LENGTH};
use crate::forward::Probabilities;

/// The beam width by the number of codes of an unfinished character a reading holds.
const BEAM_WIDTHS: [usize; CODE_LENGTHS] = [5, 10, 16, 16, 16, 16, 16, 16, 16, 16];
/// A reading holds from none to all of an unfinished character's codes.
const CODE_LENGTHS: usize = MAX_CODE_LENGTH + 1;
/// Beams per timestep: one for each continuation and code length.
const BEAMS: usize = 3 * CODE_LENGTHS;
/// How many of each timestep's best outputs are tried first (Tesseract takes the first width).
const TOP_N: usize = BEAM_WIDTHS[0];
/// Tesseract's `kDictRatio`: non-dictionary readings have their log-probabilities multiplied by it.
/// With no dictionary every reading is, so it scales all scores alike, but it also sets where
/// `MIN_CERTAINTY` cuts.
const DICT_RATIO: f32 = 2.25;
/// Tesseract's `kCertOffset`, added to every log-probability.
const CERT_OFFSET: f64 = -0.085;
/// The lowest certainty a timestep may add (`kMinCertainty`): less likely outputs are not tried,
/// except the blank.
const MIN_CERTAINTY: f32 = -20.0;

/// What may follow a node. Tesseract lets a timestep's score combine a character's probability
/// with the blank's (and, between two characters, with the previous one's): `XXN`, `XNN` and `XXX`
/// all read `X`. The combined node must then be followed in a way that still reads the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Continuation {
    /// The node used its own probability alone: anything may follow.
    Anything = 0,
    /// The node combined its probability with others and no repeat of it came before, so it must
    /// be followed by a repeat of itself.
    OnlyRepeat = 1,
    /// The node combined its probability with others after a repeat of itself, so it must be
    /// followed by something else.
    NoRepeat = 2,
}

/// The beam a node of this continuation and unfinished-code length goes in.
fn beam_index(continuation: Continuation, length: usize) -> usize {
    continuation as usize * CODE_LENGTHS + length
}

/// An output's rank at the current timestep: the beam tries the two best outputs first, then the
/// rest of the top few, then all others, stopping at the first group that gives it any reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    TopTwo,
    TopN,
    Rest,
}

/// The recoder's codes as a trie: for each prefix, the codes that finish a character after it (and
/// which character) and the codes that continue it.
#[derive(Debug, Clone)]
pub(crate) struct RecoderTrie {
    nodes: Vec<TrieNode>,
    /// One more than the largest code: the radix of the code hashes.
    code_range: u64,
    /// The CTC blank's output.
    blank: usize,
}

#[derive(Debug, Clone, Default)]
struct TrieNode {
    /// Codes that complete a character after this prefix, with the character's id. Where two
    /// characters share a code the later one is kept, as Tesseract's decoder map does.
    finishing: Vec<(usize, usize)>,
    /// Codes that extend this prefix towards longer codes, with the node they lead to.
    continuing: Vec<(usize, usize)>,
}

const ROOT: usize = 0;

impl RecoderTrie {
    /// Builds the trie from each unichar's code, listed by unichar id. Codes are listed in the order
    /// they first occur, as Tesseract lists them: the order decides between equal scores.
    pub(crate) fn new(codes: &[Vec<usize>], blank: usize) -> RecoderTrie {
        let mut nodes = vec![TrieNode::default()];
        let mut code_range = 0;
        for (id, code) in codes.iter().enumerate() {
            let Some((&last, prefix)) = code.split_last() else { continue };
            let mut node = ROOT;
            for &value in prefix {
                node = match nodes[node].continuing.iter().find(|&&(next, _)| next == value) {
                    Some(&(_, child)) => child,
                    None => {
                        nodes.push(TrieNode::default());
                        let child = nodes.len() - 1;
                        nodes[node].continuing.push((value, child));
                        child
                    }
                };
            }
            match nodes[node].finishing.iter_mut().find(|(value, _)| *value == last) {
                Some(entry) => entry.1 = id,
                None => nodes[node].finishing.push((last, id)),
            }
            code_range = code_range.max(code.iter().max().map_or(0, |&max| max as u64 + 1));
        }
        RecoderTrie { nodes, code_range, blank }
    }
}

/// One timestep of one reading.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// The network output this timestep took.
    code: usize,
    /// The character this node completes, if it does (a repeat carries its original's).
    unichar: Option<usize>,
    /// Whether this is a repeat of the previous node's code, merged with it as CTC merges repeats.
    repeat: bool,
    /// The reading's total: the sum of its nodes' certainties (log-probabilities).
    score: f32,
    /// The node before, in `Search::nodes`.
    previous: Option<usize>,
    /// The trie node of the unfinished character's codes after this node (the root when none).
    prefix: usize,
    /// A hash of the reading's codes, repeats and blanks left out: readings with equal hashes
    /// spell the same, and only the better is kept.
    code_hash: u64,
}

/// A min-heap on the score, as Tesseract's `GenericHeap`: the worst node is on top, to be dropped
/// when a better one comes and the beam is full. Its array order is the order Tesseract visits a
/// beam's nodes in, which decides between equal scores, so the sifting follows `GenericHeap` step
/// for step.
#[derive(Debug, Clone)]
struct MinHeap<T> {
    entries: Vec<(f32, T)>,
}

impl<T: Copy> MinHeap<T> {
    fn new() -> MinHeap<T> {
        MinHeap { entries: Vec::new() }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn top_key(&self) -> f32 {
        self.entries[0].0
    }

    fn push(&mut self, key: f32, value: T) {
        self.entries.push((key, value));
        let hole = self.sift_up(self.entries.len() - 1, key);
        self.entries[hole] = (key, value);
    }

    fn pop(&mut self) -> Option<(f32, T)> {
        let top = *self.entries.first()?;
        let last = self.entries.pop()?;
        if !self.entries.is_empty() {
            let hole = self.sift_down(0, last.0);
            self.entries[hole] = last;
        }
        Some(top)
    }

    /// Puts the entry at `index`, whose key changed, back where the heap order wants it.
    fn reshuffle(&mut self, index: usize) {
        let entry = self.entries[index];
        let hole = self.sift_down(index, entry.0);
        let hole = self.sift_up(hole, entry.0);
        self.entries[hole] = entry;
    }

    /// Moves the hole at `hole` up past parents with larger keys; returns where `key` belongs.
    fn sift_up(&mut self, mut hole: usize, key: f32) -> usize {
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if key >= self.entries[parent].0 {
                break;
            }
            self.entries[hole] = self.entries[parent];
            hole = parent;
        }
        hole
    }

    /// Moves the hole at `hole` down past smaller children; returns where `key` belongs.
    fn sift_down(&mut self, mut hole: usize, key: f32) -> usize {
        loop {
            let mut child = hole * 2 + 1;
            if child >= self.entries.len() {
                break;
            }
            if child + 1 < self.entries.len() && self.entries[child + 1].0 < self.entries[child].0 {
                child += 1;
            }
            if self.entries[child].0 >= key {
                break;
            }
            self.entries[hole] = self.entries[child];
            hole = child;
        }
        hole
    }
}

/// The log-probability of `p` as Tesseract's `ProbToCertainty` takes it (floored at −20), plus
/// `kCertOffset`, in the same float widths.
fn certainty(p: f32) -> f32 {
    let log = if p > MIN_CERTAINTY.exp() { (f64::from(p)).ln() as f32 } else { MIN_CERTAINTY };
    (f64::from(log) + CERT_OFFSET) as f32
}

/// The decoder's state while it runs over one line.
struct Search<'a> {
    trie: &'a RecoderTrie,
    charset: &'a Charset,
    null_char: usize,
    /// Every node the beams kept at earlier timesteps; readings point back into it.
    nodes: Vec<Node>,
    /// The current timestep's outputs.
    outputs: &'a [f32],
    /// Each output's rank at the current timestep.
    ranks: Vec<Rank>,
    /// The best and second-best outputs at the current timestep.
    top: Option<usize>,
    second: Option<usize>,
    /// The beams being filled for the current timestep.
    beams: Vec<MinHeap<Node>>,
}

/// Decodes a line's network outputs into unichar ids, left to right as the network sees them.
pub(crate) fn decode(probabilities: &Probabilities, charset: &Charset) -> Vec<usize> {
    let trie = charset.recoder_trie();
    let mut search = Search {
        trie,
        charset,
        null_char: trie.blank,
        nodes: Vec::new(),
        outputs: &[],
        ranks: vec![Rank::Rest; probabilities.classes],
        top: None,
        second: None,
        beams: vec![MinHeap::new(); BEAMS],
    };
    // The nodes each beam kept at the previous timestep, by index into `nodes`, in heap order.
    let mut previous_beams: Vec<Vec<usize>> = vec![Vec::new(); BEAMS];
    for t in 0..probabilities.timesteps {
        search.outputs = probabilities.row(t);
        search.rank_outputs();
        if t == 0 {
            // A line starts with a whole character or the first code of one.
            search.continue_reading(None, beam_index(Continuation::Anything, 0), Rank::TopTwo);
        } else {
            // Try the best outputs first, and lesser ones only if no reading that may continue
            // freely came of them (the recoder may allow none of the best after some prefix).
            for rank in [Rank::TopTwo, Rank::TopN, Rank::Rest] {
                for (index, beam) in previous_beams.iter().enumerate() {
                    // Tesseract walks each heap backwards; the order decides between equal scores.
                    for &node in beam.iter().rev() {
                        search.continue_reading(Some(node), index, rank);
                    }
                }
                let free = (0..CODE_LENGTHS)
                    .map(|length| search.beams[beam_index(Continuation::Anything, length)].len())
                    .sum::<usize>();
                if free > 0 {
                    break;
                }
            }
        }
        for (beam, kept) in search.beams.iter_mut().zip(&mut previous_beams) {
            kept.clear();
            for &(_, node) in &beam.entries {
                kept.push(search.nodes.len());
                search.nodes.push(node);
            }
            beam.entries.clear();
        }
    }
    // The best reading ends on a whole character or a blank, and not where a repeat must follow.
    let mut best: Option<usize> = None;
    for continuation in [Continuation::Anything, Continuation::NoRepeat] {
        for &node in &previous_beams[beam_index(continuation, 0)] {
            if best.is_none_or(|best| search.nodes[node].score > search.nodes[best].score) {
                best = Some(node);
            }
        }
    }
    let mut path = Vec::new();
    while let Some(index) = best {
        path.push(search.nodes[index]);
        best = search.nodes[index].previous;
    }
    // Repeats carry their original's character; blanks and unfinished codes carry none.
    path.iter().rev().filter(|node| !node.repeat).filter_map(|node| node.unichar).collect()
}

impl Search<'_> {
    /// Ranks this timestep's outputs: the best two, the rest of the best few, the others. The
    /// blank always counts among the best two, so that a reading may always pause.
    fn rank_outputs(&mut self) {
        self.ranks.fill(Rank::Rest);
        let mut best = MinHeap::new();
        for (class, &p) in self.outputs.iter().enumerate() {
            if best.len() < TOP_N || p > best.top_key() {
                best.push(p, class);
                if best.len() > TOP_N {
                    best.pop();
                }
            }
        }
        (self.top, self.second) = (None, None);
        while let Some((_, class)) = best.pop() {
            match best.len() {
                0 => {
                    self.ranks[class] = Rank::TopTwo;
                    self.top = Some(class);
                }
                1 => {
                    self.ranks[class] = Rank::TopTwo;
                    self.second = Some(class);
                }
                _ => self.ranks[class] = Rank::TopN,
            }
        }
        self.ranks[self.null_char] = Rank::TopTwo;
    }

    /// Whether `a` then `b` are this timestep's two best outputs in either order: a timestep
    /// between two characters that split it may then count both.
    fn are_top_two(&self, a: usize, b: usize) -> bool {
        (Some(a) == self.top && Some(b) == self.second) || (Some(b) == self.top && Some(a) == self.second)
    }

    /// Extends the reading that ends at `previous` (none at the first timestep), from beam
    /// `index`, with each output of this `rank` that the CTC rules and the recoder allow.
    fn continue_reading(&mut self, previous: Option<usize>, index: usize, rank: Rank) {
        let length = index % CODE_LENGTHS;
        let continuation = match index / CODE_LENGTHS {
            0 => Continuation::Anything,
            1 => Continuation::OnlyRepeat,
            _ => Continuation::NoRepeat,
        };
        let previous_node = previous.map(|index| self.nodes[index]);
        let null = self.null_char;
        let outputs = self.outputs;
        if let Some(before) = previous_node {
            if self.ranks[before.code] == rank {
                // The same output again: a repeat, merged into the node before.
                if continuation != Continuation::NoRepeat {
                    let certainty = certainty(outputs[before.code]);
                    self.push_partial(
                        length,
                        true,
                        before.code,
                        before.unichar,
                        certainty,
                        Continuation::Anything,
                        previous,
                    );
                }
                // The repeat and the blank both read as the node before, so their sum may count,
                // but then the next node must be something else (`XNX` would read `XX`).
                if continuation == Continuation::Anything && rank == Rank::TopTwo && before.code != null {
                    let certainty = certainty(outputs[before.code] + outputs[null]);
                    self.push_partial(
                        length,
                        true,
                        before.code,
                        before.unichar,
                        certainty,
                        Continuation::NoRepeat,
                        previous,
                    );
                }
            }
            if continuation == Continuation::OnlyRepeat {
                return;
            }
            // Blanks may come between the codes of one character; the recoder's codes omit them.
            if before.code != null && length > 0 && self.ranks[null] == rank {
                let certainty = certainty(outputs[null]);
                self.push_partial(length, false, null, None, certainty, Continuation::Anything, previous);
            }
        }
        let prefix = previous_node.map_or(ROOT, |node| node.prefix);
        let trie = self.trie;
        for &(code, unichar) in &trie.nodes[prefix].finishing {
            if self.ranks[code] != rank || previous_node.is_some_and(|before| before.code == code) {
                continue;
            }
            let certainty = certainty(outputs[code]);
            if certainty < MIN_CERTAINTY && code != null {
                continue;
            }
            // The blank is a code of the recoder's own (for its "joined" and "broken" marks); on
            // its own it is no character.
            let unichar = if length == 0 && code == null { None } else { Some(unichar) };
            if unichar.is_some_and(|id| self.charset.is_disabled(id)) {
                continue;
            }
            self.push_whole(code, unichar, certainty, Continuation::Anything, previous);
            if rank == Rank::TopTwo && code != null {
                let certainty = self.combined_certainty(code, previous_node, continuation);
                self.push_whole(code, unichar, certainty, Continuation::OnlyRepeat, previous);
            }
        }
        for &(code, _) in &trie.nodes[prefix].continuing {
            if self.ranks[code] != rank || previous_node.is_some_and(|before| before.code == code) {
                continue;
            }
            let certainty = certainty(outputs[code]);
            self.push_partial(length + 1, false, code, None, certainty, Continuation::Anything, previous);
            if rank == Rank::TopTwo && code != null {
                let certainty = self.combined_certainty(code, previous_node, continuation);
                self.push_partial(length + 1, false, code, None, certainty, Continuation::OnlyRepeat, previous);
            }
        }
    }

    /// The certainty of `code` with the blank's probability added (`XN` and `XX` read alike), and
    /// the previous node's too where this timestep's two best are it and `code` (`XY`, `XXY` and
    /// `XYY` read alike).
    fn combined_certainty(&self, code: usize, previous: Option<Node>, continuation: Continuation) -> f32 {
        let mut p = self.outputs[code] + self.outputs[self.null_char];
        if let Some(before) = previous
            && continuation == Continuation::Anything
            && before.code != self.null_char
            && self.are_top_two(before.code, code)
        {
            p += self.outputs[before.code];
        }
        certainty(p)
    }

    /// A node that completes a character (or a blank between characters) goes in the beams of
    /// readings with no unfinished code.
    fn push_whole(
        &mut self,
        code: usize,
        unichar: Option<usize>,
        certainty: f32,
        continuation: Continuation,
        previous: Option<usize>,
    ) {
        let node = self.node(code, unichar, false, certainty * DICT_RATIO, ROOT, previous);
        self.push(beam_index(continuation, 0), BEAM_WIDTHS[0], node);
    }

    /// A repeat, a blank inside a character, or a code that leaves a character unfinished, in the
    /// beam for `length` unfinished codes. Unlikely ones are dropped, except blanks.
    #[allow(clippy::too_many_arguments)]
    fn push_partial(
        &mut self,
        length: usize,
        repeat: bool,
        code: usize,
        unichar: Option<usize>,
        certainty: f32,
        continuation: Continuation,
        previous: Option<usize>,
    ) {
        let certainty = certainty * DICT_RATIO;
        if certainty < MIN_CERTAINTY && code != self.null_char {
            return;
        }
        let before_prefix = previous.map_or(ROOT, |index| self.nodes[index].prefix);
        // A new code moves down the trie; a repeat or a blank stays where the reading was.
        let prefix = if repeat || code == self.null_char {
            before_prefix
        } else {
            self.trie.nodes[before_prefix]
                .continuing
                .iter()
                .find(|&&(value, _)| value == code)
                .map_or(ROOT, |&(_, child)| child)
        };
        let node = self.node(code, unichar, repeat, certainty, prefix, previous);
        self.push(beam_index(continuation, length), BEAM_WIDTHS[length], node);
    }

    fn node(
        &self,
        code: usize,
        unichar: Option<usize>,
        repeat: bool,
        certainty: f32,
        prefix: usize,
        previous: Option<usize>,
    ) -> Node {
        let before = previous.map(|index| &self.nodes[index]);
        let mut code_hash = before.map_or(0, |node| node.code_hash);
        if !repeat && code != self.null_char {
            // Tesseract's hash: the codes as digits of a number in base `code_range`, the bits
            // that overflow 64 folded back in.
            let range = self.trie.code_range;
            let carry = ((code_hash >> 32).wrapping_mul(range)) >> 32;
            code_hash = code_hash.wrapping_mul(range).wrapping_add(carry).wrapping_add(code as u64);
        }
        let score = certainty + before.map_or(0.0, |node| node.score);
        Node { code, unichar, repeat, score, previous, prefix, code_hash }
    }

    /// Adds `node` to a beam if the beam has room or the node beats its worst; a node spelling the
    /// same codes as one already there replaces it if better and is dropped otherwise.
    fn push(&mut self, index: usize, width: usize, node: Node) {
        let beam = &mut self.beams[index];
        if beam.len() >= width && node.score <= beam.top_key() {
            return;
        }
        if let Some(same) =
            beam.entries.iter().position(|(_, kept)| kept.code == node.code && kept.code_hash == node.code_hash)
        {
            if node.score > beam.entries[same].1.score {
                beam.entries[same] = (node.score, node);
                beam.reshuffle(same);
            }
            return;
        }
        beam.push(node.score, node);
        if beam.len() > width {
            beam.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trie_lists_codes_in_first_seen_order_and_the_last_character_of_a_shared_code() {
        let trie = RecoderTrie::new(&[vec![0], vec![5], vec![5], vec![3, 4], vec![3, 4, 2], vec![1]], 5);
        assert_eq!(trie.nodes[ROOT].finishing, [(0, 0), (5, 2), (1, 5)]);
        let (three, child) = trie.nodes[ROOT].continuing[0];
        assert_eq!(three, 3);
        assert_eq!(trie.nodes[child].finishing, [(4, 3)]);
        let (four, grandchild) = trie.nodes[child].continuing[0];
        assert_eq!(four, 4);
        assert_eq!(trie.nodes[grandchild].finishing, [(2, 4)]);
        assert_eq!(trie.code_range, 6);
    }

    #[test]
    fn the_heap_pops_smallest_first_and_a_lowered_key_rises_to_the_top() {
        let mut heap = MinHeap::new();
        for (key, value) in [(3.0, 'c'), (1.0, 'a'), (4.0, 'd'), (2.0, 'b'), (5.0, 'e')] {
            heap.push(key, value);
        }
        let lowered = heap.entries[3].1;
        heap.entries[3].0 = 0.5;
        heap.reshuffle(3);
        let mut keys = Vec::new();
        let first = heap.entries[0].1;
        while let Some((key, _)) = heap.pop() {
            keys.push(key);
        }
        assert_eq!(first, lowered);
        assert!(keys.is_sorted() && keys.len() == 5, "{keys:?}");
    }
}

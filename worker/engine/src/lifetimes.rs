//! Sharing buffers by lifetime: tensors that are never alive at the same time share one buffer.
//! The planner packs the plan's activation buffers with it, and the GPU backend packs its own
//! (which differ where it writes a concatenation's inputs in place).

/// A tensor's life: the step that first writes it, the step that last reads it, its length in floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub first: usize,
    pub last: usize,
    pub len: usize,
}

/// Greedy by size: each lifetime, largest first, joins the first buffer free for all of it.
/// Returns each buffer's length, and for each lifetime (in the order given) the buffer it joined.
pub fn pack(lifetimes: &[Lifetime]) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..lifetimes.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(lifetimes[i].len), lifetimes[i].first));
    let mut buffers: Vec<(usize, Vec<(usize, usize)>)> = Vec::new();
    let mut assigned = vec![0; lifetimes.len()];
    for i in order {
        let life = lifetimes[i];
        let free = |lives: &[(usize, usize)]| lives.iter().all(|&(f, l)| life.last < f || l < life.first);
        let id = match buffers.iter().position(|(_, lives)| free(lives)) {
            Some(id) => id,
            None => {
                buffers.push((life.len, Vec::new()));
                buffers.len() - 1
            }
        };
        buffers[id].1.push((life.first, life.last));
        assigned[i] = id;
    }
    (buffers.into_iter().map(|(len, _)| len).collect(), assigned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_that_never_meet_share_a_buffer_and_those_that_touch_do_not() {
        let lives = [
            Lifetime { first: 0, last: 2, len: 10 },
            Lifetime { first: 3, last: 5, len: 4 },
            Lifetime { first: 2, last: 4, len: 8 },
        ];
        let (buffers, assigned) = pack(&lives);
        // The 10 and the 4 never meet; the 8 touches both at steps 2 and 3..4.
        assert_eq!(assigned, vec![0, 0, 1]);
        assert_eq!(buffers, vec![10, 8]);
    }
}

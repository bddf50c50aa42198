//! Timesteps run in lockstep on several threads: each step's work is cut into chunks that any
//! participating thread claims, and no step starts before the last one's chunks are all done.
//!
//! An LSTM's timestep is 40–90 µs of work for the widest layers, too little for a rayon join per
//! step in wasm: there an idle pool thread soon sleeps in `memory.atomic.wait`, and waking it took
//! longer than the half step it would take over (the split made English lines slower in Chromium,
//! 11.7 → 12.8 ms for their 512-cell layer). Here the helpers stay awake, spinning between steps,
//! for as long as one layer runs: that layer then took 6.5 ms on 2 threads.
//!
//! The caller never waits for a helper to arrive: it claims chunks itself, so a helper the pool
//! is too busy to start costs nothing, and one that starts late joins at the step then running.
//! The caller waits only for chunks already claimed, which threads are running.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// The claim word: the step in the high 32 bits, the next unclaimed chunk in the low 32.
const CHUNK_BITS: u32 = 32;
const CHUNK_MASK: u64 = (1 << CHUNK_BITS) - 1;
/// Stored when the caller is done (or unwinding): helpers return.
const FINISHED: u64 = u64::MAX;
/// Spins before a waiting thread also yields its core (natively; in wasm yielding does nothing).
const SPINS_BEFORE_YIELD: u32 = 1 << 12;

struct Shared {
    claim: AtomicU64,
    done: AtomicUsize,
    /// A helper's task panicked: the caller stops waiting for its chunk.
    helper_failed: AtomicBool,
    chunks: usize,
}

impl Shared {
    /// Claims a chunk of the step now running, if one is left; `None` once all are claimed.
    fn claim(&self) -> Option<(usize, usize)> {
        let mut current = self.claim.load(Ordering::Acquire);
        loop {
            let chunk = (current & CHUNK_MASK) as usize;
            if current == FINISHED || chunk >= self.chunks {
                return None;
            }
            match self.claim.compare_exchange_weak(current, current + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(((current >> CHUNK_BITS) as usize, chunk)),
                Err(actual) => current = actual,
            }
        }
    }
}

fn pause(spins: &mut u32) {
    if *spins < SPINS_BEFORE_YIELD {
        *spins += 1;
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// Tells the helpers to return when the caller leaves, normally or by a panic.
struct FinishOnDrop<'a>(&'a Shared);

impl Drop for FinishOnDrop<'_> {
    fn drop(&mut self) {
        self.0.claim.store(FINISHED, Ordering::Release);
    }
}

/// Marks a helper's panic so that the caller does not wait for its chunk forever.
struct FailOnUnwind<'a>(&'a Shared);

impl Drop for FailOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.helper_failed.store(true, Ordering::Release);
        }
    }
}

/// Runs `steps` steps of `chunks` chunks each: before each step, `prepare(step)` on the calling
/// thread alone; then `task(step, chunk)` for every chunk, on this thread and up to `helpers`
/// threads of the rayon pool. A task sees everything `prepare` and the earlier steps wrote.
pub(crate) fn run<P, T>(steps: usize, chunks: usize, helpers: usize, mut prepare: P, task: T)
where
    P: FnMut(usize),
    T: Fn(usize, usize) + Sync,
{
    assert!(chunks > 0 && (chunks as u64) < CHUNK_MASK && (steps as u64) < (FINISHED >> CHUNK_BITS));
    // Step 0 with every chunk claimed: helpers that start before the first step wait.
    let shared = Shared {
        claim: AtomicU64::new(chunks as u64),
        done: AtomicUsize::new(0),
        helper_failed: AtomicBool::new(false),
        chunks,
    };
    let (shared, task) = (&shared, &task);
    rayon::in_place_scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(move |_| {
                let _fail = FailOnUnwind(shared);
                let mut spins = 0;
                while shared.claim.load(Ordering::Acquire) != FINISHED {
                    match shared.claim() {
                        Some((step, chunk)) => {
                            task(step, chunk);
                            shared.done.fetch_add(1, Ordering::Release);
                            spins = 0;
                        }
                        None => pause(&mut spins),
                    }
                }
            });
        }
        let _finish = FinishOnDrop(shared);
        for step in 0..steps {
            prepare(step);
            shared.done.store(0, Ordering::Relaxed);
            shared.claim.store((step as u64) << CHUNK_BITS, Ordering::Release);
            while let Some((claimed_step, chunk)) = shared.claim() {
                debug_assert_eq!(claimed_step, step);
                task(step, chunk);
                shared.done.fetch_add(1, Ordering::Release);
            }
            let mut spins = 0;
            while shared.done.load(Ordering::Acquire) < chunks {
                assert!(!shared.helper_failed.load(Ordering::Acquire), "a helper thread's task panicked");
                pause(&mut spins);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Each step's chunks see all of the previous step's results, whoever computed them.
    #[test]
    fn every_step_sees_the_last_steps_results() {
        let chunks = 7;
        let values: Vec<Mutex<u64>> = (0..chunks).map(|_| Mutex::new(1)).collect();
        let total = Mutex::new(0u64);
        let mut totals = Vec::new();
        run(
            500,
            chunks,
            3,
            |step| {
                if step > 0 {
                    totals.push(*total.lock().unwrap());
                }
                *total.lock().unwrap() = values.iter().map(|v| *v.lock().unwrap()).sum();
            },
            |step, chunk| {
                let previous_total = *total.lock().unwrap();
                let mut value = values[chunk].lock().unwrap();
                *value = (*value + previous_total + step as u64 + chunk as u64) % 1_000_003;
            },
        );
        // The same recurrence on one thread.
        let mut expected_values = vec![1u64; chunks];
        let mut expected_totals = Vec::new();
        let mut expected_total = 0;
        for step in 0..500 {
            if step > 0 {
                expected_totals.push(expected_total);
            }
            expected_total = expected_values.iter().sum();
            for (chunk, value) in expected_values.iter_mut().enumerate() {
                *value = (*value + expected_total + step as u64 + chunk as u64) % 1_000_003;
            }
        }
        assert_eq!(totals, expected_totals);
    }

    #[test]
    fn a_panicking_task_ends_the_run_with_its_panic_instead_of_a_hang() {
        for panicking_chunk in 0..4 {
            let result = std::panic::catch_unwind(|| {
                run(
                    50,
                    4,
                    2,
                    |_| {},
                    |step, chunk| {
                        if step == 20 && chunk == panicking_chunk {
                            panic!("chunk {chunk} failed");
                        }
                    },
                )
            });
            assert!(result.is_err());
        }
    }

    #[test]
    fn runs_with_no_helpers_and_with_more_helpers_than_threads() {
        for helpers in [0, 1, 16] {
            let count = AtomicUsize::new(0);
            run(
                100,
                5,
                helpers,
                |_| {},
                |_, _| {
                    count.fetch_add(1, Ordering::Relaxed);
                },
            );
            assert_eq!(count.into_inner(), 500, "{helpers} helpers");
        }
    }
}

//! The activation buffers of one session, as the plan assigned them (`Plan::buffers`): each step
//! writes its output into its assigned buffer, and the session hands the buffer back once no later
//! step reads it (`Step::recycle`). Runs after the first allocate nothing, and a large output lands
//! in pages already mapped rather than fresh ones the OS must zero. Kernels' working space is
//! kept per thread (`with_scratch`).

use std::cell::Cell;
use std::sync::{Mutex, PoisonError};

use candle_core::{CpuStorage, InplaceOp1, Layout, Tensor};

/// The plan's buffers: their sizes in floats, and those not in use now.
#[derive(Debug)]
pub struct BufferArena {
    sizes: Vec<usize>,
    idle: Mutex<Vec<Vec<f32>>>,
}

impl BufferArena {
    pub fn new(sizes: Vec<usize>) -> Self {
        let idle = Mutex::new(sizes.iter().map(|_| Vec::new()).collect());
        BufferArena { sizes, idle }
    }

    /// Where a step writes its output: buffer `id` of this arena, or with None a new one.
    pub(crate) fn output(&self, id: Option<usize>) -> OutputBuffer<'_> {
        OutputBuffer { arena: id.map(|id| (self, id)), taken: Cell::new(false) }
    }

    /// Puts buffer `id` back, taken out of a tensor whose storage nothing else shares, as the
    /// plan's lifetimes guarantee for the slots it recycles.
    pub(crate) fn reclaim(&self, tensor: &Tensor, id: usize) {
        // The op cannot fail on the CPU: it only moves a Vec out of the storage.
        let _ = tensor.inplace_op1(&Reclaim { arena: self, id });
    }
}

/// The buffer one kernel writes its output into.
pub struct OutputBuffer<'a> {
    arena: Option<(&'a BufferArena, usize)>,
    taken: Cell<bool>,
}

impl OutputBuffer<'_> {
    /// New memory for every call: plan-time folding, before there is a plan to assign buffers.
    pub(crate) fn fresh() -> OutputBuffer<'static> {
        OutputBuffer { arena: None, taken: Cell::new(false) }
    }

    /// An empty buffer with room for `len` floats: the step's assigned buffer, allocated at its
    /// planned size on first use; any later call gets new memory.
    pub(crate) fn take(&self, len: usize) -> Vec<f32> {
        let assigned = match self.arena {
            Some((arena, id)) if !self.taken.replace(true) => {
                let mut buffer = std::mem::take(&mut arena.idle.lock().unwrap_or_else(PoisonError::into_inner)[id]);
                if buffer.capacity() < len {
                    buffer = Vec::with_capacity(arena.sizes[id].max(len));
                }
                Some(buffer)
            }
            _ => None,
        };
        let mut buffer = assigned.unwrap_or_else(|| Vec::with_capacity(len));
        buffer.clear();
        buffer
    }
}

struct Reclaim<'a> {
    arena: &'a BufferArena,
    id: usize,
}

impl InplaceOp1 for Reclaim<'_> {
    fn name(&self) -> &'static str {
        "reclaim"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, _: &Layout) -> candle_core::Result<()> {
        if let CpuStorage::F32(data) = storage {
            self.arena.idle.lock().unwrap_or_else(PoisonError::into_inner)[self.id] = std::mem::take(data);
        }
        Ok(())
    }
}

thread_local! {
    /// Each thread's kernel scratch, kept from op to op.
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Calls `f` with `len` floats of this thread's scratch, as earlier tasks left them (zero where
/// new), then keeps them for the next task: kernels' working space allocates only while it grows.
pub(crate) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut scratch = SCRATCH.take();
    if scratch.len() < len {
        scratch.resize(len, 0.0);
    }
    let result = f(&mut scratch[..len]);
    SCRATCH.set(scratch);
    result
}

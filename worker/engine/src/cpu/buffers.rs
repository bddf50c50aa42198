//! Output buffers a session hands back once no later step reads them (`Step::recycle`), for later
//! steps and runs to write into: runs of one plan reach a steady state where no step allocates,
//! and a large output lands in pages already mapped rather than fresh ones the OS must zero.

use std::sync::{Mutex, PoisonError};

use candle_core::{CpuStorage, InplaceOp1, Layout, Tensor};

/// Free buffers, kept per session.
#[derive(Debug, Default)]
pub struct BufferPool {
    free: Mutex<Vec<Vec<f32>>>,
}

impl BufferPool {
    /// An empty buffer with room for `len` floats: the smallest free one that fits without
    /// leaving more than half of it unused, else a new one.
    pub(crate) fn take(&self, len: usize) -> Vec<f32> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let best = (0..free.len()).filter(|&i| (len..=2 * len).contains(&free[i].capacity())).min_by_key(|&i| free[i].capacity());
        match best {
            Some(i) => {
                let mut buffer = free.swap_remove(i);
                buffer.clear();
                buffer
            }
            None => Vec::with_capacity(len),
        }
    }

    /// Takes the f32 buffer out of a tensor whose storage nothing else shares, as the plan's
    /// lifetimes guarantee for the slots it recycles; other tensors are left to drop.
    pub(crate) fn reclaim(&self, tensor: &Tensor) {
        // The op cannot fail on the CPU: it only moves a Vec out of the storage.
        let _ = tensor.inplace_op1(&Reclaim(self));
    }
}

struct Reclaim<'p>(&'p BufferPool);

impl InplaceOp1 for Reclaim<'_> {
    fn name(&self) -> &'static str {
        "reclaim"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, _: &Layout) -> candle_core::Result<()> {
        if let CpuStorage::F32(data) = storage {
            let buffer = std::mem::take(data);
            if buffer.capacity() > 0 {
                self.0.free.lock().unwrap_or_else(PoisonError::into_inner).push(buffer);
            }
        }
        Ok(())
    }
}

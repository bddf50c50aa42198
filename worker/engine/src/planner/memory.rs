//! Memory: when each slot is last read, which buffer each step's output lives in, how long each
//! buffer lives, and their packing into shared activation buffers (`lifetimes::pack`).

use std::collections::HashMap;

use crate::lifetimes::{Lifetime, pack};
use crate::plan::{PlanOutput, Step, ValueRef};

/// Fills in each step's `free`, `buffer` and `recycle` for the pruned, renumbered `steps`, and
/// returns the length in floats of each activation buffer they share.
pub(super) fn plan_memory(steps: &mut [Step], outputs: &[PlanOutput], slots: usize) -> Vec<usize> {
    let last_read = last_reads(steps, outputs);
    let owner = buffer_owners(steps, slots);
    let buffer_end = buffer_ends(&last_read, &owner, outputs);
    // Slots that own no buffer of their own (views and inputs) are dropped after their last read.
    for (&slot, &step) in &last_read {
        if owner[slot] != Some(slot) {
            steps[step].free.push(slot);
        }
    }
    let lives = lifetimes(steps, buffer_end);
    let (buffers, assigned) = pack(&lives.iter().map(|&(_, life)| life).collect::<Vec<_>>());
    for ((slot, life), id) in lives.into_iter().zip(assigned) {
        steps[life.first].buffer = Some(id);
        steps[life.last].recycle.push((slot, id));
    }
    for step in steps.iter_mut() {
        step.free.sort_unstable();
        step.recycle.sort_unstable();
    }
    buffers
}

/// The index of the last step reading each slot, leaving out the slots an output reads.
fn last_reads(steps: &[Step], outputs: &[PlanOutput]) -> HashMap<usize, usize> {
    let mut last_read: HashMap<usize, usize> = HashMap::new();
    for (i, step) in steps.iter().enumerate() {
        for r in &step.inputs {
            if let ValueRef::Slot(s) = r {
                last_read.insert(*s, i);
            }
        }
    }
    for o in outputs {
        if let ValueRef::Slot(s) = o.value {
            last_read.remove(&s);
        }
    }
    last_read
}

/// The step whose output owns the buffer each slot reads: itself, or for a view, its first
/// input's owner. Inputs and views of constants own none of the plan's.
fn buffer_owners(steps: &[Step], slots: usize) -> Vec<Option<usize>> {
    let mut owner: Vec<Option<usize>> = vec![None; slots];
    for step in steps {
        owner[step.output] = match (step.op.may_view_input(step.inputs.len()), step.inputs.first()) {
            (false, _) => Some(step.output),
            (true, Some(ValueRef::Slot(s))) => owner[*s],
            (true, _) => None,
        };
    }
    owner
}

/// For each buffer (by its owning slot), the step that last reads it. A buffer lives until the
/// last read through any slot that owns or views it; one an output reads lives on (None).
fn buffer_ends(
    last_read: &HashMap<usize, usize>,
    owner: &[Option<usize>],
    outputs: &[PlanOutput],
) -> HashMap<usize, Option<usize>> {
    let mut buffer_end: HashMap<usize, Option<usize>> = HashMap::new();
    for o in outputs {
        if let ValueRef::Slot(s) = o.value
            && let Some(buffer) = owner[s]
        {
            buffer_end.insert(buffer, None);
        }
    }
    for (&slot, &step) in last_read {
        if let Some(buffer) = owner[slot] {
            let end = buffer_end.entry(buffer).or_insert(Some(step));
            *end = end.map(|e| e.max(step));
        }
    }
    buffer_end
}

/// The lifetimes of the buffers that end within the plan (those outputs read live on), each
/// with the slot that owns its buffer.
fn lifetimes(steps: &[Step], buffer_end: HashMap<usize, Option<usize>>) -> Vec<(usize, Lifetime)> {
    let made_at: HashMap<usize, usize> = steps.iter().enumerate().map(|(i, s)| (s.output, i)).collect();
    buffer_end
        .into_iter()
        .filter_map(|(slot, end)| {
            end.map(|last| {
                let first = made_at[&slot];
                (slot, Lifetime { first, last, len: steps[first].shape.iter().product::<usize>() })
            })
        })
        .collect()
}

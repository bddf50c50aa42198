//! Where each step's output lives on the GPU. The backend lays out its own buffers instead of
//! taking the plan's, because it writes concatenations in place: a step whose output is one
//! input of a concatenation along its outermost non-unit axis writes straight into its slice of
//! the concatenation's buffer, and the concatenation then copies only the inputs that could not
//! be placed (a plan input, a view, a value two concatenations take). U²-Net's decoders
//! concatenate at every stage; this saves those copies.
//!
//! WebGPU forbids one buffer bound as an input and as the output of a dispatch, so a placement
//! that would make a step read the buffer it writes is undone. Buffers are then shared by
//! lifetime (`lifetimes::pack`), a placed value living as long as its concatenation's buffer.

use candle_core::Tensor;

use super::lower::view_offset;
use crate::error::Result;
use crate::lifetimes::{Lifetime, pack};
use crate::ops::Op;
use crate::plan::{Plan, ValueRef};

/// Where a step's output is: a view of its first input, or at a float offset of an activation buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    View,
    Buffer { buffer: usize, offset: usize },
}

/// The session's activation buffers (floats each) and each step's output's home.
#[derive(Debug)]
pub struct Layout {
    pub buffers: Vec<usize>,
    pub homes: Vec<Home>,
}

/// Where a value sits before buffers are shared: at `offset` of the output of step `root`, a
/// step that owns an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    root: usize,
    offset: usize,
}

struct Graph<'a> {
    plan: &'a Plan,
    /// The step that writes each slot; None for plan inputs.
    producer: Vec<Option<usize>>,
    /// Per step, the offset into its first input where its output is a view of it.
    views: Vec<Option<usize>>,
    /// Per step, where it is written in place: the concatenation (step), the float offset there,
    /// and which of the concatenation's inputs it is.
    placed: Vec<Option<(usize, usize, usize)>>,
}

impl Graph<'_> {
    /// Where the output of step `i`, not a view, is written.
    fn written(&self, i: usize) -> Place {
        match self.placed[i] {
            Some((concat, offset, _)) => {
                let at = self.written(concat);
                Place { root: at.root, offset: at.offset + offset }
            }
            None => Place { root: i, offset: 0 },
        }
    }

    /// Where step `i`'s output sits; None for a view of a constant or of a plan input.
    fn place(&self, i: usize) -> Option<Place> {
        match self.views[i] {
            Some(offset) => {
                let source = self.value(self.plan.steps[i].inputs[0])?;
                Some(Place { root: source.root, offset: source.offset + offset })
            }
            None => Some(self.written(i)),
        }
    }

    fn value(&self, r: ValueRef) -> Option<Place> {
        match r {
            ValueRef::Slot(s) => self.producer[s].and_then(|p| self.place(p)),
            ValueRef::Const(_) => None,
        }
    }

    /// The values step `i` reads through a dispatch: a concatenation does not read its inputs
    /// written in place.
    fn reads(&self, i: usize) -> impl Iterator<Item = ValueRef> + '_ {
        let placed_here = move |k: usize, s: usize| {
            self.producer[s].is_some_and(|p| self.placed[p].is_some_and(|(c, _, at)| c == i && at == k))
        };
        self.plan.steps[i].inputs.iter().enumerate().filter_map(move |(k, &r)| match r {
            ValueRef::Slot(s) if placed_here(k, s) => None,
            r => Some(r),
        })
    }
}

/// Lays out `plan`'s activations, given its constants' shapes.
pub fn layout(plan: &Plan, constants: &[Tensor]) -> Result<Layout> {
    let steps = &plan.steps;
    let mut producer = vec![None; plan.slots];
    for (i, step) in steps.iter().enumerate() {
        producer[step.output] = Some(i);
    }
    let shape_of = |r: ValueRef| -> Vec<usize> {
        match r {
            ValueRef::Const(c) => constants[c].dims().to_vec(),
            ValueRef::Slot(s) => match producer[s] {
                Some(p) => steps[p].shape.clone(),
                None => plan.inputs.iter().find(|i| i.slot == s).map(|i| i.shape.clone()).unwrap_or_default(),
            },
        }
    };
    let views = steps
        .iter()
        .map(|step| match step.inputs.first() {
            Some(&first) => view_offset(&step.op, step.inputs.len(), &shape_of(first)),
            None => Ok(None),
        })
        .collect::<Result<Vec<_>>>()?;

    let mut placed = vec![None; steps.len()];
    for (c, step) in steps.iter().enumerate() {
        let Op::Concat { axis } = step.op else { continue };
        if views[c].is_some() || step.shape[..axis].iter().product::<usize>() != 1 {
            continue;
        }
        let inner: usize = step.shape[axis + 1..].iter().product();
        let mut at = 0;
        for (k, &input) in step.inputs.iter().enumerate() {
            if let ValueRef::Slot(s) = input
                && let Some(p) = producer[s]
                && views[p].is_none()
                && placed[p].is_none()
            {
                placed[p] = Some((c, at * inner, k));
            }
            at += shape_of(input)[axis];
        }
    }
    let mut graph = Graph { plan, producer, views, placed };

    // Undo placements until no dispatch reads the allocation it writes. Each pass undoes at least
    // one, so this ends.
    loop {
        let clash = (0..steps.len()).find(|&i| {
            graph.views[i].is_none() && {
                let root = graph.written(i).root;
                graph.reads(i).any(|r| graph.value(r).is_some_and(|p| p.root == root))
            }
        });
        let Some(i) = clash else { break };
        if graph.placed[i].is_some() {
            graph.placed[i] = None;
        } else {
            // A concatenation reading its own allocation through an unplaced input (the same value
            // twice, a view of a placed one): it copies every input instead.
            for p in graph.placed.iter_mut().filter(|p| p.is_some_and(|(c, _, _)| c == i)) {
                *p = None;
            }
        }
    }

    // Each allocation lives from the first step writing into it to the last reading it.
    let roots: Vec<usize> =
        (0..steps.len()).filter(|&i| graph.views[i].is_none() && graph.placed[i].is_none()).collect();
    let mut index = vec![usize::MAX; steps.len()];
    let mut lives: Vec<Lifetime> = roots
        .iter()
        .enumerate()
        .map(|(n, &r)| {
            index[r] = n;
            Lifetime { first: r, last: r, len: steps[r].shape.iter().product() }
        })
        .collect();
    for i in 0..steps.len() {
        if graph.views[i].is_none() {
            let life = &mut lives[index[graph.written(i).root]];
            life.first = life.first.min(i);
        }
        for r in graph.plan.steps[i].inputs.iter() {
            if let Some(place) = graph.value(*r) {
                let life = &mut lives[index[place.root]];
                life.last = life.last.max(i);
            }
        }
    }
    // What an output reads is never overwritten: nothing after the last step shares it.
    for output in &plan.outputs {
        if let Some(place) = graph.value(output.value) {
            lives[index[place.root]].last = usize::MAX;
        }
    }
    let (buffers, assigned) = pack(&lives);
    let homes = (0..steps.len())
        .map(|i| match graph.views[i] {
            Some(_) => Home::View,
            None => {
                let place = graph.written(i);
                Home::Buffer { buffer: assigned[index[place.root]], offset: place.offset }
            }
        })
        .collect();
    Ok(Layout { buffers, homes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::UnaryKind;
    use crate::plan::{PlanInput, PlanOutput, Step};

    fn step(op: Op, inputs: &[usize], output: usize, shape: &[usize]) -> Step {
        Step {
            node: format!("n{output}"),
            op,
            inputs: inputs.iter().map(|&s| ValueRef::Slot(s)).collect(),
            output,
            shape: shape.to_vec(),
            free: Vec::new(),
            buffer: None,
            recycle: Vec::new(),
        }
    }

    #[test]
    fn concatenation_inputs_are_written_in_place_unless_that_would_alias() {
        // y = [Neg(x); [Abs(x); x]; Exp(Neg(x))] along axis 1.
        let concat = Op::Concat { axis: 1 };
        let plan = Plan {
            inputs: vec![PlanInput { name: "x".into(), shape: vec![1, 2, 3], slot: 0 }],
            outputs: vec![PlanOutput { name: "y".into(), shape: vec![1, 8, 3], value: ValueRef::Slot(5) }],
            constants: Vec::new(),
            steps: vec![
                step(Op::Unary(UnaryKind::Neg), &[0], 1, &[1, 2, 3]),
                step(Op::Unary(UnaryKind::Abs), &[0], 2, &[1, 2, 3]),
                step(concat.clone(), &[2, 0], 3, &[1, 4, 3]),
                step(Op::Unary(UnaryKind::Exp), &[1], 4, &[1, 2, 3]),
                step(concat, &[1, 3, 4], 5, &[1, 8, 3]),
            ],
            slots: 6,
            buffers: Vec::new(),
        };
        let layout = layout(&plan, &[]).unwrap();
        let Home::Buffer { buffer: y, offset: 0 } = layout.homes[4] else { panic!("{:?}", layout.homes) };
        // Neg at the start of y, the inner concatenation and the Abs in it after it.
        assert_eq!(layout.homes[0], Home::Buffer { buffer: y, offset: 0 });
        assert_eq!(layout.homes[2], Home::Buffer { buffer: y, offset: 6 });
        assert_eq!(layout.homes[1], Home::Buffer { buffer: y, offset: 6 });
        // Exp reads Neg, which is in y: it gets a buffer of its own and is copied.
        let Home::Buffer { buffer: exp, offset: 0 } = layout.homes[3] else { panic!("{:?}", layout.homes) };
        assert_ne!(exp, y);
        assert_eq!(layout.buffers[y], 24);
    }
}

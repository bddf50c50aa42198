//! Graph rewrites a caller may ask for before planning: statistics over the whole image, taken
//! from one run and fixed in another. A network run over tiles of a large image normalises each
//! tile by its own statistics, so tiles of one photo come out in different colours; measuring
//! them once on the whole image and fixing them in every tile makes the tiles one picture.

use candle_core::Tensor;

use crate::error::{Error, Result};
use crate::model::{Attr, Model};

impl Model {
    /// The values that are statistics over a whole image: the outputs of ReduceMean over the
    /// spatial axes (2 and 3) of an NCHW value, kept as [N, C, 1, 1]. Instance normalisation is
    /// exported so (the mean, then the mean of the squared deviations), and so are squeeze-and-
    /// excitation pools. In the graph's order.
    pub fn spatial_means(&self) -> Vec<String> {
        let spatial = |axes: &[i64]| {
            let mut axes = axes.to_vec();
            axes.sort_unstable();
            axes == [2, 3] || axes == [-2, -1]
        };
        self.nodes
            .iter()
            .filter(|n| n.op == "ReduceMean")
            .filter(|n| matches!(n.attrs.get("axes"), Some(Attr::Ints(axes)) if spatial(axes)))
            .filter(|n| !matches!(n.attrs.get("keepdims"), Some(Attr::Int(0))))
            .map(|n| n.outputs[0].clone())
            .collect()
    }

    /// A copy that also outputs `names` (values computed inside the graph), after its own outputs.
    pub fn with_outputs(&self, names: &[String]) -> Model {
        let mut model = self.clone();
        model.outputs.extend(names.iter().cloned());
        model
    }

    /// A copy in which each named value is the given constant instead of what its node computes:
    /// the node goes, and what only fed it is left for the planner to drop.
    pub fn with_values_fixed(&self, values: Vec<(String, Tensor)>) -> Result<Model> {
        let mut model = self.clone();
        for (name, value) in values {
            let producer = model
                .nodes
                .iter()
                .position(|n| n.outputs == [name.as_str()])
                .ok_or_else(|| Error::Model(format!("no node computes '{name}' alone, so it cannot be fixed")))?;
            model.nodes.remove(producer);
            model.initializers.insert(name, value);
        }
        Ok(model)
    }
}

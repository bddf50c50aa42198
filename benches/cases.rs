//! The models every native bench times, each at the size the product runs it, with its inputs.

use std::path::Path;
use std::time::Instant;

use lantern_engine::{Backend, Device, Session, Tensor};

pub struct Case {
    pub model: &'static str,
    pub inputs: &'static [(&'static str, &'static [usize])],
    /// The outputs the product uses; side outputs are not timed.
    pub outputs: &'static [&'static str],
}

pub const CASES: &[Case] = &[
    Case { model: "u2netp", inputs: &[("input.1", &[1, 3, 320, 320])], outputs: &["1959"] },
    Case { model: "isnet-medium", inputs: &[("input", &[1, 3, 1024, 1024])], outputs: &["output"] },
    Case { model: "ppocrv6-tiny-det", inputs: &[("x", &[1, 3, 960, 960])], outputs: &["fetch_name_0"] },
    Case { model: "ppocrv6-tiny-rec", inputs: &[("x", &[8, 3, 48, 320])], outputs: &["fetch_name_0"] },
    Case { model: "ppocrv6-small-det", inputs: &[("x", &[1, 3, 960, 960])], outputs: &["fetch_name_0"] },
    Case { model: "ppocrv6-small-rec", inputs: &[("x", &[8, 3, 48, 320])], outputs: &["fetch_name_0"] },
    Case {
        model: "multistyle26",
        inputs: &[("image", &[1, 3, 512, 512]), ("style_weights", &[26])],
        outputs: &["stylized"],
    },
];

impl Case {
    /// Each input's name and shape, as `Model::plan` takes them.
    pub fn shapes(&self) -> Vec<(&'static str, &'static [usize])> {
        self.inputs.to_vec()
    }

    /// The case's inputs, also written into `dir` as `<input name>.npy` for onnxruntime to read.
    pub fn write_inputs(&self, dir: &Path) -> Vec<Tensor> {
        std::fs::create_dir_all(dir).expect("scratch folder");
        self.inputs
            .iter()
            .map(|(name, shape)| {
                let t = input(name, shape);
                t.write_npy(dir.join(format!("{name}.npy"))).expect("write input");
                t
            })
            .collect()
    }
}

/// A smooth, deterministic image-like input in [-1, 1] (or a one-hot style vector).
fn input(name: &str, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = if name == "style_weights" {
        (0..n).map(|i| if i == 3 { 1.0 } else { 0.0 }).collect()
    } else {
        (0..n).map(|i| ((i as f32 * 0.013).sin() * (i as f32 * 0.00071).cos()).clamp(-1.0, 1.0)).collect()
    };
    Tensor::from_vec(data, shape, &Device::Cpu).expect("shape matches data")
}

/// Time per op kind over one run, largest first: where the engine spends its time.
pub fn profile<B: Backend>(session: &Session<B>, inputs: &[Tensor]) -> Vec<(String, f64)> {
    // The backend's own kernel names ("Conv 3x3 winograd"), as the browser bench's profile gives them.
    let labels = session.step_labels();
    let mut totals: Vec<(String, f64)> = Vec::new();
    let mut last = Instant::now();
    session
        .run_with(inputs, &mut |done, _| {
            let now = Instant::now();
            let op = labels[done - 1].clone();
            let ms = (now - last).as_secs_f64() * 1000.0;
            match totals.iter_mut().find(|(name, _)| *name == op) {
                Some(entry) => entry.1 += ms,
                None => totals.push((op, ms)),
            }
            last = now;
            true
        })
        .expect("run");
    totals.sort_by(|a, b| b.1.total_cmp(&a.1));
    totals
}

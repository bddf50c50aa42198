//! The models every native bench times, each at the size the product runs it, with its inputs.

use lantern_engine::{Device, Tensor};

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

/// A smooth, deterministic image-like input in [-1, 1] (or a one-hot style vector).
pub fn input(name: &str, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = if name == "style_weights" {
        (0..n).map(|i| if i == 3 { 1.0 } else { 0.0 }).collect()
    } else {
        (0..n).map(|i| ((i as f32 * 0.013).sin() * (i as f32 * 0.00071).cos()).clamp(-1.0, 1.0)).collect()
    };
    Tensor::from_vec(data, shape, &Device::Cpu).expect("shape matches data")
}

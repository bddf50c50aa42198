//! Cartoonify's model conventions read from manifest entries: a self-hoster's AnimeGANv2 entry
//! becomes the AnimeGAN preset, and an entry that is neither convention is refused.

use lantern_engine::CpuBackend;
use lantern_models::{Manifest, Model, cache_dir};
use lantern_tools::ToolError;
use lantern_tools::cartoonify::{Cartoonifier, StyleModel};

/// A cartoonify entry with a local file and the given preprocess and postprocess table bodies.
fn cartoonify_entry(preprocess: &str, postprocess: &str) -> Model {
    let text = format!(
        r#"
        [[model]]
        id = "animegan-hayao"
        tool = "cartoonify"
        title = "AnimeGANv2 Hayao"
        default = true
        file = "own/Hayao.onnx"
        sha256 = "{}"
        size = 1
        licence = "MIT"
        input = [1, 3, 0, 0]
        [model.preprocess]
        {preprocess}
        [model.postprocess]
        {postprocess}
        "#,
        "0".repeat(64)
    );
    Manifest::parse(&text).unwrap().models.remove(0)
}

const ANIMEGAN_PREPROCESS: &str = r#"
    colour = "rgb"
    scale = "unit"
    mean = [0.5, 0.5, 0.5]
    std = [0.5, 0.5, 0.5]
    multiple = 8
"#;

fn style_model(model: &Model) -> Result<StyleModel, ToolError> {
    StyleModel::from_manifest(&model.preprocess, &model.postprocess)
}

#[test]
fn the_animegan_convention_gives_the_animegan_preset() {
    let entry = cartoonify_entry(ANIMEGAN_PREPROCESS, r#"range = "tanh""#);
    assert_eq!(style_model(&entry).unwrap(), StyleModel::AnimeGan);
    let with_max_side = cartoonify_entry(&format!("{ANIMEGAN_PREPROCESS}\nmax_side = 1024"), r#"range = "tanh""#);
    assert_eq!(style_model(&with_max_side).unwrap(), StyleModel::AnimeGan);
}

#[test]
fn the_animegan_preset_from_the_manifest_runs_an_animegan_graph() {
    let path = cache_dir().join("models/animegan-arch.onnx");
    let onnx = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run `just references`", path.display()));
    let entry = cartoonify_entry(ANIMEGAN_PREPROCESS, r#"range = "tanh""#);
    let cartoonifier = Cartoonifier::new(&onnx, style_model(&entry).unwrap(), CpuBackend).unwrap();
    assert_eq!(cartoonifier.working_size(2000, 1000, None), (1024, 512));
}

#[test]
fn any_other_convention_is_refused() {
    let tanh = r#"range = "tanh""#;
    let wrong = [
        (ANIMEGAN_PREPROCESS.replace("\"rgb\"", "\"bgr\""), tanh.to_string()),
        (ANIMEGAN_PREPROCESS.replace("\"unit\"", "\"raw\""), tanh.to_string()),
        (ANIMEGAN_PREPROCESS.replace("std = [0.5, 0.5, 0.5]", "std = [0.25, 0.25, 0.25]"), tanh.to_string()),
        (ANIMEGAN_PREPROCESS.replace("mean = [0.5, 0.5, 0.5]", ""), tanh.to_string()),
        (ANIMEGAN_PREPROCESS.replace("multiple = 8", "multiple = 4"), tanh.to_string()),
        (ANIMEGAN_PREPROCESS.replace("multiple = 8", "pad_multiple = 8"), tanh.to_string()),
        (format!("{ANIMEGAN_PREPROCESS}\nmax_side = 512"), tanh.to_string()),
        (ANIMEGAN_PREPROCESS.to_string(), r#"range = "unit""#.to_string()),
        (ANIMEGAN_PREPROCESS.to_string(), String::new()),
        (ANIMEGAN_PREPROCESS.to_string(), format!("{tanh}\noutput = \"out\"")),
    ];
    for (preprocess, postprocess) in wrong {
        let entry = cartoonify_entry(&preprocess, &postprocess);
        let result = style_model(&entry);
        assert!(
            matches!(&result, Err(ToolError::Model(reason)) if reason.contains("AnimeGAN convention") && reason.contains("This entry has preprocess {")),
            "{preprocess} / {postprocess}: {result:?}"
        );
    }
}

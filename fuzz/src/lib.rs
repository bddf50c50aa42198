//! What each fuzz target does with its input: the same calls the site makes on what a person
//! gives it. `fuzz_targets/` hands libFuzzer's inputs to these; `tests/replay.rs` runs the seeds
//! and every input that once crashed, hung or ran out of memory through them in `just test`.

use lantern_engine::{CpuBackend, Device, Dim, Model, Session, Tensor, element_count};

/// Inputs a planned model may take: a fuzzed graph may claim any size, and the point is what the
/// engine does with the graph, not how long a huge convolution takes.
const MAX_INPUT_ELEMENTS: usize = 1 << 16;
/// Activations and outputs a fuzzed model may plan before it is run: larger plans are only
/// planned. A 12 M-element transposed conv, and a 3 M-element one as an output, took over the 1 s
/// hang bar under AddressSanitizer: real work, not hangs.
const MAX_PLANNED_FLOATS: usize = 1 << 20;

/// Pixels a fuzzed image may claim and still be decoded, rather than refused for its size. The
/// site decodes up to 40 MP, but a 36 MP JPEG of 577 bytes took 0.6 s under AddressSanitizer,
/// near the 1 s hang bar: more pixels are the same code over more data.
const MAX_DECODED_PIXELS: u64 = 4_000_000;

/// A dropped file, decoded as every tool decodes it (PNG, JPEG, WebP, GIF, BMP, TIFF). Each
/// target says whether the input got all the way through, so the replay test can tell that its
/// seeds do.
pub fn decode_image(data: &[u8]) -> bool {
    let claimed = lantern_tools::input::claimed_size(data).map_or(0, |(w, h)| u64::from(w) * u64::from(h));
    if claimed > MAX_DECODED_PIXELS && claimed <= lantern_tools::input::MAX_PIXELS {
        return false;
    }
    lantern_tools::input::decode(data).is_ok()
}

/// A "your own model" file: loaded, planned at a small size (named dimensions as 8) and, where
/// the plan is small, run on the CPU on zeros.
pub fn own_model(data: &[u8]) -> bool {
    let Ok(model) = Model::from_bytes(data) else { return false };
    let shapes: Vec<(String, Vec<usize>)> = model
        .inputs
        .iter()
        .map(|input| {
            let dims = input.dims.iter().map(|d| if let Dim::Fixed(n) = d { *n } else { 8 }).collect();
            (input.name.clone(), dims)
        })
        .collect();
    if shapes.iter().any(|(_, dims)| element_count(dims).is_none_or(|n| n > MAX_INPUT_ELEMENTS)) {
        return false;
    }
    let named: Vec<(&str, &[usize])> = shapes.iter().map(|(name, dims)| (name.as_str(), dims.as_slice())).collect();
    let Ok(plan) = model.plan(&named, None) else { return false };
    // The plan's outputs live outside its shared buffers.
    let outputs: usize = plan.outputs.iter().map(|o| o.shape.iter().product::<usize>()).sum();
    if plan.buffers.iter().sum::<usize>() + outputs > MAX_PLANNED_FLOATS {
        return false;
    }
    let inputs: Vec<Tensor> = plan
        .inputs
        .iter()
        .filter_map(|input| Tensor::zeros(input.shape.as_slice(), lantern_engine::DType::F32, &Device::Cpu).ok())
        .collect();
    let Ok(session) = Session::new(plan, CpuBackend) else { return false };
    session.run(&inputs).is_ok()
}

/// A models manifest or a self-hoster's `local.toml`, as text.
pub fn manifest(data: &[u8]) -> bool {
    std::str::from_utf8(data).is_ok_and(|text| lantern_models::Manifest::parse(text).is_ok())
}

/// An OCR recogniser's dictionary, one character per line.
pub fn dictionary(data: &[u8]) -> bool {
    std::str::from_utf8(data).is_ok_and(|text| lantern_tools::image_to_text::dictionary_classes(text, true).len() > 2)
}

/// Lines a parsed Tesseract model reads, `(width, height)`: a dot, a short line, a tall crop, a
/// square. The input's last byte picks one.
const TESSERACT_LINES: [(usize, usize); 4] = [(1, 1), (12, 4), (5, 15), (9, 9)];

/// The tallest input the reader accepts from a model, in pixels.
const MAX_MODEL_HEIGHT: usize = 256;

/// Pixels a line may have once scaled to the model's height and still be read. A model may ask for
/// lines up to 256 pixels high, and a line's pixels grow with the square of that height: a 48×16
/// line cut to one row of ink is 0.6 s to read under AddressSanitizer at a height of 36 with a
/// published model's convolution, 24 s at 256. That is the same code over more pixels, so taller
/// models are parsed but read only the lines that stay this small.
const MAX_SCALED_PIXELS: usize = 12_000;

/// A self-hoster's Tesseract model: cut to what the reader uses (`lstm_only`, as the models tool
/// cuts it before its checksum), then `Recogniser::from_traineddata`, and where it parses, one line
/// read as the site reads a detected line (cut to its ink, given Tesseract's margin, read upright
/// and inverted). The line's pixels are the bytes before the last: Tesseract's files end in their
/// version string, which the reader skips, so the line is fuzzed with the file.
///
/// # Panics
/// If a model that parses does not parse once cut, or is taller than the reader allows.
pub fn traineddata(data: &[u8]) -> bool {
    use lantern_tesseract::Recogniser;
    let cut = lantern_tesseract::lstm_only(data);
    let Ok(recogniser) = Recogniser::from_traineddata(data) else { return false };
    assert!(
        cut.is_ok_and(|cut| Recogniser::from_traineddata(&cut).is_ok()),
        "the model parses, but not once cut to what the reader uses"
    );
    let Some((&pick, rest)) = data.split_last() else { return false };
    let (width, height) = TESSERACT_LINES[usize::from(pick) % TESSERACT_LINES.len()];
    // Cut to its ink and given a margin of at least a pixel, a line is at most (width + 2) / 3 as
    // wide as it is high (one row of ink); a line without ink keeps its own shape.
    let aspect = (width as f64 / height as f64).max((width + 2) as f64 / 3.0);
    // The reader refuses taller models (a height of 16 M once asked for petabytes): were that
    // lost, the cap below would hide it.
    let model_height = recogniser.input_height();
    assert!(model_height <= MAX_MODEL_HEIGHT, "a model {model_height} pixels high parses");
    if model_height * (model_height as f64 * aspect).ceil() as usize <= MAX_SCALED_PIXELS {
        let tail = &rest[rest.len().saturating_sub(width * height)..];
        let pixels = tail.iter().copied().chain(std::iter::repeat(255)).take(width * height).collect();
        recogniser.recognise_detected(&lantern_tesseract::GreyImage::new(width, height, pixels));
    }
    true
}

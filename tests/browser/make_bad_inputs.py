"""Writes the files of the bad-input browser test (bad-input.test.js) into `--out`: images and
own models a person may drop that are damaged, odd or not what they seem, each small. Run by the
test itself with the reference environment (Pillow, onnx); nothing it writes is committed."""

import argparse
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image


def encoded(image, kind, **options):
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def png_claiming(width, height, padding):
    """A PNG whose header claims `width`×`height`, followed by `padding` bytes of empty data."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", bytes(padding)) + chunk(b"IEND", b"")


def animegan_shaped(name, nodes, initializers):
    """An image-in, image-out network of AnimeGANv2's shape: [1, 3, h, w] to [1, 3, h, w]."""
    image = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])
    graph = helper.make_graph(nodes, name, [image], [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def images():
    rng = np.random.default_rng(11)
    y, x = np.mgrid[0:64, 0:96]
    photo = Image.fromarray(np.stack([x * 2, y * 3, (x + y) % 256], axis=-1).astype(np.uint8))
    png = encoded(photo, "PNG")
    jpeg = encoded(photo, "JPEG", quality=90)
    webp = encoded(photo, "WEBP", quality=80)
    frames = [Image.fromarray(rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)) for _ in range(2)]
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    heic = struct.pack(">I", 24) + b"ftypheic" + bytes(4) + b"mif1heic" + bytes(1000)
    return {
        "empty.png": b"",
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": jpeg[: len(jpeg) * 2 // 3],
        "truncated.webp": webp[: len(webp) // 2],
        "truncated.gif": gif[: len(gif) // 2],
        "png-named.jpg": png,
        "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        "photo.heic": heic,
        "claims-100000x100000.png": png_claiming(100_000, 100_000, 1000),
        "zero-wide.png": png_claiming(0, 16, 10),
        "one-pixel.png": encoded(photo.crop((0, 0, 1, 1)), "PNG"),
        "1x40000.png": encoded(photo.crop((0, 0, 1, 1)).resize((1, 40_000)), "PNG"),
        "animated.gif": gif,
        "cmyk.jpg": encoded(photo.convert("CMYK"), "JPEG"),
        "sixteen-bit.png": encoded(Image.fromarray((np.asarray(photo.convert("L"), dtype=np.uint16) * 257)), "PNG"),
        "exif-turned.jpg": encoded(photo.crop((0, 0, 30, 20)), "JPEG", exif=exif.tobytes()),
    }


def models():
    # Einsum: a real ONNX op that no Lantern network uses, so the engine has no kernel for it.
    unsupported = animegan_shaped(
        "unsupported",
        [helper.make_node("Einsum", ["input"], ["output"], equation="nchw->nchw")],
        [],
    )
    # Gives 0..255 where AnimeGANv2 gives −1..1: 127.5·x + 127.5 on each channel.
    weight = numpy_helper.from_array((np.eye(3, dtype=np.float32) * 127.5).reshape(3, 3, 1, 1), "weight")
    bias = numpy_helper.from_array(np.full(3, 127.5, dtype=np.float32), "bias")
    bytes_out = animegan_shaped(
        "bytes-out", [helper.make_node("Conv", ["input", "weight", "bias"], ["output"])], [weight, bias]
    )
    return {
        "not-a-model.onnx": b"GIF89a this is a picture renamed, not a network",
        "unsupported-op.onnx": unsupported,
        "output-0-255.onnx": bytes_out,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, data in {**images(), **models()}.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main()

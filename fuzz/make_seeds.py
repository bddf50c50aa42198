"""Writes the fuzz targets' seed corpora into `--out`, one folder per target: small valid inputs
of every kind each target reads, so libFuzzer starts from real structure. The manifest target
starts from the real files in models/ instead. `just fuzz-seeds` runs it with the reference
environment into `$LANTERN_CACHE/fuzz/seeds`; nothing it writes is committed (the ONNX seeds are
models, and models are never committed)."""

import argparse
import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image



def folder(out, name):
    path = out / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def images(root):
    out = folder(root, "decode")
    rng = np.random.default_rng(7)
    rgb = Image.fromarray(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 256, (4, 5, 4), dtype=np.uint8))
    grey16 = Image.fromarray(rng.integers(0, 65536, (4, 5), dtype=np.uint16))
    saves = {
        "rgba.png": (rgba, "PNG", {}),
        "grey16.png": (grey16, "PNG", {}),
        "palette.png": (rgb.convert("P"), "PNG", {}),
        "baseline.jpg": (rgb, "JPEG", {"quality": 90}),
        "progressive.jpg": (rgb, "JPEG", {"progressive": True}),
        "cmyk.jpg": (rgb.convert("CMYK"), "JPEG", {}),
        "lossy.webp": (rgb, "WEBP", {"quality": 80}),
        "lossless.webp": (rgba, "WEBP", {"lossless": True}),
        "image.bmp": (rgb, "BMP", {}),
        "image.tiff": (rgb, "TIFF", {}),
    }
    for name, (image, kind, options) in saves.items():
        image.save(out / name, kind, **options)
    # Turned by its EXIF orientation (6: a quarter clockwise).
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb.save(out / "exif-turned.jpg", "JPEG", exif=exif.tobytes())
    frames = [Image.fromarray(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)) for _ in range(2)]
    frames[0].save(out / "animated.gif", "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def graph_model(name, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def tensor(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def weights(name, shape, seed):
    return numpy_helper.from_array(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def models(root):
    out = folder(root, "model")
    x = tensor("x", [1, 3, 8, 8])
    seeds = {
        "conv-relu-pool": graph_model(
            "conv",
            [
                helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                helper.make_node("Relu", ["c"], ["r"]),
                helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
            ],
            [x],
            [tensor("y", [1, 4, 4, 4])],
            [weights("w", [4, 3, 3, 3], 1), weights("b", [4], 2)],
        ),
        "concat-resize": graph_model(
            "decoder",
            [
                helper.make_node("Conv", ["x", "w"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1], group=3),
                helper.make_node("Resize", ["c", "", "scales"], ["u"], mode="linear"),
                helper.make_node("Concat", ["u", "x"], ["y"], axis=1),
            ],
            [x],
            [tensor("y", [1, 6, 8, 8])],
            [weights("w", [3, 1, 3, 3], 3), numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")],
        ),
        "pad-instancenorm-tanh": graph_model(
            "style",
            [
                helper.make_node("Pad", ["x", "pads"], ["p"], mode="reflect"),
                helper.make_node("InstanceNormalization", ["p", "s", "b"], ["n"], epsilon=1e-5),
                helper.make_node("ConvTranspose", ["n", "w"], ["t"], strides=[2, 2]),
                helper.make_node("Tanh", ["t"], ["y"]),
            ],
            [x],
            [tensor("y", [1, 2, 24, 24])],
            [ints("pads", [0, 0, 2, 2, 0, 0, 2, 2]), weights("s", [3], 4), weights("b", [3], 5), weights("w", [3, 2, 2, 2], 6)],
        ),
        "matmul-softmax-layout": graph_model(
            "text",
            [
                helper.make_node("Reshape", ["x", "shape"], ["r"]),
                helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
                helper.make_node("MatMul", ["t", "w"], ["m"]),
                helper.make_node("Softmax", ["m"], ["s"], axis=-1),
                helper.make_node("ReduceMean", ["s"], ["y"], axes=[1], keepdims=0),
            ],
            [x],
            [tensor("y", [1, 5])],
            [ints("shape", [1, 3, 64]), weights("w", [3, 5], 7)],
        ),
        "dynamic-size": graph_model(
            "dynamic",
            [
                helper.make_node("Shape", ["x"], ["s"]),
                helper.make_node("Gather", ["s", "two"], ["h"], axis=0),
                helper.make_node("Slice", ["x", "start", "end", "axes"], ["c"]),
                helper.make_node("Sigmoid", ["c"], ["y"]),
            ],
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "height", "width"])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, "height", "width"])],
            [ints("two", 2), ints("start", [1]), ints("end", [3]), ints("axes", [1])],
        ),
    }
    for name, data in seeds.items():
        (out / f"{name}.onnx").write_bytes(data)


def dictionaries(root):
    out = folder(root, "dictionary")
    (out / "latin.txt").write_text("a\nb\nc\nA\n0\n.\n,\n", encoding="utf-8")
    (out / "windows-lines.txt").write_bytes("é\r\nß\r\n€\r\n".encode())
    (out / "cjk.txt").write_text("的\n一\n是\n不\n了\n", encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    root = parser.parse_args().out
    images(root)
    models(root)
    dictionaries(root)

"""Writes the fuzz targets' seed corpora into `--out`, one folder per target: small valid inputs
of every kind each target reads, so libFuzzer starts from real structure. The manifest target
starts from the real files in models/ instead. `just fuzz-seeds` runs it with the reference
environment into `$LANTERN_CACHE/fuzz/seeds`; nothing it writes is committed (the ONNX and
Tesseract seeds are models, and models are never committed)."""

import argparse
import shutil
import struct
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


# Tesseract `.traineddata` files, written as libtesseract serialises them (TessdataManager's offset
# table, then the components; the `lstm` component a tree of layers as Network::Serialize writes it).
# Component indices as Tesseract numbers them.
CONFIG, LSTM, LSTM_UNICHARSET, LSTM_RECODER, VERSION = 0, 17, 21, 22, 23
# Layer flag: a Series stores a learning rate per child after its children.
LEARNING_RATES = 64


def le(fmt, *values):
    return struct.pack("<" + fmt, *values)


def tess_string(text):
    data = text.encode()
    return le("I", len(data)) + data


def layer(kind, inputs, outputs, body, flags=0, name=None):
    """A layer's common header (by name, not number; trained; no backprop), then its own fields."""
    header = le("b", 0) + tess_string(kind) + le("bbiiii", 0, 0, flags, inputs, outputs, 0)
    return header + tess_string(name or kind) + body


def series(kind, inputs, outputs, children, rates=False):
    body = le("I", len(children)) + b"".join(children)
    if rates:
        body += le("I", len(children)) + le(f"{len(children)}f", *[1e-3] * len(children))
    return layer(kind, inputs, outputs, body, flags=LEARNING_RATES if rates else 0)


def matrix(rows, inputs, rng):
    """An int8 weight matrix with its bias column, in mode 133 (int8, Adam, double scales), its
    scales padded to a block of 4 rows as SIMD builds of Tesseract write them."""
    weights = rng.integers(-127, 128, (rows, inputs + 1), dtype=np.int8)
    scales = rng.uniform(0.002, 0.02, -(-rows // 4) * 4)
    return (
        le("BIIb", 133, rows, inputs + 1, 0)
        + weights.tobytes()
        + le("I", len(scales))
        + le(f"{len(scales)}d", *scales)
    )


def fully_connected(kind, inputs, outputs, rng):
    return layer(kind, inputs, outputs, matrix(outputs, inputs, rng))


def lstm(kind, inputs, cells, rng):
    gates = b"".join(matrix(cells, inputs + cells, rng) for _ in range(4))
    return layer(kind, inputs, cells, le("i", inputs + cells) + gates)


def network(rng, height, half_x, half_y, features, pool, lstms, classes, null_char, rates=False):
    """The template every published LSTM model follows: input, convolution and tanh, max-pool, a
    summarising LSTM down each column, LSTMs along the line (`(cells, right_to_left)`), softmax."""
    window = (2 * half_x + 1) * (2 * half_y + 1)
    conv = series(
        "Series",
        1,
        features,
        [layer("Convolve", 1, window, le("ii", half_x, half_y)), fully_connected("Tanh", window, features, rng)],
    )
    summary_cells = lstms[0][0]
    layers = [
        layer("Input", height, 1, le("5i", 1, height, 0, 1, 0)),
        conv,
        layer("Maxpool", features, features, le("ii", *pool)),
        series("XYTranspose", features, summary_cells, [lstm("SummLSTM", features, summary_cells, rng)]),
    ]
    width = summary_cells
    for cells, right_to_left in lstms[1:]:
        line = lstm("LSTM", width, cells, rng)
        layers.append(series("RTLReversed", width, cells, [line]) if right_to_left else line)
        width = cells
    layers.append(fully_connected("Softmax", width, classes, rng))
    spec = f"[1,{height},0,1Ct{2 * half_y + 1},{2 * half_x + 1},{features}Mp{pool[1]},{pool[0]}O1c1]"
    trailer = tess_string(spec) + le("4i3f", 65, 1000, 1000, null_char, 0.999, 1e-3, 0.5)
    return series("Series", 1, classes, layers, rates=rates) + trailer


def recoder(codes):
    return le("I", len(codes)) + b"".join(le("bi", 1, len(code)) + le(f"{len(code)}i", *code) for code in codes)


def traineddata_file(components, count=24):
    """The offset table (-1 for an absent component), then the components in index order."""
    offsets, body = [-1] * count, b""
    for index in sorted(components):
        offsets[index] = 4 + 8 * count + len(body)
        body += components[index]
    return le("I", count) + le(f"{count}q", *offsets) + body


def line_tail(width, height, size_pick):
    """The bytes the fuzz target makes its line from: a `width × height` grey line of dark strokes on
    a light ground, then the byte that picks that size from the target's list."""
    x = np.arange(width)
    y = np.arange(height)[:, None]
    ink = ((x % 3 < 2) & (y >= height // 4) & (y < height - height // 4)) | ((x % 4 == 3) & (y >= height // 2))
    return np.where(ink, 30, 225).astype(np.uint8).tobytes() + bytes([size_pick])


UNICHAR_PROPERTIES = "0,255,0,255,0,0,0,0,0,0"
SPECIAL_UNICHARS = [
    "NULL 0 Common 0",
    f"Joined 7 {UNICHAR_PROPERTIES} Latin 1 0 1 Joined\t# Joined [4a 6f 69 6e 65 64 ]a",
    f"|Broken|0|1 f {UNICHAR_PROPERTIES} Common 2 10 2 |Broken|0|1\t# Broken",
]


def unicharset(characters):
    lines = SPECIAL_UNICHARS + [
        f"{c} 3 {UNICHAR_PROPERTIES} {script} {i + 3} 0 {i + 3} {c}\t# {c} [{ord(c[0]):x} ]x"
        for i, (c, script) in enumerate(characters)
    ]
    return f"{len(lines)}\n" + "\n".join(lines) + "\n"


def read_components(path):
    data = path.read_bytes()
    (count,) = struct.unpack_from("<I", data)
    offsets = struct.unpack_from(f"<{count}q", data, 4)
    starts = sorted(offset for offset in offsets if offset != -1) + [len(data)]
    return {
        index: data[offset : starts[starts.index(offset) + 1]]
        for index, offset in enumerate(offsets)
        if offset != -1
    }


def traineddata(root, models):
    """Small models in every shape the reader takes: made-up networks of a few cells over made-up
    character sets and (where one is cached) a real one. Each but the minimal one ends in a
    `version` component holding the line the fuzz target reads with it."""
    out = folder(root, "traineddata")
    rng = np.random.default_rng(11)
    # Latin: one code per character, the blank after them; a right-to-left LSTM along the line.
    latin = [(c, "Latin") for c in "abcdeoø.,"] + [("fi", "Latin")]
    latin_codes = [[0], [12], [12]] + [[i + 1] for i in range(len(latin))]
    latin_set = unicharset(latin).encode()
    (out / "latin-rtl-lstm.traineddata").write_bytes(
        traineddata_file(
            {
                LSTM: network(rng, 12, 1, 1, 4, (3, 3), [(4, False), (6, False), (5, True)], 13, 12),
                LSTM_UNICHARSET: latin_set,
                LSTM_RECODER: recoder(latin_codes),
                VERSION: b"4.1.0:seed" + line_tail(12, 4, 1),
            }
        )
    )
    # Hangul: characters of two and three codes sharing prefixes, as the recoder spells large sets;
    # a wider convolution window, a 2×2 pool, learning rates stored, a config with both lists.
    hangul = [("가", "Hangul"), ("각", "Hangul"), ("나", "Hangul"), ("1", "Common"), ("a", "Latin")]
    hangul_codes = [[0], [8], [8], [2, 3], [2, 3, 4], [5, 3], [6], [7]]
    config = "# a comment\ntessedit_char_blacklist 1\ntessedit_char_whitelist 가각a\nload_system_dawg\t0\n"
    (out / "hangul-config.traineddata").write_bytes(
        traineddata_file(
            {
                CONFIG: config.encode(),
                LSTM: network(rng, 16, 2, 1, 3, (2, 2), [(3, False), (4, False)], 9, 8, rates=True),
                LSTM_UNICHARSET: unicharset(hangul).encode(),
                LSTM_RECODER: recoder(hangul_codes),
                VERSION: b"5.3.0:seed" + line_tail(9, 9, 3),
            }
        )
    )
    # The smallest network the template allows: a 1×1 window, one cell per layer, no line LSTMs,
    # a model without special unichars or version (the line is made from the recoder's bytes).
    plain_set = "3\nNULL 0 Common 0\nx 3 Latin\ny 3 Latin\n"
    (out / "minimal.traineddata").write_bytes(
        traineddata_file(
            {
                LSTM: network(rng, 3, 0, 0, 1, (1, 1), [(1, False)], 4, 3),
                LSTM_UNICHARSET: plain_set.encode(),
                LSTM_RECODER: recoder([[0], [1], [2]]),
            }
        )
    )
    # A real character set and config, the smallest cached model's, under a made-up network of a
    # few cells. Real networks (0.3-1.6 MB) and large sets (Korean's 0.1 MB) are left out: with
    # them in the corpus libFuzzer ran 34 inputs a second, its corpus grown to 49 MB of their
    # mutants, and they reach no code the small ones miss.
    models = sorted(models.glob("tesseract-*.traineddata"), key=lambda path: path.stat().st_size) if models else []
    for model in models[:1]:
        components = read_components(model)
        # The network's trailer ends in the blank's index and three floats.
        (null_char,) = struct.unpack_from("<i", components[LSTM], len(components[LSTM]) - 16)
        codes = components[LSTM_RECODER]
        (count,) = struct.unpack_from("<I", codes)
        position, largest = 4, 0
        for _ in range(count):
            (length,) = struct.unpack_from("<i", codes, position + 1)
            largest = max(largest, *struct.unpack_from(f"<{length}i", codes, position + 5))
            position += 5 + 4 * length
        classes = max(largest, null_char) + 1
        made_up = {
            LSTM: network(rng, 36, 1, 1, 2, (3, 3), [(2, False), (3, True)], classes, null_char),
            LSTM_UNICHARSET: components[LSTM_UNICHARSET],
            LSTM_RECODER: codes,
            VERSION: components.get(VERSION, b"") + line_tail(5, 15, 2),
        }
        if CONFIG in components:
            made_up[CONFIG] = components[CONFIG]
        name = model.stem.removeprefix("tesseract-")
        (out / f"{name}-charset.traineddata").write_bytes(traineddata_file(made_up))

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--models", type=Path, help="the model cache, for real Tesseract models' character sets")
    arguments = parser.parse_args()
    root = arguments.out
    images(root)
    models(root)
    dictionaries(root)
    traineddata(root, arguments.models)

"""Build an ONNX graph with the AnimeGANv2 generator architecture and random weights.

The layout follows the published PyTorch port (bryandlee/animegan2-pytorch, model.py)
and the node patterns follow what torch.onnx.export emits at opset 17, so the engine
is exercised on the same op sequence as a real exported AnimeGANv2 model without
needing the trained weights (or torch) here.

Usage: python animegan_arch.py --out animegan-arch.onnx --seed 7
"""

import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# torch.onnx.export writes IR version 8 for opset 17; matching it keeps older readers happy.
IR_VERSION = 8
LEAKY_SLOPE = 0.2
GROUP_NORM_EPSILON = 1e-5


class GraphBuilder:
    """Collects nodes and initializers with unique, readable names."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.nodes = []
        self.initializers = []
        self.used_names = set()

    def unique(self, name: str) -> str:
        candidate, index = name, 1
        while candidate in self.used_names:
            candidate = f"{name}_{index}"
            index += 1
        self.used_names.add(candidate)
        return candidate

    def constant(self, name: str, array: np.ndarray) -> str:
        name = self.unique(name)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op_type: str, inputs, name: str, output: str | None = None, **attributes) -> str:
        node_name = self.unique(name)
        output = output or node_name + ".out"
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=node_name, **attributes))
        return output

    # --- layers -------------------------------------------------------------------

    def conv(self, x, in_ch, out_ch, kernel, name, stride=1, groups=1, bias=False, gain=1.0):
        fan_in = (in_ch // groups) * kernel * kernel
        # He initialisation keeps the pre-norm activations near unit variance.
        std = gain * np.sqrt(2.0 / fan_in)
        weight = (self.rng.standard_normal((out_ch, in_ch // groups, kernel, kernel)) * std).astype(np.float32)
        inputs = [x, self.constant(name + ".weight", weight)]
        if bias:
            inputs.append(self.constant(name + ".bias", (self.rng.standard_normal(out_ch) * 0.1).astype(np.float32)))
        return self.node(
            "Conv",
            inputs,
            name,
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=[0, 0, 0, 0],
            dilations=[1, 1],
            group=groups,
        )

    def reflect_pad(self, x, top, left, bottom, right, name):
        pads = np.array([0, 0, top, left, 0, 0, bottom, right], dtype=np.int64)
        return self.node("Pad", [x, self.constant(name + ".pads", pads)], name, mode="reflect")

    def group_norm(self, x, channels, name):
        # torch's exporter (opset 11-17) lowers GroupNorm(1, C) to Reshape -> InstanceNorm -> Reshape -> Mul -> Add.
        groups = 1
        grouped_shape = self.constant(name + ".grouped_shape", np.array([0, groups, -1], dtype=np.int64))
        grouped = self.node("Reshape", [x, grouped_shape], name + ".reshape_grouped")
        normalised = self.node(
            "InstanceNormalization",
            [
                grouped,
                self.constant(name + ".instance_scale", np.ones(groups, dtype=np.float32)),
                self.constant(name + ".instance_bias", np.zeros(groups, dtype=np.float32)),
            ],
            name + ".instance_norm",
            epsilon=GROUP_NORM_EPSILON,
        )
        input_shape = self.node("Shape", [x], name + ".input_shape")
        restored = self.node("Reshape", [normalised, input_shape], name + ".reshape_back")
        # Affine parameters away from 1/0 so a wrong broadcast shows up in the outputs.
        gamma = (1.0 + 0.1 * self.rng.standard_normal((channels, 1, 1))).astype(np.float32)
        beta = (0.1 * self.rng.standard_normal((channels, 1, 1))).astype(np.float32)
        scaled = self.node("Mul", [restored, self.constant(name + ".weight", gamma)], name + ".scale")
        return self.node("Add", [scaled, self.constant(name + ".bias", beta)], name + ".shift")

    def conv_norm_lrelu(self, x, in_ch, out_ch, name, kernel=3, stride=1, padding=(1, 1, 1, 1), groups=1, bias=False):
        """ReflectionPad2d + Conv2d + GroupNorm(1, C) + LeakyReLU(0.2); padding is (top, left, bottom, right)."""
        if any(padding):
            x = self.reflect_pad(x, *padding, name=name + ".pad")
        x = self.conv(x, in_ch, out_ch, kernel, name + ".conv", stride=stride, groups=groups, bias=bias)
        x = self.group_norm(x, out_ch, name + ".norm")
        return self.node("LeakyRelu", [x], name + ".lrelu", alpha=LEAKY_SLOPE)

    def inverted_res_block(self, x, in_ch, out_ch, name, expansion_ratio=2):
        bottleneck = int(round(in_ch * expansion_ratio))
        out = self.conv_norm_lrelu(x, in_ch, bottleneck, name + ".expand", kernel=1, padding=(0, 0, 0, 0))
        out = self.conv_norm_lrelu(out, bottleneck, bottleneck, name + ".depthwise", groups=bottleneck, bias=True)
        out = self.conv(out, bottleneck, out_ch, 1, name + ".project")
        out = self.group_norm(out, out_ch, name + ".project_norm")
        if in_ch == out_ch:
            out = self.node("Add", [x, out], name + ".residual")
        return out

    def resize_scale2_half_pixel(self, x, name):
        # F.interpolate(scale_factor=2, mode="bilinear", align_corners=False) exports as scales + half_pixel.
        roi = self.constant(name + ".roi", np.array([], dtype=np.float32))
        scales = self.constant(name + ".scales", np.array([1.0, 1.0, 2.0, 2.0], dtype=np.float32))
        return self.node(
            "Resize",
            [x, roi, scales],
            name,
            mode="linear",
            coordinate_transformation_mode="half_pixel",
            nearest_mode="floor",
            cubic_coeff_a=-0.75,
        )

    def resize_to_size_align_corners(self, x, size_source, name):
        # F.interpolate(size=input.size()[-2:], align_corners=True) exports as Shape/Slice/Concat sizes.
        batch_channels = self.node(
            "Slice",
            [
                self.node("Shape", [x], name + ".shape"),
                self.constant(name + ".bc_start", np.array([0], dtype=np.int64)),
                self.constant(name + ".bc_end", np.array([2], dtype=np.int64)),
            ],
            name + ".batch_channels",
        )
        spatial = self.node(
            "Slice",
            [
                self.node("Shape", [size_source], name + ".target_shape"),
                self.constant(name + ".hw_start", np.array([2], dtype=np.int64)),
                self.constant(name + ".hw_end", np.array([4], dtype=np.int64)),
            ],
            name + ".spatial",
        )
        sizes = self.node("Concat", [batch_channels, spatial], name + ".sizes", axis=0)
        roi = self.constant(name + ".roi", np.array([], dtype=np.float32))
        scales = self.constant(name + ".scales", np.array([], dtype=np.float32))
        return self.node(
            "Resize",
            [x, roi, scales, sizes],
            name,
            mode="linear",
            coordinate_transformation_mode="align_corners",
            nearest_mode="floor",
            cubic_coeff_a=-0.75,
        )


def build_generator(seed: int, width_divisor: int = 4) -> onnx.ModelProto:
    """Generator of animegan2-pytorch with every channel count divided by width_divisor."""
    if width_divisor not in (1, 2, 4):
        raise ValueError("width_divisor must be 1, 2 or 4")
    c32, c64, c128, c256 = (c // width_divisor for c in (32, 64, 128, 256))
    g = GraphBuilder(np.random.default_rng(seed))
    image = "input"

    # Stride-2 convs pad only right and bottom, as ReflectionPad2d((0, 1, 0, 1)) does.
    down_pad = (0, 0, 1, 1)

    x = g.conv_norm_lrelu(image, 3, c32, "block_a.0", kernel=7, padding=(3, 3, 3, 3))
    x = g.conv_norm_lrelu(x, c32, c64, "block_a.1", stride=2, padding=down_pad)
    x = g.conv_norm_lrelu(x, c64, c64, "block_a.2")

    x = g.conv_norm_lrelu(x, c64, c128, "block_b.0", stride=2, padding=down_pad)
    x = g.conv_norm_lrelu(x, c128, c128, "block_b.1")

    # model.py has four inverted residual blocks in block_c (the first widens 128 -> 256).
    x = g.conv_norm_lrelu(x, c128, c128, "block_c.0")
    x = g.inverted_res_block(x, c128, c256, "block_c.1")
    x = g.inverted_res_block(x, c256, c256, "block_c.2")
    x = g.inverted_res_block(x, c256, c256, "block_c.3")
    x = g.inverted_res_block(x, c256, c256, "block_c.4")
    x = g.conv_norm_lrelu(x, c256, c128, "block_c.5")

    x = g.resize_scale2_half_pixel(x, "upsample_1")
    x = g.conv_norm_lrelu(x, c128, c128, "block_d.0")
    x = g.conv_norm_lrelu(x, c128, c128, "block_d.1")

    x = g.resize_to_size_align_corners(x, image, "upsample_2")
    x = g.conv_norm_lrelu(x, c128, c64, "block_e.0")
    x = g.conv_norm_lrelu(x, c64, c64, "block_e.1")
    x = g.conv_norm_lrelu(x, c64, c32, "block_e.2", kernel=7, padding=(3, 3, 3, 3))

    # A smaller gain on the last conv keeps Tanh out of saturation so its slope is tested too.
    x = g.conv(x, c32, 3, 1, "out_layer.conv", gain=0.5)
    g.node("Tanh", [x], "out_layer.tanh", output="output")

    graph = helper.make_graph(
        g.nodes,
        "animegan_v2_generator",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "height", "width"])],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="lantern-reference",
        doc_string=f"AnimeGANv2 generator architecture, random weights (seed {seed}, width 1/{width_divisor})",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def write_generator(path: str, seed: int, width_divisor: int = 4) -> None:
    onnx.save(build_generator(seed, width_divisor), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="path of the .onnx file to write")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random weights")
    parser.add_argument("--width-divisor", type=int, default=4, choices=(1, 2, 4),
                        help="divide every channel count by this (4 keeps the file small)")
    args = parser.parse_args()
    write_generator(args.out, args.seed, args.width_divisor)


if __name__ == "__main__":
    main()

"""Times onnxruntime's WebGPU provider (PyPI onnxruntime-ep-webgpu) on inputs saved as .npy files,
and compares the outputs the engine saved beside them (lantern.<output>.npy) and onnxruntime's
WebGPU outputs with onnxruntime's CPU provider. Prints JSON: medians and first runs in
milliseconds, and the largest absolute differences."""

import argparse
import json
import pathlib
import statistics
import time

import numpy as np
import onnxruntime as ort
import onnxruntime_ep_webgpu as webgpu


def timed(session, outputs, feeds, warmup, runs):
    start = time.perf_counter()
    result = session.run(outputs, feeds)
    first = (time.perf_counter() - start) * 1000
    for _ in range(warmup):
        session.run(outputs, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(outputs, feeds)
        times.append((time.perf_counter() - start) * 1000)
    return result, first, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--inputs", required=True, help="folder of <input name>.npy files")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--output", action="append", required=True)
    parser.add_argument("--layout", default="NHWC", help="the provider's preferredLayout (its default: NHWC)")
    args = parser.parse_args()
    folder = pathlib.Path(args.inputs)

    cpu = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.load(folder / f"{i.name}.npy") for i in cpu.get_inputs()}
    reference = cpu.run(args.output, feeds)

    ort.register_execution_provider_library("webgpu", webgpu.get_library_path())
    devices = [d for d in ort.get_ep_devices() if d.ep_name == webgpu.get_ep_name()]
    options = ort.SessionOptions()
    options.add_provider_for_devices(devices, {"preferredLayout": args.layout})
    session = ort.InferenceSession(args.model, sess_options=options)
    # A provider that fails to load falls back to the CPU without a word: refuse to time that.
    if "WebGpuExecutionProvider" not in session.get_providers():
        raise SystemExit(f"the WebGPU provider did not load: {session.get_providers()}")
    result, first, median = timed(session, args.output, feeds, args.warmup, args.runs)

    def worst(outputs):
        return max(float(np.max(np.abs(a.astype(np.float64) - b))) for a, b in zip(outputs, reference))

    ours = [np.load(folder / f"lantern.{name}.npy") for name in args.output]
    print(json.dumps({
        "median_ms": median,
        "first_ms": first,
        "layout": args.layout,
        "max_abs_vs_cpu": worst(result),
        "lantern_max_abs_vs_cpu": worst(ours),
        "onnxruntime": ort.__version__,
        "device": [dict(d.device.metadata) for d in devices],
    }))


if __name__ == "__main__":
    main()

"""Times onnxruntime CPU on inputs saved as .npy files; prints the median in milliseconds as JSON."""

import argparse
import json
import pathlib
import statistics
import time

import numpy as np
import onnxruntime as ort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--inputs", required=True, help="folder of <input name>.npy files")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--output", action="append", default=None, help="output to compute (default: all)")
    args = parser.parse_args()

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.load(pathlib.Path(args.inputs) / f"{i.name}.npy") for i in session.get_inputs()}
    for _ in range(args.warmup):
        session.run(args.output, feeds)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        session.run(args.output, feeds)
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"median_ms": statistics.median(times), "runs": args.runs, "version": ort.__version__}))


if __name__ == "__main__":
    main()

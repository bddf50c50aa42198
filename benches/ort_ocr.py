"""Times the whole PP-OCR pipeline, PaddleOCR's steps around onnxruntime CPU
(tests/reference/ocr_pipeline.py), on one image; prints the median in milliseconds as JSON."""

import argparse
import json
import pathlib
import statistics
import sys
import time

import cv2
import onnxruntime as ort

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "reference"))
sys.dont_write_bytecode = True
import ocr_pipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", required=True, help="folder of model files named <id>.onnx and dictionaries <id>.txt")
    parser.add_argument("--det", required=True)
    parser.add_argument("--rec", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    # OpenCV's resizes and warps get the same threads as onnxruntime.
    cv2.setNumThreads(args.threads)
    pipeline = ocr_pipeline.Pipeline(ort, args.models, args.det, args.rec, args.threads)
    image = ocr_pipeline.load_bgr(args.image)
    for _ in range(args.warmup):
        pipeline.read(image)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        lines, _ = pipeline.read(image)
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"median_ms": statistics.median(times), "runs": args.runs, "lines": len(lines), "version": ort.__version__}))


if __name__ == "__main__":
    main()

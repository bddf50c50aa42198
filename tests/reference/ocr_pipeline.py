"""PP-OCR end to end in onnxruntime, with PaddleOCR's own pre- and post-processing steps.

Detection (DetResizeForTest, NormalizeImage, DBPostProcess in its "fast" quad mode), box
filtering and sorting, perspective crops, the 0/180 angle classifier and CTC recognition, each
written the way PaddleOCR's inference tools write them (OpenCV, pyclipper), independently of
Lantern's Rust code, which the image-to-text tests compare against the lines written here. The
settings (sizes, thresholds, normalisation, dictionaries) are the manifest's, as Lantern's are.

Each case writes <out>/ocr-<pipeline>-<image>.json: the image, the models, and the lines in
PaddleOCR's order, each with its text, confidence and polygon: PaddleOCR's box (pixel indices,
a pixel's centre at whole numbers), its corners clockwise from the top left of the text as read,
so a line read upside down starts at the box's bottom right.

Usage:
    python ocr_pipeline.py --models MODELS_DIR --eval EVAL_DIR --out OUT_DIR [--only a,b] [--threads 2]
"""

import argparse
import json
import math
import os
import tomllib

import cv2
import numpy as np
import pyclipper

MANIFEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "manifest.toml")

# Pipelines by name: detection and recognition model ids; the angle classifier is shared.
PIPELINES = {
    "ppocrv6-tiny": ("ppocrv6-tiny-det", "ppocrv6-tiny-rec"),
    "ppocrv6-small": ("ppocrv6-small-det", "ppocrv6-small-rec"),
}
CLASSIFIER = "ppocr-cls"
IMAGES = ("ocr/page.png", "ocr/text.png", "ocr/rust-paragraph.png")

# PaddleOCR's inference defaults (tools/infer/utility.py).
DB_MIN_SIZE = 3
CLS_BATCH = 6
REC_BATCH = 6
DROP_SCORE = 0.5
# Boxes whose top edges lie closer than this (pixels) count as one row in sorted_boxes.
SAME_ROW_PIXELS = 10


def load_manifest() -> dict[str, dict]:
    with open(MANIFEST, "rb") as handle:
        manifest = tomllib.load(handle)
    return {model["id"]: model for model in manifest["model"]}


def session(ort, path: str, threads: int):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def normalise(bgr: np.ndarray, mean, std) -> np.ndarray:
    """HWC uint8 BGR to CHW float32: x/255, then (x - mean) / std in channel index order."""
    x = (bgr.astype(np.float32) / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return x.transpose(2, 0, 1)


# --- detection -----------------------------------------------------------------------------


def detection_resize(bgr: np.ndarray, max_side: int, multiple: int) -> np.ndarray:
    """DetResizeForTest, limit_type "max": the long side at most max_side, sides rounded to multiples."""
    height, width = bgr.shape[:2]
    ratio = max_side / max(height, width) if max(height, width) > max_side else 1.0
    resized_height = max(int(round(height * ratio / multiple) * multiple), multiple)
    resized_width = max(int(round(width * ratio / multiple) * multiple), multiple)
    return cv2.resize(bgr, (resized_width, resized_height))


def mini_box(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum-area rectangle's corners (top-left, top-right, bottom-right, bottom-left) and short side."""
    rect = cv2.minAreaRect(points)
    corners = sorted(list(cv2.boxPoints(rect)), key=lambda p: p[0])
    left_top, left_bottom = (corners[0], corners[1]) if corners[1][1] > corners[0][1] else (corners[1], corners[0])
    right_top, right_bottom = (corners[2], corners[3]) if corners[3][1] > corners[2][1] else (corners[3], corners[2])
    return np.array([left_top, right_top, right_bottom, left_bottom]), min(rect[1])


def box_score(probability: np.ndarray, box: np.ndarray) -> float:
    """Mean probability inside the box, rasterised by fillPoly within its bounding rectangle."""
    height, width = probability.shape
    x0 = int(np.clip(np.floor(box[:, 0].min()), 0, width - 1))
    x1 = int(np.clip(np.ceil(box[:, 0].max()), 0, width - 1))
    y0 = int(np.clip(np.floor(box[:, 1].min()), 0, height - 1))
    y1 = int(np.clip(np.ceil(box[:, 1].max()), 0, height - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    shifted = box - np.array([x0, y0], dtype=box.dtype)
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2).astype(np.int32), 1)
    return cv2.mean(probability[y0 : y1 + 1, x0 : x1 + 1], mask)[0]


def unclip(box: np.ndarray, ratio: float) -> np.ndarray:
    """Offsets the polygon outwards (round joins) by area × ratio / perimeter."""
    distance = cv2.contourArea(box.astype(np.float32)) * ratio / cv2.arcLength(box.astype(np.float32), True)
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box.tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return np.array(offset.Execute(distance))


def db_boxes(probability: np.ndarray, post: dict, image_width: int, image_height: int) -> list[np.ndarray]:
    """DBPostProcess.boxes_from_bitmap: boxes in the image's pixels."""
    map_height, map_width = probability.shape
    bitmap = (probability > post["thresh"]).astype(np.uint8) * 255
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours[: post["max_candidates"]]:
        box, short_side = mini_box(contour)
        if short_side < DB_MIN_SIZE:
            continue
        if box_score(probability, box) < post["box_thresh"]:
            continue
        box, short_side = mini_box(unclip(box, post["unclip_ratio"]).reshape(-1, 1, 2).astype(np.float32))
        if short_side < DB_MIN_SIZE + 2:
            continue
        box[:, 0] = np.clip(np.round(box[:, 0] / map_width * image_width), 0, image_width)
        box[:, 1] = np.clip(np.round(box[:, 1] / map_height * image_height), 0, image_height)
        boxes.append(box.astype(np.int32))
    return boxes


def clockwise(box: np.ndarray) -> np.ndarray:
    """TextDetector.order_points_clockwise: top-left has the least x + y, bottom-right the most."""
    ordered = np.zeros((4, 2), dtype=np.float32)
    sums = box.sum(axis=1)
    ordered[0], ordered[2] = box[np.argmin(sums)], box[np.argmax(sums)]
    rest = np.delete(box, (np.argmin(sums), np.argmax(sums)), axis=0)
    differences = np.diff(rest, axis=1)
    ordered[1], ordered[3] = rest[np.argmin(differences)], rest[np.argmax(differences)]
    return ordered


def filtered_boxes(boxes: list[np.ndarray], image_width: int, image_height: int) -> list[np.ndarray]:
    """TextDetector.filter_tag_det_res: corners ordered, clipped inside the image, slivers dropped."""
    kept = []
    for box in boxes:
        box = clockwise(box)
        box[:, 0] = np.clip(box[:, 0], 0, image_width - 1).astype(np.int32)
        box[:, 1] = np.clip(box[:, 1], 0, image_height - 1).astype(np.int32)
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        kept.append(box)
    return kept


def sorted_boxes(boxes: list[np.ndarray]) -> list[np.ndarray]:
    """Top to bottom by the top-left corner, then left to right within a row."""
    ordered = sorted(boxes, key=lambda box: (box[0][1], box[0][0]))
    for i in range(len(ordered) - 1):
        for j in range(i, -1, -1):
            if abs(ordered[j + 1][0][1] - ordered[j][0][1]) < SAME_ROW_PIXELS and ordered[j + 1][0][0] < ordered[j][0][0]:
                ordered[j], ordered[j + 1] = ordered[j + 1], ordered[j]
            else:
                break
    return ordered


# --- crops, orientation, recognition -------------------------------------------------------


def rotate_crop(bgr: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, int]:
    """get_rotate_crop_image: the box warped upright, and boxes 1.5 times taller than wide turned a
    quarter anticlockwise; with the quarter turns made (0 or 1)."""
    width = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    height = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    transform = cv2.getPerspectiveTransform(box.astype(np.float32), target)
    crop = cv2.warpPerspective(bgr, transform, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    if crop.shape[0] / crop.shape[1] >= 1.5:
        return np.rot90(crop), 1
    return crop, 0


def resize_norm(crop: np.ndarray, height: int, width: int, pre: dict) -> np.ndarray:
    """resize_norm_img: height fixed, width ceil(height × aspect) up to `width`, right-padded with zeros."""
    resized_width = min(width, int(math.ceil(height * crop.shape[1] / crop.shape[0])))
    resized = cv2.resize(crop, (resized_width, height))
    padded = np.zeros((3, height, width), dtype=np.float32)
    padded[:, :, :resized_width] = normalise(resized, pre["mean"], pre["std"])
    return padded


def by_aspect(crops: list[np.ndarray]) -> np.ndarray:
    return np.argsort(np.array([crop.shape[1] / crop.shape[0] for crop in crops]))


def classify(model, classifier: dict, crops: list[np.ndarray]) -> tuple[list[np.ndarray], list[bool]]:
    """TextClassifier: crops the network finds upside down (above the threshold) turned by 180°;
    with which were turned."""
    pre, post = classifier["preprocess"], classifier["postprocess"]
    labels = post["labels"]
    crops = list(crops)
    turned = [False] * len(crops)
    order = by_aspect(crops)
    for start in range(0, len(crops), CLS_BATCH):
        batch = order[start : start + CLS_BATCH]
        inputs = np.stack([resize_norm(crops[i], pre["height"], pre["width"], pre) for i in batch])
        scores = model.run(None, {model.get_inputs()[0].name: inputs})[0]
        for i, row in zip(batch, scores):
            best = int(np.argmax(row))
            if "180" in labels[best] and row[best] > post["threshold"]:
                crops[i] = cv2.rotate(crops[i], cv2.ROTATE_180)
                turned[i] = True
    return crops, turned


def ctc_decode(probabilities: np.ndarray, characters: list[str]) -> tuple[str, float]:
    """Greedy CTC: best class per step, repeats collapsed, blanks (class 0) dropped."""
    best = probabilities.argmax(axis=1)
    chosen = probabilities.max(axis=1)
    keep = np.ones(len(best), dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    keep &= best != 0
    text = "".join(characters[i] for i in best[keep])
    confidence = float(np.mean(chosen[keep])) if keep.any() else 0.0
    return text, confidence


def recognise(model, recogniser: dict, characters: list[str], crops: list[np.ndarray]) -> list[tuple[str, float]]:
    """TextRecognizer: batches by aspect, each padded to its widest crop (at least the configured width)."""
    pre = recogniser["preprocess"]
    height = pre["height"]
    readings = [("", 0.0)] * len(crops)
    order = by_aspect(crops)
    for start in range(0, len(crops), REC_BATCH):
        batch = order[start : start + REC_BATCH]
        widest = max([pre["width"] / height] + [crops[i].shape[1] / crops[i].shape[0] for i in batch])
        width = int(height * widest)
        inputs = np.stack([resize_norm(crops[i], height, width, pre) for i in batch])
        probabilities = model.run(None, {model.get_inputs()[0].name: inputs})[0]
        for i, line in zip(batch, probabilities):
            readings[i] = ctc_decode(line, characters)
    return readings


# --- the pipeline --------------------------------------------------------------------------


class Pipeline:
    """One detector, recogniser and angle classifier, loaded once and run on BGR images."""

    def __init__(self, ort, models_dir: str, det_id: str, rec_id: str, threads: int):
        manifest = load_manifest()
        self.detector, self.recogniser, self.classifier = manifest[det_id], manifest[rec_id], manifest[CLASSIFIER]
        self.det, self.rec, self.cls = (
            session(ort, os.path.join(models_dir, model_id + ".onnx"), threads) for model_id in (det_id, rec_id, CLASSIFIER)
        )
        dictionary = os.path.join(models_dir, self.recogniser["dictionary"] + ".txt")
        with open(dictionary, encoding="utf-8", newline="") as handle:
            self.characters = ["blank"] + [line.rstrip("\r\n") for line in handle]
        if self.recogniser["postprocess"].get("space"):
            self.characters.append(" ")

    def read(self, bgr: np.ndarray) -> tuple[list[dict], list[dict]]:
        """The lines PaddleOCR keeps, and those it drops for a confidence under DROP_SCORE; each
        says whether the classifier turned it."""
        pre, post = self.detector["preprocess"], self.detector["postprocess"]
        image_height, image_width = bgr.shape[:2]
        resized = detection_resize(bgr, pre["max_side"], pre["multiple"])
        inputs = normalise(resized, pre["mean"], pre["std"])[np.newaxis]
        probability = self.det.run(None, {self.det.get_inputs()[0].name: inputs})[0][0, 0]
        boxes = filtered_boxes(db_boxes(probability, post, image_width, image_height), image_width, image_height)
        if not boxes:
            return []
        boxes = sorted_boxes(boxes)
        crops, quarter_turns = zip(*(rotate_crop(bgr, box) for box in boxes))
        crops, upside_down = classify(self.cls, self.classifier, list(crops))
        readings = recognise(self.rec, self.recogniser, self.characters, crops)
        lines, dropped = [], []
        for box, quarters, turned, (text, confidence) in zip(boxes, quarter_turns, upside_down, readings):
            # The corner the crop's top left came from first, as the text is read.
            as_read = np.roll(box, -(quarters + 2 * turned), axis=0)
            line = {"text": text, "confidence": confidence, "polygon": as_read.tolist(), "turned": turned}
            # PaddleOCR drops these; they are kept apart, for the lines Lantern reads where it did not.
            (dropped if confidence < DROP_SCORE else lines).append(line)
        return lines, dropped


def load_bgr(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    return image


def case_name(pipeline: str, image: str) -> str:
    return f"ocr-{pipeline}-{os.path.splitext(os.path.basename(image))[0]}"


def case_names() -> list[str]:
    return [case_name(pipeline, image) for pipeline in PIPELINES for image in IMAGES]


def write_references(models_dir: str, eval_dir: str, out_dir: str, threads: int, only: set[str] | None = None) -> None:
    import onnxruntime as ort

    os.makedirs(out_dir, exist_ok=True)
    print(f"PP-OCR pipelines, PaddleOCR's steps, onnxruntime {ort.__version__} at {threads} intra-op threads")
    for pipeline_name, (det_id, rec_id) in PIPELINES.items():
        images = [image for image in IMAGES if only is None or case_name(pipeline_name, image) in only]
        if not images:
            continue
        pipeline = Pipeline(ort, models_dir, det_id, rec_id, threads)
        for image in images:
            lines, dropped = pipeline.read(load_bgr(os.path.join(eval_dir, image)))
            name = case_name(pipeline_name, image)
            document = {
                "image": image, "det": det_id, "rec": rec_id, "cls": CLASSIFIER, "lines": lines, "dropped": dropped,
            }
            with open(os.path.join(out_dir, name + ".json"), "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=1, ensure_ascii=False)
                handle.write("\n")
            print(f"{name}: {len(lines)} lines")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", required=True, help="folder of model files named <id>.onnx and dictionaries <id>.txt")
    parser.add_argument("--eval", required=True, help="evaluation images folder (with ocr/)")
    parser.add_argument("--out", required=True, help="folder to write ocr-<pipeline>-<image>.json into")
    parser.add_argument("--only", help="comma-separated case names to write")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",")} if args.only else None
    write_references(args.models, args.eval, args.out, args.threads, only)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Independent numpy implementation of the detection metrics of src/training/metrics/detection.ts.

Written from the protocols, not from the TypeScript: VOC 2010+ all-point AP (VinBigData mAP@0.4, and
mAP@0.5), COCO mAP@[.5:.95] as pycocotools computes it (per-image greedy matching to the best unmatched
truth box with IoU >= t, at most 100 detections per image and class, 101-point interpolated precision),
and FROC (sensitivity at 0.5/1/2/4 false positives per image, classes pooled, VOC matching).

Input (stdin, JSON): {"classes": N, "froc_iou": 0.4,
  "truth": [{"image_id", "boxes": [[class_id, x0, y0, x1, y1], ...]}, ...],
  "predictions": [{"image_id", "boxes": [[class_id, x0, y0, x1, y1, score], ...]}, ...]}
Output (stdout, JSON): per-class ap40/ap50/ap_coco (null without truth), the means, FROC.
Ties in score are broken by image order, then by the order of the image's own boxes (stable sorts),
the order pycocotools' mergesort gives.
"""
import json
import sys

import numpy as np

COCO_IOUS = np.linspace(0.5, 0.95, 10)
COCO_RECALLS = np.linspace(0.0, 1.0, 101)
FROC_FPS = [0.5, 1.0, 2.0, 4.0]


def iou_matrix(a, b):
    """IoU of every box in a (n x 4) with every box in b (m x 4), continuous corners."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / union, 0.0)
    return out


def split(data, cls):
    """Per image: truth boxes and (boxes, scores) of one class."""
    preds = {p["image_id"]: p["boxes"] for p in data["predictions"]}
    rows = []
    for img in data["truth"]:
        gt = np.array([b[1:5] for b in img["boxes"] if b[0] == cls], dtype=np.float64).reshape(-1, 4)
        dt = [b for b in preds.get(img["image_id"], []) if b[0] == cls]
        boxes = np.array([b[1:5] for b in dt], dtype=np.float64).reshape(-1, 4)
        scores = np.array([b[5] for b in dt], dtype=np.float64)
        rows.append((gt, boxes, scores))
    return rows


def voc_ranked(rows, t):
    """(score, is_tp) of every detection of a class, VOC matching, global stable score order."""
    flat = [(i, k) for i, (_, boxes, _) in enumerate(rows) for k in range(len(boxes))]
    if not flat:
        return np.zeros(0), np.zeros(0, dtype=bool)
    scores = np.array([rows[i][2][k] for i, k in flat])
    order = np.argsort(-scores, kind="stable")
    used = [np.zeros(len(g), dtype=bool) for g, _, _ in rows]
    tp = np.zeros(len(order), dtype=bool)
    for rank, j in enumerate(order):
        i, k = flat[j]
        gt = rows[i][0]
        if len(gt) == 0:
            continue
        ious = iou_matrix(rows[i][1][k], gt)[0]
        best = int(np.argmax(ious))  # first of equal maxima, like the TypeScript's strict '>'
        if ious[best] > t and not used[i][best]:
            used[i][best] = True
            tp[rank] = True
    return scores[order], tp


def voc_ap(rows, t):
    npos = sum(len(g) for g, _, _ in rows)
    if npos == 0:
        return None
    _, tp = voc_ranked(rows, t)
    ctp = np.cumsum(tp)
    rec = ctp / npos
    prec = ctp / np.arange(1, len(tp) + 1)
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def coco_ap(rows, t, max_dets=100):
    npos = sum(len(g) for g, _, _ in rows)
    if npos == 0:
        return None
    all_scores, all_tp = [], []
    for gt, boxes, scores in rows:
        order = np.argsort(-scores, kind="mergesort")[:max_dets]
        matched = np.zeros(len(gt), dtype=bool)
        ious = iou_matrix(boxes, gt) if len(gt) and len(boxes) else np.zeros((len(boxes), len(gt)))
        for d in order:
            best, m = min(t, 1 - 1e-10), -1
            for g in range(len(gt)):
                if matched[g] or ious[d, g] < best:
                    continue
                best, m = ious[d, g], g
            if m >= 0:
                matched[m] = True
            all_scores.append(scores[d])
            all_tp.append(m >= 0)
    scores = np.array(all_scores, dtype=np.float64)
    tps = np.array(all_tp, dtype=bool)
    order = np.argsort(-scores, kind="mergesort")
    tps = tps[order]
    tp_sum = np.cumsum(tps).astype(np.float64)
    fp_sum = np.cumsum(~tps).astype(np.float64)
    rc = tp_sum / npos
    pr = tp_sum / np.maximum(tp_sum + fp_sum, np.spacing(1))
    pr = pr.tolist()
    for i in range(len(pr) - 1, 0, -1):
        if pr[i] > pr[i - 1]:
            pr[i - 1] = pr[i]
    inds = np.searchsorted(rc, COCO_RECALLS, side="left")
    q = np.zeros(len(COCO_RECALLS))
    for ri, pi in enumerate(inds):
        if pi < len(pr):
            q[ri] = pr[pi]
    return float(np.mean(q))


def froc(data, t):
    classes = data["classes"]
    scores, tps = [], []
    for c in range(classes):
        s, tp = voc_ranked(split(data, c), t)
        scores.append(s)
        tps.append(tp)
    scores = np.concatenate(scores) if scores else np.zeros(0)
    tps = np.concatenate(tps) if tps else np.zeros(0, dtype=bool)
    order = np.argsort(-scores, kind="stable")
    tps = tps[order]
    npos = sum(len(img["boxes"]) for img in data["truth"])
    n_img = max(1, len(data["truth"]))
    fp_rate = np.cumsum(~tps) / n_img
    sens = np.cumsum(tps) / npos if npos else np.zeros(len(tps))
    out = []
    for f in FROC_FPS:
        ok = fp_rate <= f
        out.append(float(sens[ok].max()) if ok.any() else 0.0)
    return out


def mean(values):
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def main():
    data = json.load(sys.stdin)
    per_class = []
    for c in range(data["classes"]):
        rows = split(data, c)
        coco = [coco_ap(rows, t) for t in COCO_IOUS]
        per_class.append(
            {
                "ap40": voc_ap(rows, 0.4),
                "ap50": voc_ap(rows, 0.5),
                "ap_coco": None if coco[0] is None else float(np.mean(coco)),
                "ap_coco50": coco[0],
            }
        )
    out = {
        "per_class": per_class,
        "map40": mean([p["ap40"] for p in per_class]),
        "map50": mean([p["ap50"] for p in per_class]),
        "map_coco": mean([p["ap_coco"] for p in per_class]),
        "map_coco50": mean([p["ap_coco50"] for p in per_class]),
        "froc": froc(data, data.get("froc_iou", 0.4)),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

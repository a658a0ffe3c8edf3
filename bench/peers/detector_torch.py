#!/usr/bin/python3
"""PyTorch peer of src/models/detector.ts (det-nano / det-small, YOLOv8-style) and its loss, used to
(1) prove the engine's loss and every gradient against PyTorch autograd (`grad`), with the assigner's targets fed in,
(2) cross-check the TypeScript task-aligned assigner against a vectorized torch transcription of Ultralytics'
    TaskAlignedAssigner (`assign`),
(3) time a training step and eager inference of the same architecture (`bench`, for bench/det-step.ts),
(4) train det-nano on a dataset version exported by bench/det-parity.ts with the engine's recipe, and report the
    test set's detections (`train`, for the parity benchmark).

The modules mirror Ultralytics' (Conv, Bottleneck, C2f, SPPF, Detect) and the state_dict keys equal the engine's
parameter names (`model.<layer>.…`), so weights travel as one safetensors file. The loss is Ultralytics'
v8DetectionLoss with boolean foreground selection (the engine weights background anchors by 0 instead), without
its final multiplication by the batch size (the engine's convention).

Run with Debian's interpreter (/usr/bin/python3: torch 1.13).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import detection_metrics  # noqa: E402
import safetensors_io  # noqa: E402
from vit_torch import timed  # noqa: E402

STRIDES = (8, 16, 32)


def channels(cfg, c):
    return int(math.ceil(min(c, cfg["maxChannels"]) * cfg["width"] / 8) * 8)


def repeats(cfg, n):
    return max(round(n * cfg["depth"]), 1)


class Conv(nn.Module):
    def __init__(self, cin, cout, k, s, cfg):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=cfg["batchNormEps"], momentum=cfg["batchNormMomentum"])

    def forward(self, x):
        return F.silu(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut, cfg):
        super().__init__()
        self.cv1 = Conv(c, c, 3, 1, cfg)
        self.cv2 = Conv(c, c, 3, 1, cfg)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n, shortcut, cfg):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1, 1, cfg)
        self.cv2 = Conv((2 + n) * self.c, c2, 1, 1, cfg)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut, cfg) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, cfg):
        super().__init__()
        c = c1 // 2
        self.cv1 = Conv(c1, c, 1, 1, cfg)
        self.cv2 = Conv(4 * c, c2, 1, 1, cfg)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class Detect(nn.Module):
    def __init__(self, ch, cfg):
        super().__init__()
        nc, r = cfg["numClasses"], cfg["regMax"]
        c2 = max(16, ch[0] // 4, 4 * r)
        c3 = max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(x, c2, 3, 1, cfg), Conv(c2, c2, 3, 1, cfg), nn.Conv2d(c2, 4 * r, 1)) for x in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3, 1, cfg), Conv(c3, c3, 3, 1, cfg), nn.Conv2d(c3, nc, 1)) for x in ch)

    def forward(self, xs):
        b = xs[0].shape[0]
        box = torch.cat([self.cv2[i](x).reshape(b, self.cv2[i][2].out_channels, -1) for i, x in enumerate(xs)], 2)
        cls = torch.cat([self.cv3[i](x).reshape(b, self.cv3[i][2].out_channels, -1) for i, x in enumerate(xs)], 2)
        return box.transpose(1, 2), cls.transpose(1, 2)


class Detector(nn.Module):
    """yolov8.yaml's layers 0–22; the parameter-free ones (Upsample, Concat) are Identity placeholders for numbering."""

    def __init__(self, cfg):
        super().__init__()
        ch = lambda c: channels(cfg, c)  # noqa: E731
        n = lambda k: repeats(cfg, k)  # noqa: E731
        layers = [
            Conv(cfg["inChannels"], ch(64), 3, 2, cfg),
            Conv(ch(64), ch(128), 3, 2, cfg),
            C2f(ch(128), ch(128), n(3), True, cfg),
            Conv(ch(128), ch(256), 3, 2, cfg),
            C2f(ch(256), ch(256), n(6), True, cfg),
            Conv(ch(256), ch(512), 3, 2, cfg),
            C2f(ch(512), ch(512), n(6), True, cfg),
            Conv(ch(512), ch(1024), 3, 2, cfg),
            C2f(ch(1024), ch(1024), n(3), True, cfg),
            SPPF(ch(1024), ch(1024), cfg),
            nn.Identity(),
            nn.Identity(),
            C2f(ch(1024) + ch(512), ch(512), n(3), False, cfg),
            nn.Identity(),
            nn.Identity(),
            C2f(ch(512) + ch(256), ch(256), n(3), False, cfg),
            Conv(ch(256), ch(256), 3, 2, cfg),
            nn.Identity(),
            C2f(ch(256) + ch(512), ch(512), n(3), False, cfg),
            Conv(ch(512), ch(512), 3, 2, cfg),
            nn.Identity(),
            C2f(ch(512) + ch(1024), ch(1024), n(3), False, cfg),
            Detect((ch(256), ch(512), ch(1024)), cfg),
        ]
        self.model = nn.ModuleList(layers)

    def forward(self, x):
        m = self.model
        up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
        c2 = m[2](m[1](m[0](x)))
        c3 = m[4](m[3](c2))
        c4 = m[6](m[5](c3))
        s5 = m[9](m[8](m[7](c4)))
        n4 = m[12](torch.cat([up(s5), c4], 1))
        out8 = m[15](torch.cat([up(n4), c3], 1))
        out16 = m[18](torch.cat([m[16](out8), n4], 1))
        out32 = m[21](torch.cat([m[19](out16), s5], 1))
        return m[22]([out8, out16, out32])


def anchors(cfg, dtype):
    pts, strides = [], []
    for s in STRIDES:
        side = cfg["imageSize"] // s
        sy, sx = torch.meshgrid(torch.arange(side, dtype=dtype) + 0.5, torch.arange(side, dtype=dtype) + 0.5, indexing="ij")
        pts.append(torch.stack((sx, sy), -1).view(-1, 2))
        strides.append(torch.full((side * side, 1), float(s), dtype=dtype))
    return torch.cat(pts), torch.cat(strides)


# ---- Ultralytics' box utilities and loss ---------------------------------------------------------------------------

def bbox_ciou(box1, box2, eps=1e-7):
    b1_x1, b1_y1, b1_x2, b1_y2 = box1.chunk(4, -1)
    b2_x1, b2_y1, b2_x2, b2_y2 = box2.chunk(4, -1)
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1 + eps
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1 + eps
    inter = (b1_x2.minimum(b2_x2) - b1_x1.maximum(b2_x1)).clamp(0) * (b1_y2.minimum(b2_y2) - b1_y1.maximum(b2_y1)).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = b1_x2.maximum(b2_x2) - b1_x1.minimum(b2_x1)
    ch = b1_y2.maximum(b2_y2) - b1_y1.minimum(b2_y1)
    c2 = cw.pow(2) + ch.pow(2) + eps
    rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2).pow(2) + (b2_y1 + b2_y2 - b1_y1 - b1_y2).pow(2)) / 4
    v = (4 / math.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


def bbox_decode(points, box_logits, reg_max):
    b, a, _ = box_logits.shape
    proj = torch.arange(reg_max, dtype=box_logits.dtype)
    d = box_logits.view(b, a, 4, reg_max).softmax(3).matmul(proj)
    lt, rb = d.chunk(2, -1)
    return torch.cat((points - lt, points + rb), -1)


def df_loss(pred_dist, target):
    tl = target.long()
    tr = tl + 1
    wl = tr - target
    wr = 1 - wl
    return (F.cross_entropy(pred_dist, tl.view(-1), reduction="none").view(tl.shape) * wl
            + F.cross_entropy(pred_dist, tr.view(-1), reduction="none").view(tl.shape) * wr).mean(-1, keepdim=True)


def detection_loss(cfg, box_logits, cls_logits, target_scores, target_boxes, fg, gains=(7.5, 0.5, 1.5)):
    r = cfg["regMax"]
    points, _ = anchors(cfg, box_logits.dtype)
    fg_mask = fg > 0
    tss = max(target_scores.sum(), 1)
    loss_cls = F.binary_cross_entropy_with_logits(cls_logits, target_scores, reduction="none").sum() / tss
    pred_boxes = bbox_decode(points, box_logits, r)
    weight = target_scores.sum(-1)[fg_mask].unsqueeze(-1)
    iou = bbox_ciou(pred_boxes[fg_mask], target_boxes[fg_mask])
    loss_box = ((1.0 - iou) * weight).sum() / tss
    lt, rb = target_boxes.chunk(2, -1)
    target_ltrb = torch.cat((points - lt, rb - points), -1).clamp(0, r - 1 - 0.01)
    loss_dfl = (df_loss(box_logits[fg_mask].view(-1, r), target_ltrb[fg_mask]) * weight).sum() / tss
    total = gains[0] * loss_box + gains[1] * loss_cls + gains[2] * loss_dfl
    return total, loss_box, loss_cls, loss_dfl


# ---- Ultralytics' TaskAlignedAssigner (vectorized; top-k ties broken towards the lower index) -------------------------

def tal_assign(cfg, pd_scores, pd_boxes, gt_labels, gt_boxes, topk=10, alpha=0.5, beta=6.0, eps=1e-9):
    """One image: pd_scores [A, nc] (probabilities), pd_boxes [A, 4] px, gt_labels [M], gt_boxes [M, 4] px."""
    points, strides = anchors(cfg, pd_scores.dtype)
    px = points * strides
    a_n, nc = pd_scores.shape
    m_n = gt_labels.shape[0]
    target_scores = torch.zeros(a_n, nc, dtype=pd_scores.dtype)
    fg = torch.zeros(a_n, dtype=pd_scores.dtype)
    obj = torch.full((a_n,), -1, dtype=torch.long)
    if m_n == 0:
        return target_scores, fg, obj
    lt, rb = gt_boxes[:, None, :2], gt_boxes[:, None, 2:]
    deltas = torch.cat((px[None] - lt, rb - px[None]), -1)
    inside = deltas.amin(-1) > eps  # [M, A]
    overlaps = torch.zeros(m_n, a_n, dtype=pd_scores.dtype)
    ious = bbox_ciou(gt_boxes[:, None, :].expand(-1, a_n, -1), pd_boxes[None].expand(m_n, -1, -1)).squeeze(-1).clamp(0)
    overlaps[inside] = ious[inside]
    scores = pd_scores[:, gt_labels].T  # [M, A]
    align = torch.where(inside, scores.pow(alpha) * overlaps.pow(beta), torch.zeros_like(overlaps))
    # Stable descending order: ties go to the lower anchor index.
    order = torch.from_numpy(np.argsort(-align.numpy(), axis=1, kind="stable"))[:, :topk]
    mask_topk = torch.zeros(m_n, a_n, dtype=torch.bool)
    mask_topk.scatter_(1, order, True)
    mask_pos = (mask_topk & inside).to(pd_scores.dtype)
    fg_count = mask_pos.sum(0)
    if fg_count.max() > 1:
        multi = (fg_count[None] > 1).expand(m_n, -1)
        is_max = torch.zeros_like(mask_pos)
        is_max.scatter_(0, overlaps.argmax(0)[None], 1)
        mask_pos = torch.where(multi, is_max, mask_pos)
        fg_count = mask_pos.sum(0)
    gt_idx = mask_pos.argmax(0)
    align = align * mask_pos
    pos_align = align.amax(-1, keepdim=True)
    pos_over = (overlaps * mask_pos).amax(-1, keepdim=True)
    norm = (align * pos_over / (pos_align + eps)).amax(0)
    fg = (fg_count > 0).to(pd_scores.dtype)
    labels = gt_labels[gt_idx]
    target_scores = F.one_hot(labels, nc).to(pd_scores.dtype) * (fg * norm)[:, None]
    obj = torch.where(fg > 0, gt_idx, torch.full_like(gt_idx, -1))
    return target_scores, fg, obj


def load_weights(model, tensors, dtype):
    state = {k: torch.from_numpy(np.ascontiguousarray(v)).to(dtype) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"weights do not match the model: missing {missing}, unexpected {unexpected}")


def cmd_grad(a):
    """Loss (and its three terms), head outputs, parameter gradients and BatchNorm updates of one training step."""
    cfg = json.load(open(a.config))
    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    model = Detector(cfg).to(dtype)
    weights, _ = safetensors_io.read(a.weights)
    load_weights(model, weights, dtype)
    inputs, _ = safetensors_io.read(a.inputs)
    t = {k: torch.from_numpy(v).to(dtype) for k, v in inputs.items()}
    model.train()
    box_logits, cls_logits = model(t["images"])
    total, lb, lc, ld = detection_loss(cfg, box_logits, cls_logits, t["target_scores"], t["target_boxes"], t["fg"])
    total.backward()
    out = {
        "loss": np.array(total.item()),
        "loss_box": np.array(lb.item()),
        "loss_cls": np.array(lc.item()),
        "loss_dfl": np.array(ld.item()),
        "logits": torch.cat([box_logits, cls_logits], 2).detach().numpy(),
    }
    for n, p in model.named_parameters():
        out[f"grad/{n}"] = p.grad.detach().numpy()
    for n, b in model.named_buffers():
        if not n.endswith("num_batches_tracked"):
            out[f"buffer/{n}"] = b.detach().numpy()
    safetensors_io.write(a.out, out)


def cmd_assign(a):
    """The task-aligned assignment of each image in --inputs (scores_<i>, boxes_<i>, gt_labels_<i>, gt_boxes_<i>)."""
    cfg = json.load(open(a.config))
    inputs, _ = safetensors_io.read(a.inputs)
    out = {}
    i = 0
    while f"scores_{i}" in inputs:
        ts, fg, obj = tal_assign(
            cfg,
            torch.from_numpy(inputs[f"scores_{i}"]).double(),
            torch.from_numpy(inputs[f"boxes_{i}"]).double(),
            torch.from_numpy(inputs[f"gt_labels_{i}"]).long(),
            torch.from_numpy(inputs[f"gt_boxes_{i}"]).double(),
        )
        out[f"target_scores_{i}"] = ts.numpy()
        out[f"fg_{i}"] = fg.numpy()
        out[f"object_{i}"] = obj.numpy()
        i += 1
    safetensors_io.write(a.out, out)


def assigned_loss(cfg, model, x, gts):
    """Ultralytics' training loss of a batch: the forward, the TaskAlignedAssigner on its detached predictions per
    image (gts: (boxes [M, 4] px, labels [M]) per image), v8 loss with those targets."""
    points, strides = anchors(cfg, x.dtype)
    box_logits, cls_logits = model(x)
    with torch.no_grad():
        pd_boxes = bbox_decode(points, box_logits.detach(), cfg["regMax"]) * strides
        pd_scores = cls_logits.detach().sigmoid()
        ts, tb, fg = [], [], []
        for i, (boxes, labels) in enumerate(gts):
            t, f, obj = tal_assign(cfg, pd_scores[i], pd_boxes[i], labels, boxes)
            ts.append(t)
            fg.append(f)
            tb.append(boxes[obj.clamp(min=0)] / strides if len(labels) else torch.zeros(points.shape[0], 4, dtype=x.dtype))
    return detection_loss(cfg, box_logits, cls_logits, torch.stack(ts), torch.stack(tb), torch.stack(fg))[0]


def bias_init(model, cfg):
    """Ultralytics' Detect.bias_init (the engine's initial head biases): box logits 1, class logits log(5/nc/(S/s)^2)."""
    det = model.model[22]
    for i, s in enumerate(STRIDES):
        det.cv2[i][2].bias.data.fill_(1.0)
        det.cv3[i][2].bias.data.fill_(math.log(5 / cfg["numClasses"] / (cfg["imageSize"] / s) ** 2))


def cmd_bench(a):
    """Ultralytics' training step (train-mode forward, TaskAlignedAssigner on its detached predictions, v8 loss,
    backward, AdamW) and eager inference (forward, box decoding, sigmoid, score threshold 0.25), float32, a.threads
    intra-op threads, random images with `--boxes` random boxes each."""
    torch.set_num_threads(a.threads)
    cfg = json.load(open(a.config))
    torch.manual_seed(0)
    model = Detector(cfg)
    bias_init(model, cfg)
    r, nc, size = cfg["regMax"], cfg["numClasses"], cfg["imageSize"]
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "params": sum(p.numel() for p in model.parameters())}
    points, strides = anchors(cfg, torch.float32)
    rng = np.random.default_rng(1)

    def random_boxes(n):
        side = rng.uniform(0.05, 0.3, size=(n, 2)) * size
        x0 = rng.uniform(0, 1, size=(n, 2)) * (size - side)
        return torch.from_numpy(np.concatenate([x0, x0 + side], 1)).float(), torch.from_numpy(rng.integers(0, nc, n))

    if a.steps > 0:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=5e-4)
        x = torch.randn(a.batch, cfg["inChannels"], size, size)
        gts = [random_boxes(a.boxes) for _ in range(a.batch)]
        model.train()

        def step():
            opt.zero_grad(set_to_none=True)
            assigned_loss(cfg, model, x, gts).backward()
            opt.step()

        secs = timed(step, a.warmup, a.steps)
        res["train"] = {"batch": a.batch, "steps": a.steps, "seconds": secs, "images_per_s": a.batch * a.steps / secs}
    model.eval()
    res["eval"] = []
    for b in [int(v) for v in a.eval_batches.split(",") if v]:
        xb = torch.randn(b, cfg["inChannels"], size, size)

        def infer():
            box_logits, cls_logits = model(xb)
            boxes = bbox_decode(points, box_logits, r) * strides
            scores = cls_logits.sigmoid()
            return boxes[scores.amax(-1) > 0.25]

        reps = max(3, a.eval_images // b)
        with torch.inference_mode():
            secs = timed(infer, 2, reps)
        res["eval"].append({"batch": b, "runs": reps, "seconds": secs, "images_per_s": b * reps / secs})
    print(json.dumps(res))


# ---- `train`: the engine's detector recipe on an exported dataset version (bench/det-parity.ts) ---------------------

def read_split(data_dir, index, split):
    """A split of bench/det-parity.ts's export: uint8 images [N, S, S] and per image (boxes [M, 4] px, classes [M])."""
    n, size = index["splits"][split]["count"], index["size"]
    raw = lambda name, dtype: np.fromfile(os.path.join(data_dir, f"{split}-{name}"), dtype=dtype)  # noqa: E731
    images = raw("images.u8", np.uint8).reshape(n, size, size)
    coords = raw("coords.f32", "<f4").reshape(-1, 4)
    classes = raw("classes.u8", np.uint8)
    offsets = raw("offsets.u32", "<u4")
    if len(offsets) != n + 1 or offsets[-1] != len(classes) or len(coords) != len(classes):
        raise SystemExit(f"{data_dir}: split {split} is inconsistent ({n} images, {len(offsets)} offsets, {len(classes)} boxes)")
    truths = [(coords[offsets[i]:offsets[i + 1]], classes[offsets[i]:offsets[i + 1]].astype(np.int64)) for i in range(n)]
    return images, truths


def warmup_cosine(step, peak, warmup, total, floor):
    """src/engine/optim/schedule.ts's warmupCosine: linear from peak/warmup at step 0, then half-cosine to floor."""
    if step < warmup:
        return peak * (step + 1) / warmup
    if total == warmup:
        return peak
    progress = min(1.0, (step - warmup) / (total - warmup))
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))


def draw_augment(rng, size, aug):
    """src/training/data/augment.ts's draw without rotation (drawBoxAugment): crop area U(min, 1), aspect
    log-uniform in [1/maxAspect, maxAspect], centre uniform where the crop fits, flip, brightness, contrast."""
    area = rng.uniform(min(1.0, aug["cropMinScale"]), 1.0)
    log_r = math.log(max(1.0, aug["cropMaxAspect"]))
    ratio = math.exp(rng.uniform(-log_r, log_r))
    cw = min(size, size * math.sqrt(area * ratio))
    ch = min(size, size * math.sqrt(area / ratio))
    cx = rng.uniform(cw / 2, size - cw / 2)
    cy = rng.uniform(ch / 2, size - ch / 2)
    flip = bool(aug["hflip"]) and rng.uniform() < 0.5
    brightness = 1 + rng.uniform(-1, 1) * aug["brightness"]
    contrast = 1 + rng.uniform(-1, 1) * aug["contrast"]
    return cw, ch, cx, cy, flip, brightness, contrast


def augment_image(img, p, norm):
    """augmentInto without rotation: the crop resampled bilinearly to the full side (0 outside), brightness, contrast
    around the image mean, clipped to 0…255, then normalized."""
    size = img.shape[0]
    cw, ch, cx, cy, flip, brightness, contrast = p
    u = np.arange(size) + 0.5
    xo = (size / 2 - u) if flip else (u - size / 2)
    x = cx + xo * (cw / size) - 0.5
    y = cy + (u - size / 2) * (ch / size) - 0.5
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    src = img.astype(np.float64)

    def at(yi, xi):
        vy, vx = (yi >= 0) & (yi < size), (xi >= 0) & (xi < size)
        return src[np.clip(yi, 0, size - 1)][:, np.clip(xi, 0, size - 1)] * vy[:, None] * vx[None, :]

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    out = (top * (1 - fy)[:, None] + bottom * fy[:, None]) * brightness
    mean = out.mean()
    out = np.clip((out - mean) * contrast + mean, 0, 255)
    return (out / 255 - norm["mean"]) / norm["std"]


def augment_boxes(boxes, classes, size, p):
    """augment-boxes.ts: boxes through the crop's map, clipped to the image, dropped under 2 px a side or 10 % visible."""
    cw, ch, cx, cy, flip, _, _ = p
    kx, ky = size / cw, size / ch
    ua = (size / 2 - (boxes[:, 0] - cx) * kx) if flip else (size / 2 + (boxes[:, 0] - cx) * kx)
    ub = (size / 2 - (boxes[:, 2] - cx) * kx) if flip else (size / 2 + (boxes[:, 2] - cx) * kx)
    x0, x1 = np.minimum(ua, ub), np.maximum(ua, ub)
    y0, y1 = size / 2 + (boxes[:, 1] - cy) * ky, size / 2 + (boxes[:, 3] - cy) * ky
    c = np.clip(np.stack([x0, y0, x1, y1], 1), 0, size)
    w, h = c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]
    keep = (w >= 2) & (h >= 2) & (w * h >= 0.1 * (x1 - x0) * (y1 - y0))
    return c[keep], classes[keep]


def normalize(images, norm):
    return (images.astype(np.float32) / 255 - norm["mean"]) / norm["std"]


def nms_select(scores, boxes, score_threshold, iou_threshold, max_dets):
    """detector-export.ts's selectDetections: per class, score > threshold, best first (ties: lower anchor), greedy
    suppression of IoU > threshold, at most max_dets kept; then at most max_dets over all classes, best first."""
    out = []
    x0, y0 = np.minimum(boxes[:, 0], boxes[:, 2]), np.minimum(boxes[:, 1], boxes[:, 3])
    x1, y1 = np.maximum(boxes[:, 0], boxes[:, 2]), np.maximum(boxes[:, 1], boxes[:, 3])
    area = (x1 - x0) * (y1 - y0)
    for c in range(scores.shape[1]):
        cand = np.nonzero(scores[:, c] > score_threshold)[0]
        cand = cand[np.argsort(-scores[cand, c], kind="stable")]
        kept = []
        while len(cand) and len(kept) < max_dets:
            k, rest = cand[0], cand[1:]
            kept.append(k)
            w = np.minimum(x1[k], x1[rest]) - np.maximum(x0[k], x0[rest])
            h = np.minimum(y1[k], y1[rest]) - np.maximum(y0[k], y0[rest])
            inter = np.where((w > 0) & (h > 0), w * h, 0.0)
            iou = np.where((area[k] > 0) & (area[rest] > 0), inter / np.maximum(area[k] + area[rest] - inter, 1e-30), 0.0)
            cand = rest[iou <= iou_threshold]
        out.extend([c, float(boxes[k, 0]), float(boxes[k, 1]), float(boxes[k, 2]), float(boxes[k, 3]), float(scores[k, c])] for k in kept)
    out.sort(key=lambda d: -d[5])  # stable: equal scores keep class order, as the engine's sort
    return out[:max_dets]


def predict(model, cfg, images, norm, batch, thresholds):
    """Eval-mode forward (BatchNorm running statistics), boxes decoded in input pixels, sigmoid scores, NMS."""
    points, strides = anchors(cfg, torch.float32)
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch):
            x = torch.from_numpy(normalize(images[start:start + batch], norm)).unsqueeze(1)
            box_logits, cls_logits = model(x)
            boxes = (bbox_decode(points, box_logits, cfg["regMax"]) * strides).numpy()
            scores = cls_logits.sigmoid().numpy()
            for k in range(len(x)):
                dets = nms_select(scores[k], boxes[k], thresholds["scoreThreshold"], thresholds["iouThreshold"], thresholds["maxDetections"])
                out.append({"image_id": str(start + k), "boxes": dets})
    return out


def map50(truths, predictions, classes):
    """VOC mAP@0.5 over the classes with truth boxes (detection_metrics.py, the independent implementation)."""
    data = {
        "classes": classes,
        "truth": [{"image_id": str(i), "boxes": [[int(c), *map(float, b)] for b, c in zip(*t)]} for i, t in enumerate(truths)],
        "predictions": predictions,
    }
    return detection_metrics.mean([detection_metrics.voc_ap(detection_metrics.split(data, c), 0.5) for c in range(classes)])


def cmd_train(a):
    """The engine's detector run (src/training/trainer.ts, loop.ts, detect-task.ts) on the exported version: fresh
    det-nano with bias_init, AdamW (decay on rank ≥ 2 tensors only), warm-up + cosine per step, global-norm clipping,
    shuffled epochs without the last partial batch, box-aware augmentation, val mAP@0.5 each epoch with early stopping
    and the best epoch's weights evaluated on test. Prints JSON: the epochs, the timing, the test detections."""
    t_start = time.perf_counter()
    torch.set_num_threads(a.threads)
    index = json.load(open(os.path.join(a.data, "index.json")))
    cfg, rc, norm, thresholds = index["config"], index["recipe"], index["norm"], index["thresholds"]
    aug = rc["augment"]
    # Rotation: the engine's box augmentation pins it to 0 whatever the options say (drawBoxAugment), and so does this.
    if aug and (aug.get("sharpShare", 0) > 0 or aug.get("eraseProb", 0) > 0):
        raise SystemExit("train: the peer has no sharp share or random erasing (the detector recipe uses neither)")
    train_x, train_t = read_split(a.data, index, "train")
    val_x, val_t = read_split(a.data, index, "val")
    test_x, _ = read_split(a.data, index, "test")
    torch.manual_seed(rc["seed"])
    rng = np.random.default_rng(rc["seed"])
    model = Detector(cfg)
    bias_init(model, cfg)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": rc["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=rc["lr"], betas=(0.9, 0.999), eps=1e-8)
    n, size = len(train_x), cfg["imageSize"]
    batch = min(rc["batchSize"], n)
    per_epoch = max(1, n // batch)
    total = per_epoch * rc["epochs"]
    warmup = min(total, round(rc["warmupEpochs"] * per_epoch))
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "params": sum(p.numel() for p in model.parameters()),
           "steps_per_epoch": per_epoch, "epochs": []}
    best, best_state, best_epoch, since_best, stopped, step = None, None, None, 0, False, 0
    train_seconds = 0.0
    for epoch in range(rc["epochs"]):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        loss_sum, seen, lr = 0.0, 0, 0.0
        for b in range(per_epoch):
            rows = order[b * batch:(b + 1) * batch]
            xs, gts = [], []
            for row in rows:
                boxes, classes = train_t[row]
                if aug:
                    p = draw_augment(rng, size, aug)
                    xs.append(augment_image(train_x[row], p, norm))
                    boxes, classes = augment_boxes(boxes.astype(np.float64), classes, size, p)
                else:
                    xs.append(normalize(train_x[row], norm))
                gts.append((torch.from_numpy(np.asarray(boxes, dtype=np.float32).reshape(-1, 4)), torch.from_numpy(classes)))
            x = torch.from_numpy(np.stack(xs).astype(np.float32)).unsqueeze(1)
            lr = warmup_cosine(step, rc["lr"], warmup, total, rc["lr"] * rc["minLrRatio"])
            for g in opt.param_groups:
                g["lr"] = lr
            model.train()
            opt.zero_grad(set_to_none=True)
            loss = assigned_loss(cfg, model, x, gts)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), rc["clipGradNorm"])
            opt.step()
            step += 1
            loss_sum += loss.item() * len(rows)
            seen += len(rows)
        train_seconds += time.perf_counter() - t0
        val_map = map50(val_t, predict(model, cfg, val_x, norm, rc["evalBatchSize"], thresholds), cfg["numClasses"])
        monitored = 0.0 if val_map is None else val_map
        res["epochs"].append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "val_map50": val_map, "lr": lr,
                              "seconds": time.perf_counter() - t0})
        print(f"epoch {epoch + 1}/{rc['epochs']}: loss {loss_sum / seen:.4f}, val mAP@0.5 {monitored:.4f}", file=sys.stderr, flush=True)
        if best is None or monitored > best:
            best, best_epoch, since_best = monitored, epoch + 1, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
            if rc["patience"] > 0 and since_best >= rc["patience"]:
                stopped = True
                break
    model.load_state_dict(best_state)
    res.update({"best_epoch": best_epoch, "best_val_map50": best, "epochs_trained": len(res["epochs"]), "stopped_early": stopped,
                "train_seconds": train_seconds})
    res["test"] = predict(model, cfg, test_x, norm, rc["evalBatchSize"], thresholds)
    res["wall_seconds"] = time.perf_counter() - t_start
    print(json.dumps(res))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grad")
    g.add_argument("--config", required=True)
    g.add_argument("--weights", required=True)
    g.add_argument("--inputs", required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    s = sub.add_parser("assign")
    s.add_argument("--config", required=True)
    s.add_argument("--inputs", required=True)
    s.add_argument("--out", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--config", required=True)
    b.add_argument("--batch", type=int, default=16)
    b.add_argument("--boxes", type=int, default=2)
    b.add_argument("--steps", type=int, default=3)
    b.add_argument("--warmup", type=int, default=1)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--eval-batches", default="1,8")
    b.add_argument("--eval-images", type=int, default=32, help="images per eval measurement (runs = images / batch)")
    t = sub.add_parser("train")
    t.add_argument("--data", required=True, help="a folder written by bench/det-parity.ts (index.json and the split files)")
    t.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    {"grad": cmd_grad, "assign": cmd_assign, "bench": cmd_bench, "train": cmd_train}[a.cmd](a)


if __name__ == "__main__":
    main()

// `models import` of a detector made by another tool: PyTorch 1.13's torch.onnx.export of a small anchor-free
// detector (written below, run with /usr/bin/python3 — nothing downloaded) whose graph ends in decoded candidates
// (boxes [N, A, 4] in input pixels, scores [N, A, classes]) — no torchvision, so no NMS in the graph — imported with
// its meta file (layout `candidates`). The registry validates it; serving runs per-class NMS in TypeScript and must
// select what a NumPy greedy NMS (ONNX Runtime's rules) selects from PyTorch's own outputs; boxes come back in the
// original image's pixels. Mismatched meta files are refused with a sentence naming the problem.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PYTHON, pythonHas } from '../../test/integration/helpers/peers.js';
import { silentLogger } from '../core/logger.js';
import { grayPng } from '../data/images/testing.js';
import { ModelRegistry } from '../tracking/registry.js';
import { openTrackingFixture, type TrackingFixture } from '../tracking/testing.js';
import { toServedDetections } from './detections.js';
import { ServingService } from './service.js';
import type { DetectResult } from './types.js';

const hasTorch = pythonHas('torch', 'numpy');
const CLASSES = ['Aortic enlargement', 'Nodule/Mass', 'Pneumothorax'];

/** The detector, its export, its meta file, and a reference prediction (PyTorch forward + NumPy NMS). */
const PEER = String.raw`
import json, sys
import numpy as np
import torch
from torch import nn

SIZE, STRIDE, NC = 32, 4, 3

class TinyDetector(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, 2, 1), nn.SiLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.SiLU())
        self.box = nn.Conv2d(16, 4, 1)
        self.cls = nn.Conv2d(16, NC, 1)
        g = SIZE // STRIDE
        ys, xs = torch.meshgrid(torch.arange(g, dtype=torch.float32), torch.arange(g, dtype=torch.float32), indexing='ij')
        self.register_buffer('centres', torch.stack([xs.flatten(), ys.flatten()], 1).add(0.5).mul(STRIDE))

    def forward(self, images):
        f = self.body(images)
        ltrb = nn.functional.softplus(self.box(f)).flatten(2).transpose(1, 2) * STRIDE * 2
        c = self.centres.unsqueeze(0)
        boxes = torch.cat([c - ltrb[..., :2], c + ltrb[..., 2:]], 2)
        scores = torch.sigmoid(self.cls(f).flatten(2).transpose(1, 2))
        return boxes, scores

def model():
    torch.manual_seed(5)
    m = TinyDetector().eval()
    with torch.no_grad():
        m.cls.bias.copy_(torch.tensor([0.5, -0.2, 0.1]))
    return m

def nms(boxes, scores, score_t, iou_t, max_det):
    # ONNX Runtime's rules: candidates above score_t by descending score (ties: lower anchor), a candidate is kept
    # unless it overlaps a kept box of its class by IoU > iou_t; then the best max_det over all classes.
    def iou(a, b):
        w = min(a[2], b[2]) - max(a[0], b[0]); h = min(a[3], b[3]) - max(a[1], b[1])
        if w <= 0 or h <= 0: return 0.0
        inter = w * h
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
    out = []
    for c in range(scores.shape[1]):
        cand = sorted([a for a in range(scores.shape[0]) if scores[a, c] > score_t], key=lambda a: (-scores[a, c], a))
        kept = []
        for a in cand:
            if len(kept) >= max_det: break
            if all(iou(boxes[k], boxes[a]) <= iou_t for k in kept): kept.append(a)
        out += [{'classIndex': c, 'score': float(scores[a, c]), 'box': [float(v) for v in boxes[a]]} for a in kept]
    out.sort(key=lambda d: -d['score'])
    return out[:max_det]

cmd, out_dir = sys.argv[1], sys.argv[2]
m = model()
if cmd == 'export':
    torch.onnx.export(m, torch.zeros(1, 1, SIZE, SIZE), out_dir + '/det.onnx', input_names=['images'], output_names=['boxes', 'scores'],
                      dynamic_axes={'images': {0: 'batch'}, 'boxes': {0: 'batch'}, 'scores': {0: 'batch'}}, opset_version=13)
    meta = {
        'classes': sys.argv[3].split(','),
        'input': {'name': 'images', 'shape': ['batch', 1, SIZE, SIZE]},
        'preprocessing': {'size': SIZE, 'channels': 1, 'mean': 0.5, 'std': 0.25},
        'detection': {'layout': 'candidates', 'outputs': {'boxes': 'boxes', 'scores': 'scores'},
                      'scoreThreshold': 0.4, 'iouThreshold': 0.5, 'maxDetections': 15},
        'framework': 'pytorch ' + torch.__version__,
        'description': 'a tiny anchor-free detector for the import test',
    }
    json.dump(meta, open(out_dir + '/det.meta.json', 'w'), indent=2)
else:
    meta = json.load(open(out_dir + '/det.meta.json'))
    x = np.fromfile(out_dir + '/input.f32', dtype=np.float32).reshape(-1, 1, SIZE, SIZE)
    with torch.no_grad():
        boxes, scores = m(torch.from_numpy(x))
    d = meta['detection']
    print(json.dumps([nms(boxes[i].numpy().astype(np.float64), scores[i].numpy().astype(np.float64), d['scoreThreshold'], d['iouThreshold'], d['maxDetections'])
                      for i in range(x.shape[0])]))
`;

let f: TrackingFixture;
beforeAll(async () => {
  if (hasTorch) f = await openTrackingFixture('sqlite');
});
afterAll(async () => {
  await f?.close();
});

describe.skipIf(!hasTorch)('importing a torch.onnx.export detector with its meta file', () => {
  it('validates it; serving selects what PyTorch + NumPy NMS select, in the original image pixels', async () => {
    const peer = join(f.dir, 'tiny_detector.py');
    await writeFile(peer, PEER);
    execFileSync(PYTHON, [peer, 'export', f.dir, CLASSES.join(',')], { stdio: 'pipe' });
    const meta = JSON.parse(await readFile(join(f.dir, 'det.meta.json'), 'utf8')) as Record<string, unknown>;

    const registry = new ModelRegistry(f.t.db, f.objects, f.tracker);
    const mv = await registry.importOnnx({ name: 'torch-det', file: join(f.dir, 'det.onnx'), meta, by: 'integration-test' });
    expect(mv.metadata.detection).toEqual({
      layout: 'candidates',
      outputs: { boxes: 'boxes', scores: 'scores' },
      scoreThreshold: 0.4,
      iouThreshold: 0.5,
      maxDetections: 15,
      boxFormat: 'xyxy-pixels',
    });
    expect(mv.metadata.classes).toEqual(CLASSES);
    await registry.setAlias('torch-det', 'production', 1, { by: 't', reason: 'test' });

    const images = [
      await grayPng(80, 50, (x, y) => 40 + 2 * x + (x > 30 && x < 55 && y > 10 && y < 35 ? 120 : 0)),
      await grayPng(32, 32, (x, y) => 128 + 90 * Math.sin(x * 0.4) * Math.cos(y * 0.3)),
    ];
    const model = await registry.loadForInference('torch-det', { version: 1 });
    try {
      const inputs = await Promise.all(images.map((img) => model.preprocess(img)));
      const all = new Float32Array(inputs.length * inputs[0]!.length);
      inputs.forEach((x, i) => all.set(x, i * x.length));
      await writeFile(join(f.dir, 'input.f32'), Buffer.from(all.buffer));
      const torch = JSON.parse(execFileSync(PYTHON, [peer, 'predict', f.dir], { encoding: 'utf8' })) as {
        classIndex: number;
        score: number;
        box: number[];
      }[][];
      const ours = (await model.forward(all, images.length)).detections!;
      let total = 0;
      for (let i = 0; i < images.length; i++) {
        expect(ours[i]!.map((d) => d.classIndex)).toEqual(torch[i]!.map((d) => d.classIndex));
        ours[i]!.forEach((d, j) => {
          expect(d.score).toBeCloseTo(torch[i]![j]!.score, 5);
          d.box.forEach((v, c) => expect(v).toBeCloseTo(torch[i]![j]!.box[c]!, 3));
        });
        total += ours[i]!.length;
      }
      expect(total).toBeGreaterThan(2);

      const serving = new ServingService({ registry, db: f.t.db, logger: silentLogger }, { threads: 1, aliasPollMs: 0 });
      try {
        const answers = (await serving.predictImages('torch-det', images)) as DetectResult[];
        expect(answers[0]!.image).toEqual({ width: 80, height: 50 });
        answers.forEach((a, i) => expect(a.detections).toEqual(toServedDetections(ours[i]!, CLASSES, a.image, 32)));
      } finally {
        await serving.close();
      }
    } finally {
      await model.close();
    }
  });

  it('refuses a meta file that does not match the model, naming the problem', async () => {
    const meta = JSON.parse(await readFile(join(f.dir, 'det.meta.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    const registry = new ModelRegistry(f.t.db, f.objects, f.tracker);
    const file = join(f.dir, 'det.onnx');
    const attempt = (m: unknown) => registry.importOnnx({ name: 'torch-det-bad', file, meta: m, by: 't' });
    await expect(attempt({ ...meta, classes: ['a', 'b'] })).rejects.toThrow(/'scores' \[2, A, 2\]; the model returned \[2, 64, 4\] and \[2, 64, 3\]/);
    await expect(attempt({ ...meta, detection: { ...meta.detection, outputs: { boxes: 'boxes', scores: 'probs' } } })).rejects.toThrow(
      /no output named 'probs'/,
    );
    await expect(attempt({ ...meta, detection: { ...meta.detection, layout: 'nms' } })).rejects.toThrow(
      /detection\.outputs\.selected: required by layout 'nms'/,
    );
    await expect(attempt({ ...meta, detection: { ...meta.detection, scoreThreshold: 1.5 } })).rejects.toThrow(/detection\.scoreThreshold/);
    await expect(attempt({ ...meta, detection: { ...meta.detection, letterbox: 'stretch' } })).rejects.toThrow(/Unrecognized key/);
  });
});

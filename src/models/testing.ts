// Test data for the model tests: a trivially separable 2-class set, so that a model that does not learn it in a
// few dozen steps has a broken forward, backward, optimizer or state handling.
import { type Batch, Graph, type StoredTensor } from '../engine/index.js';
import { type DetectorConfig, detectorModel } from './detector.js';

const SIZE = 32;

/** n 32×32 images, each of a random class: stripes of random phase and period along rows (0) or columns (1). */
export function stripes(n: number, seed: number): { batch: Batch; labels: number[] } {
  let s = seed >>> 0;
  const rand = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const images = new Float32Array(n * SIZE * SIZE);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = rand() < 0.5 ? 0 : 1;
    labels.push(c);
    const period = 4 + Math.floor(rand() * 5);
    const phase = rand() * 2 * Math.PI;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const t = c === 0 ? y : x;
        images[i * SIZE * SIZE + y * SIZE + x] = Math.sin((2 * Math.PI * t) / period + phase) + (rand() - 0.5);
      }
    }
  }
  return {
    batch: { images: { data: images, shape: [n, 1, SIZE, SIZE] }, labels: { data: BigInt64Array.from(labels, BigInt), shape: [n] } },
    labels,
  };
}

/**
 * A detector's weights from a seeded train graph with the BatchNorm statistics and the head's biases spread out, so
 * that exported boxes and scores vary across anchors (an untrained head scores every anchor alike).
 */
export function spreadDetectorWeights(cfg: DetectorConfig, seed: number): Map<string, StoredTensor> {
  const g = new Graph('weights', { mode: 'train', seed });
  detectorModel(cfg, { targets: false })(g);
  const weights = new Map<string, StoredTensor>();
  for (const p of g.state()) {
    let data = p.values() as Float32Array;
    if (/\.bn\./.test(p.name)) data = data.map((v, i) => (p.name.endsWith('running_var') ? 1 + 0.1 * (i % 5) : v + 0.05 * Math.sin(i + 1)));
    if (/cv3\.\d\.2\.bias$/.test(p.name)) data = data.map((v, i) => v + 2.5 * Math.sin(3 * i + 1) + 1);
    if (/cv2\.\d\.2\.bias$/.test(p.name)) data = data.map((v, i) => v + Math.sin(7 * i));
    weights.set(p.name, { dtype: 'float32', shape: [...p.shape] as number[], data });
  }
  return weights;
}

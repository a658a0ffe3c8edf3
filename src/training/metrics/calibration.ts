// Expected calibration error (Guo et al. 2017): predictions are binned by confidence (the top probability) into
// equal-width bins; ECE = Σ_b (n_b / N) · |accuracy_b − mean confidence_b|. Bin b covers (b/B, (b+1)/B], the
// first bin also takes confidence 0.
import { ValidationError } from '../../core/errors.js';
import { argmaxRow } from './confusion.js';

export interface ReliabilityBin {
  /** Lower and upper edge of the bin. */
  lo: number;
  hi: number;
  count: number;
  /** null for an empty bin. */
  accuracy: number | null;
  confidence: number | null;
}

export interface CalibrationSummary {
  ece: number;
  bins: ReliabilityBin[];
}

export function expectedCalibrationError(probs: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, numBins = 15): CalibrationSummary {
  const n = labels.length;
  if (probs.length !== n * numClasses) throw new ValidationError(`ECE: ${probs.length} probabilities for ${n} rows × ${numClasses} classes`);
  if (!Number.isInteger(numBins) || numBins < 1) throw new ValidationError(`ECE: bins must be a positive integer, got ${numBins}`);
  const count = new Array<number>(numBins).fill(0);
  const correct = new Array<number>(numBins).fill(0);
  const confSum = new Array<number>(numBins).fill(0);
  for (let i = 0; i < n; i++) {
    const pred = argmaxRow(probs, i * numClasses, numClasses);
    const conf = probs[i * numClasses + pred] as number;
    const b = Math.min(numBins - 1, Math.max(0, Math.ceil(conf * numBins) - 1));
    count[b]! += 1;
    confSum[b]! += conf;
    if (pred === labels[i]) correct[b]! += 1;
  }
  let ece = 0;
  const bins = count.map((k, b) => {
    const accuracy = k > 0 ? correct[b]! / k : null;
    const confidence = k > 0 ? confSum[b]! / k : null;
    if (k > 0) ece += (k / n) * Math.abs(accuracy! - confidence!);
    return { lo: b / numBins, hi: (b + 1) / numBins, count: k, accuracy, confidence };
  });
  return { ece, bins };
}

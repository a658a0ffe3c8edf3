// An exponential moving average of the weights (Polyak averaging, as timm's ModelEmaV2 keeps it): after every
// optimizer step, avg ← d·avg + (1 − d)·w for every parameter and BatchNorm running statistic. Validation, the
// best-weights checkpoint and the final test then read the average instead of the last step's weights, which
// smooths out the noise of the last few hundred small-batch steps.
//
// The decay warms up as min(d, (1 + n) / (10 + n)) over the n updates so far, so the average is not dominated by
// the random initialization during the first epochs (the same ramp as TensorFlow's ExponentialMovingAverage with
// num_updates). The average lives in the run's last checkpoint under the `ema.` prefix, so `--resume` continues it.
import { ValidationError } from '../core/errors.js';
import type { StoredTensor } from '../engine/index.js';

const PREFIX = 'ema.';

export class WeightAverage {
  private readonly values = new Map<string, StoredTensor>();

  /** Starts the average at `initial` (copied): the session's weights before the first step. */
  constructor(
    readonly decay: number,
    initial: ReadonlyMap<string, StoredTensor>,
    private updates = 0,
  ) {
    if (!(decay > 0 && decay < 1)) throw new ValidationError(`the weight-average decay must be in (0, 1), got ${decay}`);
    for (const [name, t] of initial) this.values.set(name, { ...t, data: t.data.slice() });
  }

  /** The decay the next update uses. */
  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  /** Folds the weights just produced by a step into the average. */
  update(current: ReadonlyMap<string, StoredTensor>): void {
    const d = this.currentDecay();
    for (const [name, avg] of this.values) {
      const w = current.get(name);
      if (!w) throw new ValidationError(`the weight average has '${name}', the session does not`);
      if (avg.dtype !== 'float32' && avg.dtype !== 'float64') {
        avg.data.set(w.data as never); // integer state (counters) is copied, not averaged
        continue;
      }
      const fa = avg.data as Float32Array | Float64Array;
      const fx = w.data as Float32Array | Float64Array;
      for (let i = 0; i < fa.length; i++) fa[i] = d * (fa[i] as number) + (1 - d) * (fx[i] as number);
    }
    this.updates += 1;
  }

  /** The averaged weights (live views: copy before the next update if they must outlive it). */
  tensors(): Map<string, StoredTensor> {
    return new Map(this.values);
  }

  /** Adds the average to a checkpoint's tensors, with the update count under `ema.updates`. */
  addTo(tensors: Map<string, StoredTensor>): void {
    for (const [name, t] of this.values) tensors.set(PREFIX + name, { ...t, data: t.data.slice() });
    tensors.set(`${PREFIX}updates`, { dtype: 'float64', shape: [1], data: Float64Array.of(this.updates) });
  }

  /**
   * Splits a checkpoint's tensors into the session's own and the average stored beside them; `average` is
   * undefined when the checkpoint has none (a run trained without one).
   */
  static split(tensors: ReadonlyMap<string, StoredTensor>, decay: number): { own: Map<string, StoredTensor>; average?: WeightAverage } {
    const own = new Map<string, StoredTensor>();
    const averaged = new Map<string, StoredTensor>();
    let updates: number | undefined;
    for (const [name, t] of tensors) {
      if (!name.startsWith(PREFIX)) own.set(name, t);
      else if (name === `${PREFIX}updates`) updates = Number(t.data[0]);
      else averaged.set(name.slice(PREFIX.length), t);
    }
    if (updates === undefined || averaged.size === 0 || decay <= 0) return { own };
    return { own, average: new WeightAverage(decay, averaged, updates) };
  }
}

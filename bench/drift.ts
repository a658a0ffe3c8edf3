// `npm run bench -- drift [--streams 100] [--shifted-streams 40] [--length 300] [--every 25] [--alpha 0.05] [--size 128] [--seed 1]`:
// false alarms and time to detection of the drift checks (docs/drift.md, "Measured").
//
// What is real and what is simulated:
// - Images: real phantoms from the `data synth` renderer (src/data/synth), chest X-rays at size×size and OCT B-scans
//   at size×(0.97·size); their statistics (intensity mean/std of the 8-bit grey image, width × height) are measured
//   with the function the ETL and the production observer use (data/images/intensity.ts).
// - Model outputs: SIMULATED, not a model run per image (the 2-core machine is shared): a nine-class softmax whose
//   true-class logit is raised by a margin (2.6) with unit Gaussian noise, the modality's normal class raised by 0.8
//   on abnormal images (about 85 % top-1) — the outputs depend on the true class only, never on the acquisition. So
//   an acquisition shift can only be seen through the image statistics here, and there are no embeddings (the MMD
//   test is skipped; its level is tested in src/monitoring/drift/stats/stats.test.ts).
// - The tests: compareWindow (src/monitoring/drift/compare.ts), the code `drift check` runs, on a CXR window.
//
// Protocol: a reference of 40 validation images per CXR class (drawn scanner styles); each stream is a sequence of
// CXR-declared studies checked every `every` studies from the 50th on, over the last ≤ 200 studies (a count window).
// Each look runs the test family Holm-corrected at α' = α / looks, so a stream's chance of any false alarm over
// all its looks is ≤ α (Bonferroni over the looks). Unshifted streams draw (without replacement) from a pool of
// further phantoms of the reference distribution — a random subset of i.i.d. draws is i.i.d. — so under no shift
// the reference and the stream are exchangeable. Shifted streams:
//   acquisition  every CXR rendered with the `film` scanner style (`data synth --cxr-scanner film`)
//   class-mix    lung-covid at 50 % instead of 20 % (the other four CXR classes share the rest)
//   modality     20 % of the CXR-declared studies are OCT B-scans (a misrouted series)

import { softmaxRows } from '../src/core/probabilities.js';
import { Rng, subSeed } from '../src/core/rng.js';
import { CLASS_MODALITY, classesOf, NORMAL_CLASS, SECONDREAD_CLASSES, type SecondreadClass } from '../src/data/classes.js';
import { intensityStats } from '../src/data/images/intensity.js';
import { renderTask } from '../src/data/synth/render.js';
import { compareWindow, type ReferenceSample } from '../src/monitoring/drift/compare.js';
import type { DriftObservation, ImageStats } from '../src/monitoring/drift/types.js';
import { fitTemperature } from '../src/training/metrics/temperature.js';
import { benchArgs, refuse } from './support/args.js';

const USAGE = 'usage: npm run bench -- drift [--streams 100] [--shifted-streams 40] [--length 300] [--every 25] [--alpha 0.05] [--size 128] [--seed 1]';
const CXR = classesOf('cxr');
const OCT = classesOf('oct');
const WINDOW = 200;
const FIRST_LOOK = 50;

interface Phantom {
  cls: SecondreadClass;
  image: ImageStats;
}

function render(cls: SecondreadClass, seed: number, size: number, scanner?: string): Phantom {
  const oct = CLASS_MODALITY[cls] === 'oct';
  const r = renderTask({ cls, seed, width: size, height: oct ? Math.round(size * 0.97) : size, ...(scanner ? { scanner } : {}) });
  const s = intensityStats(r.data);
  return { cls, image: { mean: s.mean, std: s.std, width: r.width, height: r.height } };
}

/** The simulated model's logits for an image of class `cls` (see the header). */
function simulatedLogits(cls: SecondreadClass, rng: Rng): number[] {
  const normal = NORMAL_CLASS[CLASS_MODALITY[cls]];
  return SECONDREAD_CLASSES.map((c) => (c === cls ? 2.6 : 0) + (c === normal && cls !== normal ? 0.8 : 0) + rng.normal(0, 1));
}

/** Top class and calibrated probability: softmax(logits / T) with the temperature fitted on the reference, as the trainer fits it on val. */
function simulatedRead(cls: SecondreadClass, rng: Rng, temperature: number): { topClass: string; topProbability: number; correct: boolean } {
  const p = softmaxRows(simulatedLogits(cls, rng), SECONDREAD_CLASSES.length, temperature);
  let k = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[k]!) k = i;
  return { topClass: SECONDREAD_CLASSES[k]!, topProbability: p[k]!, correct: SECONDREAD_CLASSES[k] === cls };
}

let TEMPERATURE = 1;

function observation(p: Phantom, rng: Rng, i: number): DriftObservation & { correct: boolean } {
  const r = simulatedRead(p.cls, rng, TEMPERATURE);
  return {
    studyId: null,
    model: 'bench',
    version: 1,
    modality: 'cxr',
    topClass: r.topClass,
    topProbability: r.topProbability,
    image: p.image,
    embedding: null,
    at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    correct: r.correct,
  };
}

interface StreamOutcome {
  /** Studies seen when the first look detected drift; null: never within the stream. */
  detectedAt: number | null;
  /** Tests that fired at that look. */
  tests: string[];
  /** At the look after 200 studies: the CBPE estimate and the realized accuracy of the window. */
  cbpe: number;
  accuracy: number;
  /** One check of the first ≤ 200 studies at the full α (no looks correction): the per-check false-alarm figure. */
  singleCheckAlarm: boolean;
}

function runStream(ref: ReferenceSample, draw: (i: number) => Phantom, o: { length: number; every: number; alpha: number; seed: number }): StreamOutcome {
  const rng = new Rng(subSeed(o.seed, 'model'));
  const obs = Array.from({ length: o.length }, (_, i) => observation(draw(i), rng, i));
  const looks = lookPoints(o.length, o.every);
  const perLook = o.alpha / looks.length;
  const at200 = obs.slice(0, Math.min(WINDOW, o.length));
  const out: StreamOutcome = {
    detectedAt: null,
    tests: [],
    cbpe: at200.reduce((s, w) => s + w.topProbability, 0) / at200.length,
    accuracy: at200.filter((w) => w.correct).length / at200.length,
    singleCheckAlarm: compareWindow(ref, at200, { alpha: o.alpha }).detected,
  };
  for (const n of looks) {
    const c = compareWindow(ref, obs.slice(Math.max(0, n - WINDOW), n), { alpha: perLook });
    if (c.detected) {
      out.detectedAt = n;
      out.tests = c.tests.filter((t) => t.detected).map((t) => t.test);
      break;
    }
  }
  return out;
}

function lookPoints(length: number, every: number): number[] {
  const pts: number[] = [];
  for (let n = FIRST_LOOK; n <= length; n += every) pts.push(n);
  return pts;
}

/** A sampler without replacement from `pool` (re-shuffled per stream). */
function withoutReplacement<T>(pool: readonly T[], rng: Rng): (i: number) => T {
  const idx = pool.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return (i) => pool[idx[i % idx.length]!]!;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

export async function main(argv: string[]): Promise<void> {
  const { streams, shifted, length, every, alpha, size, seed } = benchArgs(
    argv,
    USAGE,
    { streams: 100, shifted: 40, length: 300, every: 25, alpha: 0.05, size: 128, seed: 1 },
    {
      '--streams': (o, v) => (o.streams = v.number()),
      '--shifted-streams': (o, v) => (o.shifted = v.number()),
      '--length': (o, v) => (o.length = v.number()),
      '--every': (o, v) => (o.every = v.number()),
      '--alpha': (o, v) => (o.alpha = v.number()),
      '--size': (o, v) => (o.size = v.number()),
      '--seed': (o, v) => (o.seed = v.number()),
    },
    (o) => {
      if (!(o.streams >= 20 && o.shifted >= 1 && o.length >= FIRST_LOOK && o.every >= 1 && o.alpha > 0 && o.alpha < 0.5 && o.size >= 32))
        refuse(`out of range: --streams >= 20, --shifted-streams >= 1, --length >= ${FIRST_LOOK}, --every >= 1, 0 < --alpha < 0.5, --size >= 32`, USAGE);
    },
  );
  const t0 = performance.now();
  const seeds = (tag: string, cls: string, n: number) => Array.from({ length: n }, (_, i) => subSeed(seed, tag, cls, i));
  // Pools sized so that no stream needs an image twice: ≥ length images of the reference distribution.
  const perClassPool = Math.ceil((length * 1.1) / CXR.length);
  const reference = CXR.flatMap((c) => seeds('reference', c, 40).map((s) => render(c, s, size)));
  const same = CXR.flatMap((c) => seeds('pool', c, perClassPool).map((s) => render(c, s, size)));
  const film = CXR.flatMap((c) => seeds('pool', c, perClassPool).map((s) => render(c, s, size, 'film')));
  const octPool = OCT.flatMap((c) => seeds('oct', c, Math.ceil(length / OCT.length)).map((s) => render(c, s, size)));
  const renderSeconds = (performance.now() - t0) / 1000;

  // The model's temperature, fitted on the reference's logits (its validation split) by NLL, as training/finalize does.
  const fitRng = new Rng(subSeed(seed, 'reference-model'));
  const refLogits = reference.flatMap((p) => simulatedLogits(p.cls, fitRng));
  TEMPERATURE = fitTemperature(
    refLogits,
    reference.map((p) => SECONDREAD_CLASSES.indexOf(p.cls)),
    SECONDREAD_CLASSES.length,
  ).temperature;
  const refRng = new Rng(subSeed(seed, 'reference-model'));
  const refObs = reference.map((p, i) => observation(p, refRng, i));
  const ref: ReferenceSample = {
    classes: SECONDREAD_CLASSES,
    topProbability: refObs.map((o) => o.topProbability),
    topClass: refObs.map((o) => o.topClass),
    image: refObs.map((o) => o.image!),
    embeddings: [],
  };
  const byClass = (pool: readonly Phantom[]) => new Map(CXR.map((c) => [c, pool.filter((p) => p.cls === c)]));
  const sameByClass = byClass(same);

  const scenarios: { name: string; n: number; draw: (rng: Rng) => (i: number) => Phantom }[] = [
    { name: 'unshifted', n: streams, draw: (rng) => withoutReplacement(same, rng) },
    { name: 'acquisition (film)', n: shifted, draw: (rng) => withoutReplacement(film, rng) },
    {
      name: 'class mix (covid 50%)',
      n: shifted,
      draw: (rng) => {
        const pools = new Map(CXR.map((c) => [c, withoutReplacement(sameByClass.get(c)!, rng.fork(c))]));
        const counters = new Map<string, number>(CXR.map((c) => [c, 0]));
        return () => {
          const c = rng.chance(0.5) ? 'lung-covid' : rng.pick(CXR.filter((x) => x !== 'lung-covid'));
          const k = counters.get(c)!;
          counters.set(c, k + 1);
          return pools.get(c)!(k);
        };
      },
    },
    {
      name: 'modality (20% OCT)',
      n: shifted,
      draw: (rng) => {
        const cxr = withoutReplacement(same, rng.fork('cxr'));
        const oct = withoutReplacement(octPool, rng.fork('oct'));
        let a = 0;
        let b = 0;
        return () => (rng.chance(0.2) ? oct(b++) : cxr(a++));
      },
    },
  ];

  const looks = lookPoints(length, every);
  const singles: string[] = [];
  console.log(
    `drift bench: reference ${reference.length} CXR phantoms (40 per class, ${size}×${size}); streams of ${length} CXR-declared studies, looks at ${looks[0]}…${looks.at(-1)} every ${every} (${looks.length} looks) over the last ≤ ${WINDOW}; ` +
      `α = ${alpha} per stream → α' = ${(alpha / looks.length).toPrecision(3)} per look (Holm within a look); simulated model outputs (temperature ${TEMPERATURE.toFixed(3)} fitted on the reference), real phantom image statistics; seed ${seed}`,
  );
  console.log(`rendered ${reference.length + same.length + film.length + octPool.length} phantoms in ${renderSeconds.toFixed(1)} s`);
  console.log(
    '\n| scenario | streams | streams with an alarm | studies to detection: median | 90th pct | max | tests that fired first (share of alarms) | CBPE − accuracy at 200 (mean) |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const s of scenarios) {
    const outcomes: StreamOutcome[] = [];
    for (let k = 0; k < s.n; k++) {
      const rng = new Rng(subSeed(seed, s.name, k));
      outcomes.push(runStream(ref, s.draw(rng), { length, every, alpha, seed: subSeed(seed, s.name, 'model', k) }));
    }
    const hits = outcomes.filter((o) => o.detectedAt !== null);
    const at = hits.map((o) => o.detectedAt!);
    const fired = new Map<string, number>();
    for (const o of hits) for (const t of o.tests) fired.set(t, (fired.get(t) ?? 0) + 1);
    const firedText =
      [...fired]
        .sort((a, b) => b[1] - a[1])
        .map(([t, n]) => `${t} ${pct(n / hits.length)}`)
        .join(', ') || '—';
    const gap = outcomes.reduce((sum, o) => sum + (o.cbpe - o.accuracy), 0) / outcomes.length;
    const det = at.length ? [quantile(at, 0.5), quantile(at, 0.9), Math.max(...at)].map(String) : ['—', '—', '—'];
    const undetected = s.n - hits.length;
    singles.push(`${s.name}: ${outcomes.filter((o) => o.singleCheckAlarm).length}/${s.n}`);
    console.log(
      `| ${s.name} | ${s.n} | ${hits.length} (${pct(hits.length / s.n)}) | ${det[0]} | ${det[1]} | ${det[2]}${undetected > 0 && s.name !== 'unshifted' ? ` (${undetected} not within ${length})` : ''} | ${firedText} | ${gap >= 0 ? '+' : ''}${gap.toFixed(3)} |`,
    );
  }
  console.log(
    `\none check of the first ${Math.min(WINDOW, length)} studies at the full α = ${alpha} (Holm over the tests), streams with an alarm — ${singles.join('; ')}`,
  );
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

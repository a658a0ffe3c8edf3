// Candidate evaluation: a registered version is judged against a change protocol — scored with production on the
// locked dataset version's splits (the same images, the same preprocessing and probabilities as serving), its own
// policy fitted and tested, its latency timed in the serving runtime — and every criterion becomes one row of the
// report (criteria.ts). Storing the verdict, moving `staging` and writing the audit entry are service.ts's.
import { performance } from 'node:perf_hooks';

import { ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ProgressFn } from '../core/progress.js';
import { resolveVersionRef } from '../data/datasets/repository.js';
import { splitImages } from '../monitoring/evaluations/run.js';
import type { EvaluationSplit } from '../monitoring/evaluations/types.js';
import { ServingService } from '../serving/service.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ModelRegistry, ModelVersion } from '../tracking/registry.js';
import type { PolicyRule } from '../workflow/policy.js';
import { scoreSplit } from '../workflow/score-split.js';
import {
  calibration,
  comparePaired,
  type CriterionResult,
  falseClearCriterion,
  type FalseClearFigures,
  latencyCriterion,
  nonInferiority,
  type SplitReads,
} from './criteria.js';
import type { ChangeProtocol, LoadedProtocol } from './protocol.js';
import { type PairedComparison, quantileSorted } from './statistics.js';

export const REPORT_SCHEMA = 'secondread.protocol-report/1';

export interface EvaluateDeps {
  db: Db;
  objects: ObjectStore;
  registry: ModelRegistry;
  logger: Logger;
  cacheDir?: string;
}

export interface EvaluateTarget {
  model: string;
  version: number;
  /** Overrides the protocol's locked dataset version (recorded in the report). */
  datasetVersion?: string;
}

/** The whole evaluation: what was compared, every criterion, and the figures behind them. */
export interface ProtocolEvaluation {
  schema: typeof REPORT_SCHEMA;
  model: string;
  candidateVersion: number;
  baselineVersion: number | null;
  datasetVersion: string;
  protocol: { name: string; version: number; sha256: string; document: ChangeProtocol };
  passed: boolean;
  /** The failed criteria's summaries (empty when passed). */
  failures: string[];
  criteria: CriterionResult[];
  comparisons: { split: string; comparison: (PairedComparison & { excluded: number }) | null }[];
  calibration: { split: string; ece: number; images: number };
  falseClear: FalseClearFigures;
  latency: { requests: number; warmup: number; threads: number; p50Ms: number; p95Ms: number; maxMs: number };
  /** The candidate's fitted policy rule (stored as its policy when the candidate passes). */
  policyRule: PolicyRule;
}

/** The dataset version the protocol locks: the override, else the protocol's, else the production version's (else the candidate's). */
async function lockedDataset(deps: EvaluateDeps, p: ChangeProtocol, t: EvaluateTarget, baseline: ModelVersion | null, candidate: ModelVersion) {
  const ref = t.datasetVersion ?? p.evaluation.dataset ?? baseline?.datasetVersion ?? candidate.datasetVersion;
  if (!ref)
    throw new ValidationError(
      'no dataset version to evaluate on: the protocol names none (evaluation.dataset), and neither the production nor the candidate version records one',
    );
  return resolveVersionRef(deps.db, ref);
}

/** Sequential single-image requests through a serving runtime of its own (not the live server's), as a reader's request would run. */
async function measureLatency(
  deps: EvaluateDeps,
  mv: ModelVersion,
  images: Uint8Array[],
  o: ChangeProtocol['criteria']['latency'],
): Promise<ProtocolEvaluation['latency']> {
  if (images.length === 0) throw new ValidationError('no images to time the candidate on');
  const serving = new ServingService(
    { registry: deps.registry, db: deps.db, logger: deps.logger },
    { aliasPollMs: 0, threads: o.threads, cacheDir: deps.cacheDir, pinnedVersions: 1 },
  );
  try {
    for (let i = 0; i < o.warmup; i++) await serving.predict(mv.name, images[i % images.length]!, { version: mv.version });
    const ms = new Float64Array(o.requests);
    for (let i = 0; i < o.requests; i++) {
      const t0 = performance.now();
      await serving.predict(mv.name, images[i % images.length]!, { version: mv.version });
      ms[i] = performance.now() - t0;
    }
    ms.sort();
    return {
      requests: o.requests,
      warmup: o.warmup,
      threads: o.threads,
      p50Ms: quantileSorted(ms, 0.5),
      p95Ms: quantileSorted(ms, 0.95),
      maxMs: ms[ms.length - 1]!,
    };
  } finally {
    await serving.close();
  }
}

/** Largest number of distinct images read for the latency run (they are cycled through). */
const LATENCY_IMAGES = 64;

/**
 * Evaluates `target` against the protocol, comparing with the model's current `production` version (none: the
 * comparisons are not applicable). Unknown model/version/dataset: NotFoundError; a candidate that is production
 * already, or a protocol for another model: ValidationError.
 */
export async function evaluateCandidate(
  deps: EvaluateDeps,
  target: EvaluateTarget,
  loaded: LoadedProtocol,
  o: { onProgress?: ProgressFn; signal?: AbortSignal } = {},
): Promise<ProtocolEvaluation> {
  const p = loaded.protocol;
  if (p.model !== undefined && p.model !== target.model)
    throw new ValidationError(`change protocol '${p.name}' governs model '${p.model}', not '${target.model}'`);
  const candidate = await deps.registry.resolve(target.model, { version: target.version });
  const productionVersion = (await deps.registry.aliases(target.model)).production;
  if (productionVersion === candidate.version)
    throw new ValidationError(`${target.model} v${candidate.version} is production already: nothing to evaluate it against`);
  const baseline = productionVersion === undefined ? null : await deps.registry.resolve(target.model, { version: productionVersion });
  const datasetVersion = await lockedDataset(deps, p, target, baseline, candidate);

  const cache = new Map<string, SplitReads>();
  const reads = async (mv: ModelVersion, split: string): Promise<SplitReads> => {
    const k = `${mv.version}/${split}`;
    let r = cache.get(k);
    if (!r) {
      const s = await scoreSplit(
        { ...deps, batchSize: 32, threads: p.criteria.latency.threads },
        { model: mv.name, version: mv.version, datasetVersion, split },
        { signal: o.signal, onProgress: (e) => o.onProgress?.({ ...e, phase: `score v${mv.version} ${split}` }) },
      );
      r = { classes: s.model.classes, cases: s.cases };
      cache.set(k, r);
    }
    return r;
  };

  const criteria: CriterionResult[] = [];
  const comparisons: ProtocolEvaluation['comparisons'] = [];
  for (const split of p.evaluation.splits) {
    const cmp = baseline ? comparePaired(await reads(candidate, split), await reads(baseline, split), p.evaluation.bootstrap) : null;
    comparisons.push({ split, comparison: cmp });
    criteria.push(nonInferiority('accuracy', split, cmp, p.criteria.accuracy.margin));
    criteria.push(nonInferiority('macro_f1', split, cmp, p.criteria.macroF1.margin));
  }
  const fc = falseClearCriterion(
    await reads(candidate, p.criteria.falseClear.fitSplit),
    await reads(candidate, p.criteria.falseClear.testSplit),
    p.criteria.falseClear,
  );
  criteria.push(fc.result);
  const cal = calibration(await reads(candidate, p.criteria.ece.split), p.criteria.ece.split, p.criteria.ece.max);
  criteria.push(cal.result);

  const timed = (await splitImages(deps.db, datasetVersion, p.criteria.ece.split as EvaluationSplit)).slice(0, LATENCY_IMAGES);
  const bytes = await Promise.all(timed.map((img) => deps.objects.getBytes(img.objectKey)));
  o.onProgress?.({ phase: 'latency', done: 0, total: p.criteria.latency.requests });
  const latency = await measureLatency(deps, candidate, bytes, p.criteria.latency);
  criteria.push(latencyCriterion(latency.p95Ms, { ...p.criteria.latency }));

  const failures = criteria.filter((c) => !c.passed).map((c) => `${c.criterion}${c.split ? ` (${c.split})` : ''}: ${c.summary}`);
  deps.logger.info(
    { model: target.model, candidate: candidate.version, baseline: baseline?.version ?? null, protocol: p.name, passed: failures.length === 0 },
    'candidate evaluated against the change protocol',
  );
  return {
    schema: REPORT_SCHEMA,
    model: candidate.name,
    candidateVersion: candidate.version,
    baselineVersion: baseline?.version ?? null,
    datasetVersion,
    protocol: { name: p.name, version: p.version, sha256: loaded.sha256, document: p },
    passed: failures.length === 0,
    failures,
    criteria,
    comparisons,
    calibration: { split: p.criteria.ece.split, ece: cal.ece, images: cal.images },
    falseClear: fc.figures,
    latency,
    policyRule: fc.fit.rule,
  };
}

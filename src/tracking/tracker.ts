// Experiment tracking: experiments, runs, metrics, system metrics and artifacts. Run metadata and
// metrics live in the metadata DB; artifact bytes live in the object store under
// runs/<run>/artifacts/<name>, with a row per artifact so listings never walk the store.
import { hostname } from 'node:os';

import { type Clock, systemClock } from '../core/clock.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Db } from '../storage/db.js';
import type { ObjectBody, ObjectStore } from '../storage/object-store.js';
import type { RunsTable } from '../storage/schema.js';
import { processCodeVersion } from './code-version.js';
import { assertArtifactName, assertLabel } from './names.js';
import { SYSTEM_METRIC_KEYS, SystemSampler } from './system-metrics.js';
import { type ArtifactInfo, type ExperimentRecord, type MetricPoint, RUN_STATUSES, type RunRecord, type RunStatus } from './types.js';

/** Rows per INSERT: 7 bound values each stays far below SQLite's variable limit. */
const METRIC_BATCH = 500;

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  json: 'application/json',
  md: 'text/markdown; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  onnx: 'application/octet-stream',
  safetensors: 'application/octet-stream',
};

export function artifactKey(runId: string, name: string): string {
  return `runs/${runId}/artifacts/${assertArtifactName(name)}`;
}

export interface ListRunsOptions {
  experiment?: string;
  status?: RunStatus;
  limit?: number;
}

export interface StartRunOptions {
  experiment: string;
  name?: string;
  params: Record<string, unknown>;
  tags?: Record<string, string>;
  datasetVersion?: string;
  parentRunId?: string;
}

export class Tracker {
  private readonly samplers = new Map<string, SystemSampler>();

  constructor(
    readonly db: Db,
    readonly objects: ObjectStore,
    private readonly clock: Clock = systemClock,
  ) {}

  private now(): string {
    return this.clock.now().toISOString();
  }

  async getOrCreateExperiment(name: string): Promise<ExperimentRecord> {
    assertLabel('experiment name', name, 100);
    // Insert-or-ignore then read: two processes creating the same experiment both end up with one row.
    await this.db
      .insertInto('experiments')
      .values({ id: newId('exp_'), name, created_at: this.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db.selectFrom('experiments').select(['id', 'name']).where('name', '=', name).executeTakeFirstOrThrow();
    return row;
  }

  async listExperiments(): Promise<(ExperimentRecord & { runs: number; createdAt: string })[]> {
    const rows = await this.db
      .selectFrom('experiments as e')
      .leftJoin('runs as r', 'r.experiment_id', 'e.id')
      .select((eb) => ['e.id', 'e.name', 'e.created_at', eb.fn.count<number>('r.id').as('runs')])
      .groupBy(['e.id', 'e.name', 'e.created_at'])
      .orderBy('e.name')
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, runs: Number(r.runs), createdAt: r.created_at }));
  }

  /** Starts a run, recording the git commit (when there is one), the host and the start time. */
  async startRun(o: StartRunOptions): Promise<RunRecord> {
    const params = o.params ?? {};
    if (typeof params !== 'object' || Array.isArray(params)) throw new ValidationError('run params must be an object');
    const tags = o.tags ?? {};
    for (const [k, v] of Object.entries(tags)) {
      assertLabel('tag name', k, 100);
      if (typeof v !== 'string') throw new ValidationError(`tag '${k}' must be a string`, { tag: k });
    }
    if (o.name !== undefined) assertLabel('run name', o.name);
    if (o.parentRunId !== undefined) await this.getRun(o.parentRunId);
    const experiment = await this.getOrCreateExperiment(o.experiment);
    const id = newId('run_');
    const row: RunsTable = {
      id,
      experiment_id: experiment.id,
      name: o.name ?? `run-${id.slice(4, 13)}`,
      status: 'running',
      params_json: JSON.stringify(params),
      tags_json: JSON.stringify(tags),
      dataset_version: o.datasetVersion ?? null,
      parent_run_id: o.parentRunId ?? null,
      code_version: await processCodeVersion(),
      host: hostname(),
      started_at: this.now(),
      ended_at: null,
      summary_json: null,
    };
    await this.db.insertInto('runs').values(row).execute();
    return toRunRecord(row);
  }

  async getRun(id: string): Promise<RunRecord> {
    const row = typeof id === 'string' ? await this.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFoundError('run', String(id));
    return toRunRecord(row);
  }

  /** Runs, newest first; optionally of one experiment (by name) or status. */
  async listRuns(o: ListRunsOptions = {}): Promise<(RunRecord & { experiment: string })[]> {
    let q = this.db.selectFrom('runs as r').innerJoin('experiments as e', 'e.id', 'r.experiment_id').selectAll('r').select('e.name as experiment');
    if (o.experiment !== undefined) q = q.where('e.name', '=', o.experiment);
    if (o.status !== undefined) q = q.where('r.status', '=', o.status);
    const rows = await q
      .orderBy('r.started_at', 'desc')
      .orderBy('r.id', 'desc')
      .limit(o.limit ?? 1000)
      .execute();
    return rows.map((r) => ({ ...toRunRecord(r), experiment: r.experiment }));
  }

  /** Marks a run running again (after a crash or kill) so it can keep logging; its metrics are kept. */
  async resumeRun(id: string): Promise<RunRecord> {
    await this.getRun(id);
    await this.db.updateTable('runs').set({ status: 'running', ended_at: null }).where('id', '=', id).execute();
    return this.getRun(id);
  }

  /**
   * Adds (or replaces) top-level params of a run: what is only known once it trains, such as a time-budgeted
   * run's measured plan. Keys already set are overwritten with the new values; other params stay.
   */
  async mergeParams(runId: string, params: Record<string, unknown>): Promise<void> {
    const run = await this.getRun(runId);
    await this.db
      .updateTable('runs')
      .set({ params_json: JSON.stringify({ ...run.params, ...params }) })
      .where('id', '=', runId)
      .execute();
  }

  /**
   * Records metric points. UPSERT on (run, key, step, split): a resumed run that recomputes a step
   * overwrites the earlier value instead of adding a second row.
   */
  async logMetrics(runId: string, points: MetricPoint[]): Promise<void> {
    if (points.length === 0) return;
    await this.getRun(runId);
    const now = this.now();
    const rows = new Map<string, { run_id: string; key: string; step: number; split: string; value: number | null; epoch: number | null; at: string }>();
    for (const p of points) {
      const row = toMetricRow(runId, p, now);
      // Within one call the last point for a key wins, as it would across calls (and PostgreSQL
      // refuses an INSERT … ON CONFLICT that touches the same row twice).
      rows.set(JSON.stringify([row.key, row.step, row.split]), row);
    }
    const all = [...rows.values()];
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < all.length; i += METRIC_BATCH) {
        await trx
          .insertInto('run_metrics')
          .values(all.slice(i, i + METRIC_BATCH))
          .onConflict((oc) =>
            oc.columns(['run_id', 'key', 'step', 'split']).doUpdateSet((eb) => ({
              value: eb.ref('excluded.value'),
              epoch: eb.ref('excluded.epoch'),
              at: eb.ref('excluded.at'),
            })),
          )
          .execute();
      }
    });
  }

  /** Records this process's CPU % (since the previous call for this run) and RSS (MiB) at `step`. */
  async logSystemMetrics(runId: string, step: number): Promise<void> {
    let sampler = this.samplers.get(runId);
    if (!sampler) this.samplers.set(runId, (sampler = new SystemSampler()));
    const s = sampler.sample();
    await this.logMetrics(runId, [
      { key: SYSTEM_METRIC_KEYS.cpu, value: s.cpuPercent, step },
      { key: SYSTEM_METRIC_KEYS.rss, value: s.rssMb, step },
    ]);
  }

  /** Metric points of a run ordered by key, split, step; optionally of one key. */
  async metrics(runId: string, key?: string): Promise<MetricPoint[]> {
    await this.getRun(runId);
    let q = this.db.selectFrom('run_metrics').selectAll().where('run_id', '=', runId);
    if (key !== undefined) q = q.where('key', '=', key);
    const rows = await q.orderBy('key').orderBy('split').orderBy('step').execute();
    return rows.map((r) => {
      const p: MetricPoint = { key: r.key, value: r.value === null ? Number.NaN : Number(r.value), step: Number(r.step), at: r.at };
      if (r.epoch !== null) p.epoch = Number(r.epoch);
      if (r.split !== '') p.split = r.split;
      return p;
    });
  }

  /** The value at the highest step of every metric key (with its split, when it has one). */
  async latestMetrics(runId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const p of await this.metrics(runId)) {
      // The split is named only when the key does not already say it ('val/loss' of split 'val').
      const name = p.split && !p.key.startsWith(`${p.split}/`) ? `${p.key}[${p.split}]` : p.key;
      out[name] = p.value; // ordered by step: the last wins
    }
    return out;
  }

  /** Stores an artifact (overwriting one of the same name); returns its object key. */
  async putArtifact(runId: string, name: string, body: ObjectBody, contentType?: string): Promise<string> {
    const key = artifactKey(runId, name);
    await this.getRun(runId);
    const type = contentType ?? CONTENT_TYPES[name.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
    const info = await this.objects.put(key, body, { contentType: type });
    await this.db
      .insertInto('run_artifacts')
      .values({ run_id: runId, name, object_key: key, size: info.size, content_type: type, created_at: this.now() })
      .onConflict((oc) =>
        oc
          .columns(['run_id', 'name'])
          .doUpdateSet((eb) => ({ size: eb.ref('excluded.size'), content_type: eb.ref('excluded.content_type'), created_at: eb.ref('excluded.created_at') })),
      )
      .execute();
    return key;
  }

  async getArtifact(runId: string, name: string): Promise<Buffer> {
    const key = artifactKey(runId, name);
    const row = await this.db.selectFrom('run_artifacts').select('object_key').where('run_id', '=', runId).where('name', '=', name).executeTakeFirst();
    if (!row) throw new NotFoundError('artifact', `${runId}/${name}`);
    return this.objects.getBytes(key);
  }

  async hasArtifact(runId: string, name: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('run_artifacts')
      .select('name')
      .where('run_id', '=', runId)
      .where('name', '=', assertArtifactName(name))
      .executeTakeFirst();
    return row !== undefined;
  }

  async listArtifacts(runId: string): Promise<ArtifactInfo[]> {
    await this.getRun(runId);
    const rows = await this.db.selectFrom('run_artifacts').selectAll().where('run_id', '=', runId).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, size: Number(r.size), key: r.object_key, contentType: r.content_type, createdAt: r.created_at }));
  }

  /** Ends a run with a status and optional final scalars (shown by `runs show` / `runs compare`). */
  async finishRun(runId: string, status: RunStatus, summary?: Record<string, number>): Promise<void> {
    if (!RUN_STATUSES.includes(status)) throw new ValidationError(`invalid run status '${String(status)}': one of ${RUN_STATUSES.join(', ')}`);
    if (summary) {
      for (const [k, v] of Object.entries(summary)) {
        if (typeof v !== 'number') throw new ValidationError(`summary value '${k}' must be a number`, { key: k });
      }
    }
    await this.getRun(runId);
    await this.db
      .updateTable('runs')
      .set({
        status,
        ended_at: status === 'running' ? null : this.now(),
        ...(summary ? { summary_json: JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) } : {}),
      })
      .where('id', '=', runId)
      .execute();
    this.samplers.delete(runId);
  }
}

function toMetricRow(runId: string, p: MetricPoint, now: string) {
  if (!p || typeof p.key !== 'string' || p.key === '' || p.key.length > 200) throw new ValidationError(`invalid metric key '${String(p?.key)}'`);
  if (!Number.isInteger(p.step) || p.step < 0) throw new ValidationError(`metric '${p.key}': step must be a non-negative integer, got ${String(p.step)}`);
  if (typeof p.value !== 'number') throw new ValidationError(`metric '${p.key}': value must be a number`);
  if (p.epoch !== undefined && (!Number.isInteger(p.epoch) || p.epoch < 0))
    throw new ValidationError(`metric '${p.key}': epoch must be a non-negative integer`);
  return {
    run_id: runId,
    key: p.key,
    step: p.step,
    split: p.split ?? '',
    value: Number.isNaN(p.value) ? null : p.value,
    epoch: p.epoch ?? null,
    at: p.at ?? now,
  };
}

function toRunRecord(r: RunsTable): RunRecord {
  return {
    id: r.id,
    experimentId: r.experiment_id,
    name: r.name,
    status: r.status as RunStatus,
    params: JSON.parse(r.params_json) as Record<string, unknown>,
    tags: JSON.parse(r.tags_json) as Record<string, string>,
    datasetVersion: r.dataset_version,
    parentRunId: r.parent_run_id,
    codeVersion: r.code_version,
    host: r.host,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    summary: r.summary_json === null ? null : parseSummary(r.summary_json),
  };
}

function parseSummary(json: string): Record<string, number> {
  const raw = JSON.parse(json) as Record<string, number | string>;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
}

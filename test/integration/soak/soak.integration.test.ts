// The soak of `npm run bench -- soak` (bench/support/soak.ts) for 60 seconds at a modest concurrency, so it passes on
// two busy cores: mixed traffic on one `secondread serve` (PNG, JPEG and DICOM intake, reads A and B, predict, KServe v2,
// worklists, /metrics, saliency, an evaluation job, the production alias promoted and rolled back under load). Asserted:
// no 5xx and no request without an answer; every acknowledged study is there with its image and intake audit entry;
// every acknowledged read is recorded; `audit verify` passes; worklists equal the database; no orphan objects; the
// evaluation succeeded and both alias moves were taken. (RSS flatness needs the 10-minute run: it is the bench's goal.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runSoak, type SoakResult } from '../../../bench/support/soak.js';
import { summarize } from '../../../bench/support/soak-report.js';

let home: string;
let result: SoakResult;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sr-soak-'));
  result = await runSoak({ durationS: 60, concurrency: 8, home, threads: 1, log: (l) => console.log(l) });
}, 240_000);

afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

describe('60-second soak on one serve process', () => {
  it('answers every request without a 5xx', () => {
    const s = summarize(result);
    const bad = result.state.records.filter((r) => r.status >= 500 || r.status === 0);
    expect(bad, result.serverLogTail.slice(-3000)).toEqual([]);
    expect(result.state.driverErrors).toEqual([]);
    expect(s.requests).toBeGreaterThan(100);
    // Every kind of traffic ran.
    const routes = new Set(result.state.records.map((r) => r.route));
    for (const r of [
      'POST /v1/studies',
      'POST /v1/studies/:id/reads',
      'POST /v1/models/:name/predict',
      'POST /v2/models/:name/infer',
      'GET /metrics',
      'GET /v1/studies/:id/saliency',
    ])
      expect(routes, r).toContain(r);
    expect(new Set(result.state.studies.map((st) => st.kind))).toEqual(new Set(['png', 'jpeg', 'dicom']));
  });

  it('lost nothing it acknowledged, keeps the audit chain and leaves no orphans', () => {
    const inv = result.invariants;
    expect(inv.acknowledged).toBeGreaterThan(10);
    expect(inv.lost).toEqual([]);
    expect(inv.readsAcknowledged).toBeGreaterThan(0);
    expect(inv.readsMissing).toEqual([]);
    expect(inv.auditVerify).toMatchObject({ ok: true });
    expect(inv.orphans?.found).toEqual([]);
    for (const w of inv.worklists!) {
      expect(w.metrics, `worklist ${w.worklist}`).toBe(w.database);
      expect(w.listed, `worklist ${w.worklist}`).toBe(Math.min(500, w.database));
    }
  });

  it('ran the evaluation job and hot-swapped the production alias both ways under load', () => {
    expect(result.state.evaluation?.status).toBe('succeeded');
    expect(result.state.aliasEvents.map((e) => [e.action, e.status, e.toVersion])).toEqual([
      ['promote', 200, 2],
      ['rollback', 200, 1],
    ]);
  });
});

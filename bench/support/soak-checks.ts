// What must hold after the soak. While the server still runs (idle): the worklist depths it reports — the
// /metrics gauges and GET /v1/worklists — equal the database's counts. After it stopped: every study acknowledged
// with 201 has its row, its image (byte-identical for PNG/JPEG; a DICOM is stored de-identified) and its intake
// audit entry; every acknowledged read is recorded with its label; `secondread audit verify` passes; no object
// under studies/ is an orphan (workflow/orphans.ts, dry run, no grace period).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { openDatabase } from '../../src/storage/db.js';
import { FsObjectStore } from '../../src/storage/fs-object-store.js';
import { sweepOrphanStudyObjects } from '../../src/workflow/orphans.js';
import { embeddedEnv, ROOT } from './server.js';
import type { TrafficState, TrafficTokens } from './soak-traffic.js';

export interface WorklistCheck {
  worklist: 'A' | 'B';
  database: number;
  /** secondread_worklist_depth{worklist=…} */
  metrics: number | null;
  /** Items GET /v1/worklists/… returned (limit 500), compared with min(500, database). */
  listed: number | null;
}

export interface Invariants {
  worklists?: WorklistCheck[];
  acknowledged?: number;
  /** Acknowledged studies with no row, no image, a different image or no intake audit entry. */
  lost?: { id: string; why: string }[];
  /** Study rows no 201 was seen for (a request cut short by the client's timeout, say): not lost, reported. */
  unacknowledgedRows?: number;
  readsAcknowledged?: number;
  readsMissing?: { studyId: string; reader: string; why: string }[];
  auditVerify?: { ok: boolean; output: string };
  orphans?: { scanned: number; found: string[] };
}

const WORKLIST_STATES = { A: ['awaiting_a'], B: ['awaiting_b'] } as const;

export async function checkInvariants(o: { url: string; home: string; tokens: TrafficTokens; state: TrafficState; beforeStop: boolean }): Promise<Invariants> {
  const db = openDatabase({ sqlitePath: join(o.home, 'secondread.db') });
  try {
    if (o.beforeStop) {
      const res = await fetch(`${o.url}/metrics`, { headers: { authorization: `Bearer ${o.tokens.admin}` } });
      const text = await res.text();
      const worklists: WorklistCheck[] = [];
      for (const which of ['A', 'B'] as const) {
        const row = await db
          .selectFrom('studies')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', 'in', [...WORKLIST_STATES[which]])
          .executeTakeFirstOrThrow();
        const list = await fetch(`${o.url}/v1/worklists/${which}?limit=500`, {
          headers: { authorization: `Bearer ${which === 'A' ? o.tokens.reader : o.tokens.adjudicator}` },
        });
        const listed = list.ok ? ((await list.json()) as { items: unknown[] }).items.length : null;
        worklists.push({ worklist: which, database: Number(row.n), metrics: gauge(text, 'secondread_worklist_depth', `{worklist="${which}"}`), listed });
      }
      return { worklists };
    }

    const objects = new FsObjectStore(join(o.home, 'objects'));
    try {
      const acked = o.state.studies;
      const lost: Invariants['lost'] = [];
      const rows = new Map<string, { image_key: string }>();
      const intakeAudited = new Set<string>();
      for (let i = 0; i < acked.length; i += 500) {
        const ids = acked.slice(i, i + 500).map((s) => s.id);
        for (const r of await db.selectFrom('studies').select(['id', 'image_key']).where('id', 'in', ids).execute()) rows.set(r.id, r);
        const audited = await db.selectFrom('audit_log').select('study_id').where('event', '=', 'study.intake').where('study_id', 'in', ids).execute();
        for (const a of audited) intakeAudited.add(a.study_id!);
      }
      for (const s of acked) {
        const row = rows.get(s.id);
        if (!row) {
          lost.push({ id: s.id, why: 'no study row' });
          continue;
        }
        const bytes = await objects.getBytes(row.image_key).catch(() => undefined);
        if (!bytes || bytes.length === 0) lost.push({ id: s.id, why: `no image at ${row.image_key}` });
        else if (s.kind !== 'dicom' && createHash('sha256').update(bytes).digest('hex') !== s.sha256)
          lost.push({ id: s.id, why: 'stored image differs from the bytes sent' });
        if (!intakeAudited.has(s.id)) lost.push({ id: s.id, why: 'no study.intake audit entry' });
      }
      const total = await db
        .selectFrom('studies')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();

      const readsMissing: Invariants['readsMissing'] = [];
      const readRows = new Map<string, string>();
      const readIds = [...new Set(o.state.reads.map((r) => r.studyId))];
      for (let i = 0; i < readIds.length; i += 500)
        for (const r of await db
          .selectFrom('reads')
          .select(['study_id', 'reader', 'label'])
          .where('study_id', 'in', readIds.slice(i, i + 500))
          .where('reader', 'in', ['A', 'B'])
          .execute())
          readRows.set(`${r.study_id}/${r.reader}`, r.label);
      for (const r of o.state.reads) {
        const label = readRows.get(`${r.studyId}/${r.reader}`);
        if (label === undefined) readsMissing.push({ studyId: r.studyId, reader: r.reader, why: 'no read row' });
        else if (label !== r.label) readsMissing.push({ studyId: r.studyId, reader: r.reader, why: `label ${label}, sent ${r.label}` });
      }

      const sweep = await sweepOrphanStudyObjects(db, objects, { dryRun: true, graceMs: 0 });
      return {
        acknowledged: acked.length,
        lost,
        unacknowledgedRows: Number(total.n) - rows.size,
        readsAcknowledged: o.state.reads.length,
        readsMissing,
        auditVerify: auditVerify(o.home, ROOT),
        orphans: { scanned: sweep.scanned, found: sweep.removed },
      };
    } finally {
      await objects.close();
    }
  } finally {
    await db.destroy();
  }
}

/** A sample's value from Prometheus text (the first with that name and exactly these labels). */
export function gauge(text: string, name: string, labels = ''): number | null {
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, (c) => `\\${c}`)} ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** `secondread audit verify` on a home: the operator's own check, as a separate process. */
export function auditVerify(home: string, root: string): { ok: boolean; output: string } {
  const r = spawnSync(process.execPath, ['bin/secondread.js', 'audit', 'verify'], { cwd: root, env: embeddedEnv(home), encoding: 'utf8', timeout: 300_000 });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().slice(-2000) };
}

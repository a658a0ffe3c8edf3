// The DIMSE edge against DCMTK (`npm run test:integration`): echoscu and storescu talk to our SCP (the
// allow-list, the called AE title, the size limit, a received instance becoming a study with its sealed
// origin), and a study's result SRs (the model's, and the detector's boxes) go out through the exporter and
// our C-STORE SCU to DCMTK's storescp, which writes them to disk: the files are read back with dcmdump and
// dsrdump and must sit in the original study, the boxes on the original instance.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import dimse from 'dcmjs-dimse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { commandAvailable } from '../../test/integration/helpers/peers.js';
import type { PacsNode } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { parseDicom } from '../data/dicom/parse.js';
import { cxrDicom, ramp16 } from '../data/dicom/testing.js';
import type { WorkflowService } from '../workflow/service.js';
import { boxRead, FakeBoxReader, modelRead, openWorkflowFixture, type WorkflowFixture } from '../workflow/testing.js';
import { PacsSendError } from './errors.js';
import { PacsExporter } from './exporter.js';
import { readerPseudonym, srWriter } from './results.js';
import { DicomScp, type ScpOptions } from './scp.js';
import { cStore } from './scu.js';
import { nodeSender } from './send.js';

const FIXTURE = new URL('../data/dicom/testdata/rle-dcmtk.dcm', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'sr-dimse-'));
/** A CR with a patient and a study (the DCMTK fixtures have neither): the one whose result goes back. */
const PATIENT = { PatientID: 'PAT-0042', PatientName: 'Doe^Jane', StudyInstanceUID: '1.2.826.0.1.3680043.10.42.1', SeriesInstanceUID: '1.2.826.0.1.3680043.10.42.2', SOPInstanceUID: '1.2.826.0.1.3680043.10.42.3' }; // prettier-ignore
const FIXTURE_LE = join(dir, 'patient.dcm');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Runs a DCMTK tool without blocking: our SCP answers it from this very process. */
function run(command: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { timeout: 60_000 });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (status) => resolve({ status, output }));
  });
}

describe.runIf(commandAvailable('storescu', 'apt-get install dcmtk'))('DIMSE with DCMTK', () => {
  let fx: WorkflowFixture;
  let workflow: WorkflowService;
  let scp: DicomScp;
  const options = (o: Partial<ScpOptions> = {}): ScpOptions => ({
    host: '127.0.0.1',
    port: 0,
    aeTitle: 'SECONDREAD',
    allow: [{ aeTitle: 'MODALITY', hosts: ['127.0.0.1'] }],
    maxAssociations: 4,
    maxPduBytes: 65536,
    maxInstanceBytes: 64 * 1024 * 1024,
    timeoutMs: 30_000,
    ...o,
  });

  /** DCMTK's storescp on a free port, writing what it receives to `out`, and an exporter sending to it (results after the decision). */
  async function withStorescp(body: (exporter: PacsExporter, out: string) => Promise<void>): Promise<void> {
    const port = await freePort();
    const out = mkdtempSync(join(dir, 'storescp-'));
    const storescp = spawn('storescp', ['-aet', 'PACS', '-od', out, '+B', String(port)]);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const node: PacsNode = { name: 'dcmtk', kind: 'dimse', aet: 'PACS', host: '127.0.0.1', port, callingAet: 'SECONDREAD' };
      const exporter = new PacsExporter(
        {
          db: fx.t.db,
          origins: workflow,
          sr: srWriter,
          send: nodeSender({ callingAet: 'SECONDREAD', timeoutMs: 30_000 }),
          nodes: [node],
          logger: silentLogger,
        },
        { pollMs: 1000, maxAttempts: 3, backoffMs: 10, maxBackoffMs: 100, modelResultAfter: 'decision' },
      );
      await body(exporter, out);
    } finally {
      storescp.kill();
    }
  }

  beforeAll(async () => {
    writeFileSync(FIXTURE_LE, await cxrDicom(ramp16(), 'explicit-le', PATIENT));
    fx = await openWorkflowFixture();
    // A detector too: its boxes (within 16×16) go back as the detection SR.
    workflow = fx.service({ dicom: { key: Buffer.alloc(32, 3), keepOrigin: true }, detector: new FakeBoxReader() });
    scp = new DicomScp(options(), { intake: workflow, logger: silentLogger });
    await scp.start();
  });
  afterAll(async () => {
    await scp?.close();
    await fx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const peer = (ae: string, called = 'SECONDREAD') => ['-aet', ae, '-aec', called, '127.0.0.1', String(scp.port)];

  it('answers C-ECHO from an allowed peer and refuses an unknown calling or called AE title', async () => {
    expect((await run('echoscu', peer('MODALITY'))).status).toBe(0);
    const stranger = await run('echoscu', peer('STRANGER'));
    expect(stranger.status).not.toBe(0);
    expect(stranger.output).toContain('Calling AE Title Not Recognized');
    const wrongCalled = await run('echoscu', peer('MODALITY', 'SOMEONE'));
    expect(wrongCalled.status).not.toBe(0);
    expect(wrongCalled.output).toContain('Called AE Title Not Recognized');
  });

  it('takes in what storescu sends (RLE and explicit VR LE) as studies with a sealed origin', async () => {
    fx.model.next(modelRead('lung-covid', 0.9)).next(modelRead('lung-normal', 0.8));
    const r = await run('storescu', ['-xr', ...peer('MODALITY'), FIXTURE]);
    expect(r.status, r.output).toBe(0);
    const r2 = await run('storescu', [...peer('MODALITY'), FIXTURE_LE]);
    expect(r2.status, r2.output).toBe(0);
    const studies = await workflow.listStudies(fx.users.admin);
    expect(studies).toHaveLength(2);
    expect(studies.every((s) => s.modality === 'cxr')).toBe(true);
    const origins = await Promise.all(studies.map((s) => workflow.getStudyOrigin(s.id)));
    expect(origins.map((o) => o?.instance.sopInstanceUid).sort()).toEqual(
      [parseDicom(readFileSync(FIXTURE)).dataset.SOPInstanceUID, PATIENT.SOPInstanceUID].sort(),
    );
    expect(origins.find((o) => o?.patient.id === PATIENT.PatientID)?.study.studyInstanceUid).toBe(PATIENT.StudyInstanceUID);
    const trail = await workflow.studyAudit(fx.users.admin, studies[0]!.id);
    expect(trail.find((e) => e.event === 'study.intake')!.actor).toBe('user:system:dimse');
    // Sent again: the same instance answers the study it made, none is added.
    expect((await run('storescu', ['-xr', ...peer('MODALITY'), FIXTURE])).status).toBe(0);
    expect(await workflow.listStudies(fx.users.admin)).toHaveLength(2);
  });

  it("answers the workflow's refusal with its C-STORE status and reason (a modality we do not read: 0x0122)", async () => {
    const ct = join(dir, 'ct-as-cr.dcm');
    writeFileSync(ct, await cxrDicom(ramp16(), 'explicit-le', { ...PATIENT, Modality: 'CT', SOPInstanceUID: '1.2.826.0.1.3680043.10.42.9' }));
    const before = (await workflow.listStudies(fx.users.admin)).length;
    const r = await run('storescu', ['-d', ...peer('MODALITY'), ct]);
    expect(r.output, r.output).toMatch(/Status\s*:\s*0x0122/i);
    expect(r.output).toContain('dicom_modality_not_accepted');
    expect((await workflow.listStudies(fx.users.admin)).length).toBe(before);
  });

  it('our C-STORE SCU: a node that is down is worth retrying', async () => {
    const err = await cStore(
      { name: 'down', aet: 'PACS', host: '127.0.0.1', port: await freePort(), callingAet: 'SECONDREAD' },
      readFileSync(FIXTURE_LE),
    ).catch((e: PacsSendError) => e);
    expect(err).toBeInstanceOf(PacsSendError);
    expect((err as PacsSendError).retryable).toBe(true);
  });

  it('refuses a store from a peer off the allow-list at the association', async () => {
    const r = await run('storescu', ['-xr', ...peer('STRANGER'), FIXTURE]);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('Calling AE Title Not Recognized');
  });

  it('answers an instance above the size limit with A700 (out of resources), keeping nothing', async () => {
    const small = new DicomScp(options({ maxInstanceBytes: 1024 }), { intake: workflow, logger: silentLogger });
    await small.start();
    try {
      const before = (await workflow.listStudies(fx.users.admin)).length;
      const r = await run('storescu', ['-xr', '-d', '-aet', 'MODALITY', '-aec', 'SECONDREAD', '127.0.0.1', String(small.port), FIXTURE]);
      expect(r.output).toMatch(/Status\s*:\s*0xa700|A700|Out of Resources/i);
      expect((await workflow.listStudies(fx.users.admin)).length).toBe(before);
    } finally {
      await small.close();
    }
  });

  it('refuses more associations than the limit (transient, local limit exceeded)', async () => {
    const one = new DicomScp(options({ maxAssociations: 1 }), { intake: workflow, logger: silentLogger });
    await one.start();
    // A peer that holds its association open after its C-ECHO (dcmjs-dimse lingers before releasing), then a second one.
    const holder = new dimse.Client();
    const echoed = new Promise((resolve) => {
      const echo = new dimse.requests.CEchoRequest();
      echo.on('response', resolve);
      holder.addRequest(echo);
    });
    holder.send('127.0.0.1', one.port, 'MODALITY', 'SECONDREAD', { associationLingerTimeout: 5000 });
    try {
      await echoed;
      const second = await run('echoscu', ['-aet', 'MODALITY', '-aec', 'SECONDREAD', '127.0.0.1', String(one.port)]);
      expect(second.status).not.toBe(0);
      expect(second.output).toContain('Local Limit Exceeded');
    } finally {
      await one.close();
    }
  });

  it("sends a study's result SRs (the model's, the detector's boxes) to DCMTK's storescp, in the original study", async () => {
    await withStorescp(async (exporter, out) => {
      const original = PATIENT;
      const target = [];
      for (const s of await workflow.listStudies(fx.users.admin))
        if ((await workflow.getStudyOrigin(s.id))?.instance.sopInstanceUid === original.SOPInstanceUID) target.push(s);
      expect(target).toHaveLength(1);
      await workflow.commitRead(fx.users.reader, target[0]!.id, { label: 'lung-normal' });
      const pass = await exporter.pass();
      expect(pass, JSON.stringify(await exporter.list())).toMatchObject({ sent: 2, dead: 0 });
      const files = readdirSync(out);
      expect(files).toHaveLength(2);
      const exported = await exporter.list();
      expect(exported.map((e) => e.kind).sort()).toEqual(['detection-result', 'model-result']);
      for (const file of files) {
        const sr = parseDicom(readFileSync(join(out, file))).dataset;
        expect(sr.StudyInstanceUID).toBe(original.StudyInstanceUID);
        expect(sr.PatientID).toBe(original.PatientID);
        expect(sr.Modality).toBe('SR');
        expect(exported.map((e) => e.sopInstanceUid)).toContain(sr.SOPInstanceUID);
        const dump = await run('dcmdump', [join(out, file)]);
        expect(dump.status, dump.output).toBe(0);
      }
      const boxesUid = exported.find((e) => e.kind === 'detection-result')!.sopInstanceUid;
      const boxesFile = files.find((f) => parseDicom(readFileSync(join(out, f))).dataset.SOPInstanceUID === boxesUid)!;
      const tree = await run('dsrdump', ['-v', '+Pc', '+Pl', '-Pi', join(out, boxesFile)]);
      expect(tree.status, tree.output).toBe(0);
      expect(tree.output.split('\n').filter((l) => /^[WEF]:/.test(l))).toEqual([]);
      // The detector's boxes, best first, each a closed rectangle SELECTED FROM the original instance.
      for (const d of boxRead().detections) {
        const [x0, y0, x1, y1] = d.box;
        expect(tree.output).toContain(`(111030,DCM,"Image Region")=(POLYLINE,${x0}/${y0},${x1}/${y0},${x1}/${y1},${x0}/${y1},${x0}/${y0})`);
      }
      expect(tree.output.match(/<selected from IMAGE:=\(CR image,\)>/g)).toHaveLength(3);
      const sources = parseDicom(readFileSync(join(out, boxesFile))).dataset.CurrentRequestedProcedureEvidenceSequence as Record<string, unknown>[];
      expect(JSON.stringify(sources)).toContain(original.SOPInstanceUID);
    });
  });

  it("sends reader B's verdicts on the boxes, once B has read, as a reviewed boxes SR that DCMTK reads cleanly", async () => {
    await withStorescp(async (exporter, out) => {
      // A study A and the model disagree on, so it goes to B, who marks two of the three boxes and reads.
      fx.model.next(modelRead('lung-covid', 0.9));
      const bytes = await cxrDicom(ramp16(), 'explicit-le', { ...PATIENT, SOPInstanceUID: '1.2.826.0.1.3680043.10.42.9' });
      const intake = await workflow.intakeDicomInstance(fx.users.admin, bytes, { via: 'dimse', callingAe: 'MODALITY' });
      if (!intake.ok) throw new Error('the intake was refused');
      const id = intake.study.id;
      await workflow.commitRead(fx.users.reader, id, { label: 'lung-normal' });
      expect((await workflow.getStudy(fx.users.admin, id)).status).toBe('awaiting_b');
      await workflow.markBox(fx.users.adjudicator, id, 0, { correct: true });
      await workflow.markBox(fx.users.adjudicator, id, 1, { correct: true });
      await workflow.markBox(fx.users.adjudicator, id, 1, { correct: false }); // changed: the latest counts
      await workflow.commitRead(fx.users.adjudicator, id, { label: 'lung-covid' });
      expect(await exporter.pass()).toMatchObject({ dead: 0, failed: 0 });
      const ours = (await exporter.list()).filter((e) => e.studyId === id);
      expect(ours.map((e) => `${e.kind} ${e.status}`).sort()).toEqual([
        'detection-result sent',
        'detection-review sent',
        'model-result sent',
        'reader-result sent',
      ]);
      const byUid = new Map(readdirSync(out).map((f) => [parseDicom(readFileSync(join(out, f))).dataset.SOPInstanceUID as string, join(out, f)]));
      const reviewFile = byUid.get(ours.find((e) => e.kind === 'detection-review')!.sopInstanceUid!)!;
      const tree = await run('dsrdump', ['-v', '+Pc', '+Pl', '-Pi', reviewFile]);
      expect(tree.status, tree.output).toBe(0);
      expect(tree.output.split('\n').filter((l) => /^[WEF]:/.test(l))).toEqual([]);
      expect(tree.output).toContain('(121005,DCM,"Observer Type")=(121007,DCM,"Device")');
      expect(tree.output).toContain(`(121008,DCM,"Person Observer Name")="${readerPseudonym(fx.users.adjudicator.id)}"`);
      const verdicts = [...tree.output.matchAll(/"Second reader verdict on the AI finding"\)=\(([a-z-]+),/g)].map((m) => m[1]);
      expect(verdicts).toEqual(['correct', 'incorrect', 'not-marked']);
      expect(tree.output.match(/<selected from IMAGE:=\(CR image,\)>/g)).toHaveLength(3);
      // It names the device-only boxes SR, which went out too, as its predecessor.
      const review = parseDicom(readFileSync(reviewFile)).dataset as Record<string, unknown>;
      expect(JSON.stringify(review.PredecessorDocumentsSequence)).toContain(ours.find((e) => e.kind === 'detection-result')!.sopInstanceUid!);
      expect(review.StudyInstanceUID).toBe(PATIENT.StudyInstanceUID);
    });
  });
});

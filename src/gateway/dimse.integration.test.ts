// The DIMSE edge against DCMTK (`npm run test:integration`): echoscu and storescu talk to our SCP (the
// allow-list, the called AE title, the size limit, a received instance becoming a study with its sealed
// origin), and a study's result SR goes out through the exporter and our C-STORE SCU to DCMTK's storescp,
// which writes it to disk: the file is read back with dcmdump and must sit in the original study.
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
import { modelRead, openWorkflowFixture, type WorkflowFixture } from '../workflow/testing.js';
import { PacsSendError } from './errors.js';
import { PacsExporter } from './exporter.js';
import { srWriter } from './results.js';
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

  beforeAll(async () => {
    writeFileSync(FIXTURE_LE, await cxrDicom(ramp16(), 'explicit-le', PATIENT));
    fx = await openWorkflowFixture();
    workflow = fx.service({ dicom: { key: Buffer.alloc(32, 3), keepOrigin: true } });
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

  it("sends a study's result SR to DCMTK's storescp, in the original study", async () => {
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
      const original = PATIENT;
      const target = [];
      for (const s of await workflow.listStudies(fx.users.admin))
        if ((await workflow.getStudyOrigin(s.id))?.instance.sopInstanceUid === original.SOPInstanceUID) target.push(s);
      expect(target).toHaveLength(1);
      await workflow.commitRead(fx.users.reader, target[0]!.id, { label: 'lung-normal' });
      const pass = await exporter.pass();
      expect(pass, JSON.stringify(await exporter.list())).toMatchObject({ sent: 1, dead: 0 });
      const files = readdirSync(out);
      expect(files).toHaveLength(1);
      const sr = parseDicom(readFileSync(join(out, files[0]!))).dataset;
      expect(sr.StudyInstanceUID).toBe(original.StudyInstanceUID);
      expect(sr.PatientID).toBe(original.PatientID);
      expect(sr.Modality).toBe('SR');
      const exported = (await exporter.list())[0]!;
      expect(sr.SOPInstanceUID).toBe(exported.sopInstanceUid);
      const dump = await run('dcmdump', [join(out, files[0]!)]);
      expect(dump.status, dump.output).toBe(0);
    } finally {
      storescp.kill();
    }
  });
});

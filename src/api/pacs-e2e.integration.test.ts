// The PACS loop end to end, with real processes: a department's PACS (Orthanc) pushes a chest X-ray by
// C-STORE to `secondread serve`'s SCP; the study is de-identified, read by the model and waits for reader A;
// A reads, the policy decides; the exporter sends the model's result SR back into the ORIGINAL study — by
// STOW-RS to that Orthanc and by C-STORE to a second Orthanc — where QIDO-RS finds it under the original
// Study Instance UID and Patient ID, with the model's name and version in Contributing Equipment (IHE AIR).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cxrDicom, ramp16 } from '../data/dicom/testing.js';
import { freePort, orthancAvailable, type RunningOrthanc, startOrthanc } from './testing/orthanc.js';
import { type PreparedHome, prepareHome, ServeProcess, until as untilReady } from './testing/serve-process.js';

const available = orthancAvailable();
if (!available && process.env.CI) throw new Error('Orthanc is missing: apt-get install orthanc orthanc-dicomweb');

const ORIGINAL = {
  PatientName: 'E2E^PATIENT',
  PatientID: 'E2E-PATIENT-1',
  AccessionNumber: 'ACC4242',
  StudyDate: '20261206',
  StudyTime: '101500',
  StudyInstanceUID: '1.2.826.0.1.3680043.10.543.77.1',
  SeriesInstanceUID: '1.2.826.0.1.3680043.10.543.77.2',
  SOPInstanceUID: '1.2.826.0.1.3680043.10.543.77.3',
};
const MODEL = 'e2e-cxr';

let dir: string;
let pacs: RunningOrthanc; // the department's PACS: sends the study, receives the SR by STOW-RS
let archive: RunningOrthanc; // a second node: receives the SR by C-STORE
let serve: ServeProcess | undefined;
let api: string;
let tokens: PreparedHome['tokens'];
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) => untilReady(what, probe, timeoutMs, () => serve?.log ?? '');

beforeAll(async () => {
  if (!available) return;
  dir = await mkdtemp(join(tmpdir(), 'sr-pacs-e2e-'));
  const home = join(dir, 'home');
  ({ tokens } = await prepareHome(home, { model: MODEL }));

  const dimsePort = await freePort();
  archive = await startOrthanc({ aet: 'ARCHIVE' });
  pacs = await startOrthanc({ aet: 'DEPTPACS', modalities: { secondread: { aet: 'SECONDREAD', host: '127.0.0.1', port: dimsePort } } });
  const nodes = [
    { name: 'dept-pacs', kind: 'dicomweb', url: pacs.dicomweb },
    { name: 'archive', kind: 'dimse', aet: 'ARCHIVE', host: '127.0.0.1', port: archive.dicomPort },
  ];
  serve = await ServeProcess.start(
    await freePort(),
    {
      SECONDREAD_HOME: home,
      SECONDREAD_DEID_KEY: 'e'.repeat(64),
      SECONDREAD_PACS_RETURN: 'on',
      SECONDREAD_DIMSE_PORT: String(dimsePort),
      SECONDREAD_DIMSE_AE: 'SECONDREAD',
      SECONDREAD_DIMSE_ALLOW: 'DEPTPACS@127.0.0.1',
      SECONDREAD_PACS_NODES: JSON.stringify(nodes),
    },
    90_000,
  );
  api = serve.url;
}, 150_000);

afterAll(async () => {
  await serve?.stop();
  await pacs?.stop();
  await archive?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const authed = (who: keyof PreparedHome['tokens']) => ({ authorization: `Bearer ${tokens[who]}` });

describe.skipIf(!available)('PACS end to end: Orthanc C-STORE → secondread → SR back in the original study', () => {
  it('a study pushed by the PACS is read, decided, and its result SR is found in both PACS nodes under the original study', async () => {
    // The department's PACS holds the identified original …
    const original = await cxrDicom(ramp16(), 'explicit-le', ORIGINAL);
    const stored = await fetch(`${pacs.url}/instances`, { method: 'POST', body: original });
    expect(stored.status, await stored.clone().text()).toBe(200);
    const orthancId = ((await stored.json()) as { ID: string }).ID;
    // … and pushes it to secondread by C-STORE (Orthanc's /modalities/{id}/store is a synchronous C-STORE SCU).
    const push = await fetch(`${pacs.url}/modalities/secondread/store`, { method: 'POST', body: orthancId });
    expect(push.status, `${await push.text()}\n${pacs.log().slice(-2000)}\n${(serve?.log ?? '').slice(-2000)}`).toBe(200);

    // The study exists, de-identified: its DICOM facts carry a pseudonymous Study Instance UID.
    const study = await until('the pushed study', async () => {
      const res = await fetch(`${api}/v1/studies`, { headers: authed('admin') });
      return ((await res.json()) as { studies: { id: string; status: string }[] }).studies[0];
    });
    const facts = (await (await fetch(`${api}/v1/studies/${study.id}/dicom`, { headers: authed('reader') })).json()) as { studyInstanceUid: string };
    expect(facts.studyInstanceUid).not.toBe(ORIGINAL.StudyInstanceUID);

    // Reader A reads; the policy decides; the exporter sends the model's result.
    const read = await fetch(`${api}/v1/studies/${study.id}/reads`, {
      method: 'POST',
      headers: { ...authed('reader'), 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'lung-normal' }),
    });
    expect(read.status, await read.clone().text()).toBeLessThan(300);

    // STOW-RS into the department's PACS: QIDO finds an SR series in the ORIGINAL study.
    type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;
    const srSeries = async (node: RunningOrthanc) =>
      until(`an SR series in ${node.aet}`, async () => {
        const res = await fetch(`${node.dicomweb}/studies/${ORIGINAL.StudyInstanceUID}/series`, { headers: { accept: 'application/dicom+json' } });
        if (res.status !== 200) return undefined;
        const series = (await res.json()) as DicomJson[];
        return series.find((s) => s['00080060']?.Value?.[0] === 'SR');
      });
    for (const node of [pacs, archive]) {
      const series = await srSeries(node);
      const seriesUid = String(series['0020000E']!.Value![0]);
      const metadata = (await (
        await fetch(`${node.dicomweb}/studies/${ORIGINAL.StudyInstanceUID}/series/${seriesUid}/metadata`, { headers: { accept: 'application/dicom+json' } })
      ).json()) as DicomJson[];
      expect(metadata).toHaveLength(1);
      const sr = metadata[0]!;
      expect(sr['0020000D']!.Value![0], 'the original Study Instance UID').toBe(ORIGINAL.StudyInstanceUID);
      expect(sr['00100020']!.Value![0], 'the original Patient ID').toBe(ORIGINAL.PatientID);
      expect(sr['00080016']!.Value![0], 'Comprehensive SR').toBe('1.2.840.10008.5.1.4.1.1.88.33');
      const equipment = sr['0018A001']!.Value![0] as DicomJson;
      expect(equipment['00080070']!.Value![0]).toBe('secondread');
      expect(equipment['00081090']!.Value![0]).toBe(MODEL);
      expect(String(equipment['00181020']!.Value![0])).toBe('1');
    }

    // DCMTK's findscu (C-FIND, as a PACS workstation queries) finds the SR series in the archive under the original study.
    const find = spawnSync(
      'findscu',
      [
        '-S',
        '-aec',
        'ARCHIVE',
        '-k',
        'QueryRetrieveLevel=SERIES',
        '-k',
        `StudyInstanceUID=${ORIGINAL.StudyInstanceUID}`,
        '-k',
        'Modality',
        '-k',
        'SeriesDescription',
        '127.0.0.1',
        String(archive.dicomPort),
      ],
      { encoding: 'utf8' },
    );
    expect(find.status, find.stderr).toBe(0);
    expect(find.stderr).toMatch(/Modality\s+\[SR\]|\(0008,0060\) CS \[SR\]/);

    // The exports are recorded as sent, one per node (the record follows the send: poll briefly).
    const sent = await until('both exports recorded as sent', async () => {
      const res = await fetch(`${api}/v1/pacs/exports`, { headers: authed('admin') });
      const list = ((await res.json()) as { exports: { node: string; status: string }[] }).exports;
      const nodes = list.filter((e) => e.status === 'sent').map((e) => e.node);
      return nodes.length >= 2 ? new Set(nodes) : undefined;
    });
    expect(sent).toEqual(new Set(['dept-pacs', 'archive']));
  }, 150_000);
});

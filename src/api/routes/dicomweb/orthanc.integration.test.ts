// Interoperability with a real DICOMweb peer: Orthanc (Debian `orthanc`, `orthanc-dicomweb`) uses our
// server as a remote DICOMweb server — its STOW-RS client sends an instance to us (our multipart
// parser and Store Instances Response against another implementation), its QIDO-RS client searches us
// (our DICOM JSON as another implementation reads it), and its WADO-RS client retrieves the stored
// instance into Orthanc (our multipart/related answer parsed by it): the instance Orthanc ends up with
// is our de-identified one.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { commandAvailable } from '../../../../test/integration/helpers/peers.js';
import { cxrDicom, ramp16 } from '../../../data/dicom/testing.js';
import { type ApiFixture, openApiFixture } from '../../testing/fixture.js';

const PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
const available = commandAvailable('Orthanc', 'apt-get install orthanc orthanc-dicomweb') && pluginInstalled();

/** The DICOMweb plugin is its own package: a missing one skips (fails under CI) like a missing Orthanc. */
function pluginInstalled(): boolean {
  if (existsSync(PLUGIN)) return true;
  const reason = `${PLUGIN} is missing (apt-get install orthanc-dicomweb)`;
  if (process.env.CI) throw new Error(`${reason} (CI is set, so this is a failure, not a skip)`);
  console.warn(`SKIPPING: ${reason}`);
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!available)('Orthanc as a DICOMweb client of our server', () => {
  let f: ApiFixture;
  let orthanc: ChildProcess;
  let dir: string;
  let orthancUrl: string;
  const log: string[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${orthancUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: body instanceof Uint8Array ? Buffer.from(body) : JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Orthanc ${method} ${path}: ${res.status} ${text.slice(0, 500)}\n${log.join('').slice(-2000)}`);
    return text === '' ? null : JSON.parse(text);
  };

  beforeAll(async () => {
    f = await openApiFixture({ workflow: { dicom: { key: Buffer.alloc(32, 3) } } });
    await f.app.listen({ port: 0, host: '127.0.0.1' });
    const ours = (f.app.server.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), 'sr-orthanc-'));
    const httpPort = await freePort();
    const config = {
      Name: 'secondread-test',
      StorageDirectory: join(dir, 'storage'),
      IndexDirectory: join(dir, 'index'),
      HttpPort: httpPort,
      DicomPort: await freePort(),
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      Plugins: [PLUGIN],
      DicomWeb: {
        Enable: true,
        Root: '/dicom-web/',
        Servers: { secondread: { Url: `http://127.0.0.1:${ours}/dicomweb/`, HttpHeaders: { Authorization: f.auth('admin').authorization } } },
      },
    };
    writeFileSync(join(dir, 'orthanc.json'), JSON.stringify(config));
    orthanc = spawn('Orthanc', [join(dir, 'orthanc.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    orthanc.stdout!.on('data', (d) => log.push(String(d)));
    orthanc.stderr!.on('data', (d) => log.push(String(d)));
    orthancUrl = `http://127.0.0.1:${httpPort}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${orthancUrl}/system`)).ok) break;
      } catch {
        // not listening yet
      }
      if (i > 100) throw new Error(`Orthanc did not start:\n${log.join('').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    orthanc?.kill('SIGTERM');
    await new Promise((r) => (orthanc?.exitCode !== null ? r(null) : orthanc.once('exit', r)));
    await f?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('STOW-RS from Orthanc, QIDO-RS and WADO-RS by Orthanc: the instance it gets back is our de-identified one', async () => {
    const original = await cxrDicom(ramp16(), 'explicit-le', {
      PatientID: 'ORTHANC-PAT',
      PatientName: 'Peer^Test',
      StudyInstanceUID: '1.2.826.0.1.3680043.10.555.1',
      SeriesInstanceUID: '1.2.826.0.1.3680043.10.555.2',
      SOPInstanceUID: '1.2.826.0.1.3680043.10.555.3',
    });
    const uploaded = await call('POST', '/instances', original);
    const stow = await call('POST', '/dicom-web/servers/secondread/stow', { Resources: [uploaded.ID] });
    expect(stow).not.toBeNull();
    const rows = await f.tracking.t.db.selectFrom('dicom_studies').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.study_instance_uid).toMatch(/^2\.25\./);

    const found = await call('POST', '/dicom-web/servers/secondread/qido', { Uri: '/studies', Arguments: { ModalitiesInStudy: 'CR' } });
    expect(found).toHaveLength(1);
    // Orthanc re-expresses the answer in its own form ({Name, Value: "…"}); it read our values.
    // (Orthanc 1.10 shows our IS counts, JSON numbers as PS3.18 F.2.3 allows, without a value.)
    expect(found[0]['0020000D'].Value).toBe(rows[0]!.study_instance_uid);
    expect(found[0]['00100020'].Value).toBe(rows[0]!.patient_key);
    expect(found[0]['00080061'].Value).toBe('CR');

    await call('POST', '/dicom-web/servers/secondread/retrieve', { Resources: [{ Study: rows[0]!.study_instance_uid }] });
    const instances: string[] = await call('GET', '/instances');
    expect(instances).toHaveLength(2);
    const tags = await Promise.all(instances.map((id) => call('GET', `/instances/${id}/simplified-tags`)));
    const ours = tags.find((t) => t.SOPInstanceUID === rows[0]!.sop_instance_uid);
    expect(ours).toMatchObject({ PatientID: rows[0]!.patient_key, PatientIdentityRemoved: 'YES', StudyInstanceUID: rows[0]!.study_instance_uid });
    expect(JSON.stringify(ours).includes('ORTHANC-PAT')).toBe(false);
  });
});

// A real Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) as a child process, for the PACS tests and the
// `pacs` benchmark: a fresh storage directory, free ports, the DICOMweb plugin on, and the modalities the
// caller names (so Orthanc can C-STORE to our SCP). Orthanc is what a department's PACS looks like from
// secondread: it stores, it answers QIDO/WADO, it pushes studies by DIMSE.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ORTHANC_BIN = '/usr/sbin/Orthanc';
const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface OrthancModality {
  aet: string;
  host: string;
  port: number;
}

export interface RunningOrthanc {
  /** REST root, e.g. http://127.0.0.1:PORT */
  url: string;
  /** DICOMweb root (STOW-RS/QIDO-RS/WADO-RS), e.g. http://127.0.0.1:PORT/dicom-web */
  dicomweb: string;
  aet: string;
  dicomPort: number;
  /** Orthanc's own log, for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

/** Whether this machine can run the Orthanc peer (binary and DICOMweb plugin installed). */
export function orthancAvailable(): boolean {
  return existsSync(ORTHANC_BIN) && existsSync(DICOMWEB_PLUGIN) && spawnSync(ORTHANC_BIN, ['--version']).status === 0;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startOrthanc(options: { modalities?: Record<string, OrthancModality>; aet?: string } = {}): Promise<RunningOrthanc> {
  const dir = mkdtempSync(join(tmpdir(), 'sr-orthanc-'));
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const aet = options.aet ?? 'ORTHANC';
  const config = {
    Name: 'secondread-test-pacs',
    StorageDirectory: join(dir, 'db'),
    IndexDirectory: join(dir, 'db'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aet,
    RemoteAccessAllowed: true,
    AuthenticationEnabled: false,
    HttpBindAddress: '127.0.0.1',
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
    DicomModalities: Object.fromEntries(Object.entries(options.modalities ?? {}).map(([name, m]) => [name, [m.aet, m.host, m.port]])),
    DicomAlwaysAllowStore: true,
    DicomAlwaysAllowFind: true,
    DicomCheckCalledAet: false,
    StableAge: 1,
    // The tests store a few hundred small instances at most; Orthanc's default cache sizes are fine.
  };
  writeFileSync(join(dir, 'orthanc.json'), JSON.stringify(config, null, 2));
  let output = '';
  const child: ChildProcess = spawn(ORTHANC_BIN, [join(dir, 'orthanc.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`Orthanc exited with ${child.exitCode} before it answered:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/system`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Orthanc did not answer within 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, dicomweb: `${url}/dicom-web`, aet, dicomPort, log: () => output, stop };
}

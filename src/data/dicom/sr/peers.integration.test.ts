// The SRs we send back, read by independent peers: DCMTK's dcmdump (the dataset) and dsrdump (the SR
// document model, which checks the IOD's relationship constraints and every content item), and
// pydicom (dcmread, strict validation, a walk of the content tree). The saliency Secondary Capture
// goes through dcmdump and pydicom (pixels included). Any error or warning in their output fails the test. Under CI a missing peer is a failure, not a skip.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { commandAvailable, PYTHON, pythonHas } from '../../../../test/integration/helpers/peers.js';
import { buildModelResultSr, buildReaderResultSr, buildSaliencySecondaryCapture } from './index.js';
import { modelInput, readerInput, testOrigin } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'sr-peers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cases: { name: string; bytes: () => Uint8Array; utf8?: boolean }[] = [
  { name: 'model-result', bytes: () => buildModelResultSr(modelInput()) },
  { name: 'model-result-no-decision', bytes: () => buildModelResultSr(modelInput({ decision: undefined })) },
  { name: 'model-result-utf8', bytes: () => buildModelResultSr(modelInput({ origin: testOrigin({ patientName: 'Müller^Zoë' }) })), utf8: true },
  { name: 'reader-result', bytes: () => buildReaderResultSr(readerInput()) },
  {
    // An original with only the mandatory UIDs: the type 2 attributes go out empty.
    name: 'reader-result-sparse-origin',
    bytes: () =>
      buildReaderResultSr(
        readerInput({ origin: { ...testOrigin(), patient: { id: '', name: '' }, study: { studyInstanceUid: testOrigin().study.studyInstanceUid } } }),
      ),
  },
];
const files = new Map<string, string>();
function file(c: (typeof cases)[number]): string {
  let path = files.get(c.name);
  if (!path) {
    path = join(dir, `${c.name}.dcm`);
    writeFileSync(path, c.bytes());
    files.set(c.name, path);
  }
  return path;
}

// DCMTK 3.6.7's VR checker knows only single-byte character sets; on a UTF-8 (ISO_IR 192) file it
// says so once. That line is about DCMTK, not the file: it is the only one tolerated, and only there.
const DCMTK_UTF8_NOTICE = 'W: The VR checker does not support this Specific Character Set: ISO_IR 192';

function complaints(output: string, utf8 = false): string[] {
  return output
    .split('\n')
    .filter((l) => /^[WEF]:|warn|error|invalid/i.test(l))
    .filter((l) => !(utf8 && l.trim() === DCMTK_UTF8_NOTICE));
}

describe.runIf(commandAvailable('dsrdump', 'apt-get install dcmtk'))('our SRs vs DCMTK', () => {
  for (const c of cases) {
    it(`${c.name}: dcmdump reads it without a warning`, () => {
      const r = spawnSync('dcmdump', ['-v', '+L', file(c)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(complaints(`${r.stdout}\n${r.stderr}`, c.utf8)).toEqual([]);
      expect(r.stdout).toContain('=ComprehensiveSRStorage');
    });

    it(`${c.name}: dsrdump reads the document (relationship constraints, codes, items) without a warning`, () => {
      const r = spawnSync('dsrdump', ['-v', '+Pc', '+Pl', '-Pi', file(c)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(complaints(`${r.stdout}\n${r.stderr}`, c.utf8)).toEqual([]);
      expect(r.stdout).toContain('Comprehensive SR Document');
      if (c.utf8) expect(r.stdout).toContain('Müller^Zoë');
      if (c.name.startsWith('model-result')) {
        expect(r.stdout).toContain('(126000,DCM,"Imaging Measurement Report")');
        expect(r.stdout).toContain('(121005,DCM,"Observer Type")=(121007,DCM,"Device")');
        expect(r.stdout).toContain('(111012,DCM,"Certainty of Finding")="81.23456789" (%,UCUM,"Percent")');
        expect(r.stdout).toContain('(lung-viral-pneumonia,99SECONDREAD,"lung-viral-pneumonia")');
      } else {
        expect(r.stdout).toContain('(121005,DCM,"Observer Type")=(121006,DCM,"Person")');
        expect(r.stdout).toContain('(121008,DCM,"Person Observer Name")="reader-7f3a"');
      }
    });
  }

  it('the complaint filter can fail: dsrdump on a file that breaks the relationship constraints', () => {
    // An SR whose root CONTAINER "INFERRED FROM" a CODE breaks Comprehensive SR's constraints.
    const bytes = Buffer.from(buildModelResultSr(modelInput()));
    const broken = join(dir, 'broken.dcm');
    const at = bytes.indexOf(Buffer.from('HAS CONCEPT MOD'));
    expect(at).toBeGreaterThan(0);
    bytes.write('INFERRED FROM  ', at, 'latin1');
    writeFileSync(broken, bytes);
    const r = spawnSync('dsrdump', ['-v', broken], { encoding: 'utf8' });
    expect(r.status !== 0 || complaints(`${r.stdout}\n${r.stderr}`).length > 0).toBe(true);
  });
});

describe.runIf(pythonHas('pydicom'))('our SRs vs pydicom', () => {
  const script = `
import json, sys, warnings
warnings.simplefilter('error')
import pydicom
from pydicom import config
config.settings.reading_validation_mode = config.RAISE
d = pydicom.dcmread(sys.argv[1])
def walk(items):
    out = []
    for it in items:
        name = it.ConceptNameCodeSequence[0].CodeMeaning if 'ConceptNameCodeSequence' in it else ''
        out.append([it.RelationshipType, it.ValueType, name])
        if 'ContentSequence' in it:
            out.extend(walk(it.ContentSequence))
    return out
print(json.dumps({'sopClass': d.SOPClassUID.name, 'patient': str(d.PatientName), 'study': d.StudyInstanceUID,
                  'equipment': [str(e.ManufacturerModelName) for e in d.get('ContributingEquipmentSequence', [])], 'items': walk(d.ContentSequence)}))
`;
  for (const c of cases) {
    it(`${c.name}: pydicom reads it strictly and walks the content tree`, () => {
      const r = spawnSync(PYTHON, ['-c', script, file(c)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr.trim()).toBe('');
      const out = JSON.parse(r.stdout) as { sopClass: string; patient: string; study: string; equipment: string[]; items: [string, string, string][] };
      expect(out.sopClass).toBe('Comprehensive SR Storage');
      expect(out.patient).toBe(c.utf8 ? 'Müller^Zoë' : c.name.includes('sparse') ? '' : 'Doe^Jane');
      expect(out.study).toBe(testOrigin().study.studyInstanceUid);
      if (c.name.startsWith('model-result')) {
        expect(out.equipment).toEqual(['cxr-vit']);
        expect(out.items.filter(([, , n]) => n === 'Certainty of Finding')).toHaveLength(3);
      } else expect(out.items).toContainEqual(['CONTAINS', 'CODE', 'Final label']);
    });
  }
});

describe('the saliency Secondary Capture vs DCMTK and pydicom', () => {
  const rgb = new Uint8Array(16 * 8 * 3).map((_, i) => (i * 7) % 256);
  const make = () =>
    buildSaliencySecondaryCapture({
      origin: testOrigin(),
      model: { name: 'cxr-vit', version: '3' },
      overlay: { rgb, width: 16, height: 8 },
      className: 'lung-opacity',
      observedAt: new Date('2026-12-06T03:07:48.123Z'),
      studyId: 'st_0123',
    });

  it.runIf(commandAvailable('dcmdump', 'apt-get install dcmtk'))('dcmdump reads it without a warning', async () => {
    const path = join(dir, 'saliency-sc.dcm');
    writeFileSync(path, await make());
    const r = spawnSync('dcmdump', ['-v', path], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(complaints(`${r.stdout}\n${r.stderr}`)).toEqual([]);
    expect(r.stdout).toContain('=SecondaryCaptureImageStorage');
    expect(r.stdout).toContain('[DERIVED\\SECONDARY]');
    expect(r.stdout).toContain('FileMetaInformationVersion');
  });

  it.runIf(pythonHas('pydicom', 'numpy'))('pydicom reads it strictly, pixels equal', async () => {
    const path = join(dir, 'saliency-sc-py.dcm');
    writeFileSync(path, await make());
    const py = `
import sys, warnings
warnings.simplefilter('error')
import pydicom
from pydicom import config
config.settings.reading_validation_mode = config.RAISE
d = pydicom.dcmread(sys.argv[1])
a = d.pixel_array
print(d.SOPClassUID.name, d.BurnedInAnnotation, '\\\\'.join(d.ImageType), a.shape, bytes(a.tobytes()).hex())
`;
    const r = spawnSync(PYTHON, ['-c', py, path], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe('');
    expect(r.stdout.trim()).toBe(`Secondary Capture Image Storage YES DERIVED\\SECONDARY (8, 16, 3) ${Buffer.from(rgb).toString('hex')}`);
  });
});

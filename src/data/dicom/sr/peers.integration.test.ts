// The SRs we send back, read by independent peers: DCMTK's dcmdump (the dataset) and dsrdump (the SR
// document model, which checks the IOD's relationship constraints and every content item), and
// pydicom (dcmread, strict validation, a walk of the content tree, the boxes' coordinates read back).
// The saliency Secondary Capture goes through dcmdump and pydicom (pixels included). Any error or
// warning in their output fails the test. Under CI a missing peer is a failure, not a skip.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { commandAvailable, PYTHON, pythonHas } from '../../../../test/integration/helpers/peers.js';
import {
  buildDetectionResultSr,
  buildDetectionReviewSr,
  buildModelResultSr,
  buildReaderResultSr,
  buildSaliencySecondaryCapture,
  detectionResultSrUids,
  FINDING_CODES,
} from './index.js';
import { detectionInput, modelInput, readerInput, testOrigin } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'sr-peers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cases: { name: string; bytes: () => Uint8Array; utf8?: boolean }[] = [
  { name: 'model-result', bytes: () => buildModelResultSr(modelInput()) },
  { name: 'model-result-no-decision', bytes: () => buildModelResultSr(modelInput({ decision: undefined })) },
  { name: 'model-result-utf8', bytes: () => buildModelResultSr(modelInput({ origin: testOrigin({ patientName: 'Müller^Zoë' }) })), utf8: true },
  { name: 'reader-result', bytes: () => buildReaderResultSr(readerInput()) },
  { name: 'detection-result', bytes: () => buildDetectionResultSr(detectionInput()) },
  // The detector ran and drew no box.
  { name: 'detection-none', bytes: () => buildDetectionResultSr(detectionInput({ detections: [] })) },
  // Reader B's verdicts on the boxes.
  {
    name: 'detection-review',
    bytes: () =>
      buildDetectionReviewSr({
        ...detectionInput(),
        review: { reviewers: ['reader-7f3a'], verdicts: [true, false, null], reviewedAt: new Date('2026-12-06T05:00:00Z') },
      }),
  },
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
      if (c.name === 'detection-review') {
        // The device-only SR it revises, as its predecessor.
        expect(r.stdout).toContain('(0040,a360) SQ');
        expect(r.stdout).toContain(`[${detectionResultSrUids(testOrigin(), { name: 'det-nano', version: '2' }).sopInstanceUid}]`);
      }
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
      } else if (c.name === 'detection-none') {
        expect(r.stdout).toContain('(121005,DCM,"Observer Type")=(121007,DCM,"Device")');
        expect(r.stdout).toContain('(121071,DCM,"Finding")=(281900007,SCT,"No abnormality detected")');
        expect(r.stdout).toContain('(111001,DCM,"Algorithm Name")="det-nano"');
        expect(r.stdout).not.toContain('Measurement Group');
        expect(r.stdout).not.toContain('Imaging Measurements');
      } else if (c.name.startsWith('detection-')) {
        expect(r.stdout).toContain('(121071,DCM,"Finding")=(60046008,SCT,"Pleural effusion")');
        expect(r.stdout).toContain('(111030,DCM,"Image Region")=(POLYLINE,100.25/1800,700.5/1800,700.5/2400,100.25/2400,100.25/1800)');
        expect(r.stdout).toMatch(/<contains SCOORD:[^\n]*\n\s*<selected from IMAGE:=\(CR image,\)>/);
        expect(r.stdout).toContain('(111012,DCM,"Certainty of Finding")="87.3" (%,UCUM,"Percent")');
        expect(r.stdout.match(/Measurement Group/g)).toHaveLength(3);
        const verdicts = r.stdout.match(/\(box-verdict,99SECONDREAD,"Second reader verdict on the AI finding"\)=\(([a-z-]+),99SECONDREAD/g) ?? [];
        if (c.name === 'detection-review') {
          expect(verdicts.map((v) => /=\(([a-z-]+),/.exec(v)![1])).toEqual(['correct', 'incorrect', 'not-marked']);
          expect(r.stdout).toContain('(121005,DCM,"Observer Type")=(121007,DCM,"Device")');
          expect(r.stdout).toContain('(121005,DCM,"Observer Type")=(121006,DCM,"Person")');
          expect(r.stdout).toContain('(121008,DCM,"Person Observer Name")="reader-7f3a"');
        } else expect(verdicts).toEqual([]);
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

  it('dsrdump checks the image region: a graphic type SCOORD does not have is refused', () => {
    const bytes = Buffer.from(buildDetectionResultSr(detectionInput()));
    const at = bytes.indexOf(Buffer.from('POLYLINE'));
    expect(at).toBeGreaterThan(0);
    bytes.write('RECTANGL', at, 'latin1');
    const broken = join(dir, 'broken-region.dcm');
    writeFileSync(broken, bytes);
    const r = spawnSync('dsrdump', ['-v', broken], { encoding: 'utf8' });
    expect(complaints(`${r.stdout}\n${r.stderr}`).join('\n')).toContain('Invalid Graphic Type for SCOORD');
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
        if it.ValueType == 'SCOORD':
            out.append(['SCOORD', it.GraphicType, [float(v) for v in it.GraphicData], [[r.RelationshipType, r.ValueType, r.ReferencedSOPSequence[0].ReferencedSOPInstanceUID] for r in it.ContentSequence]])
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
      } else if (c.name === 'detection-none') {
        expect(out.equipment).toEqual(['det-nano']);
        expect(out.items.filter((i) => i[0] === 'SCOORD')).toEqual([]);
        expect(out.items).toContainEqual(['CONTAINS', 'CODE', 'Finding']);
      } else if (c.name.startsWith('detection-')) {
        expect(out.equipment).toEqual(['det-nano']);
        expect(out.items.filter(([, , n]) => n === 'Second reader verdict on the AI finding')).toHaveLength(c.name === 'detection-review' ? 3 : 0);
        const regions = out.items.filter((i) => i[0] === 'SCOORD') as unknown as [string, string, number[], string[][]][];
        expect(regions.map((r) => r[1])).toEqual(['POLYLINE', 'POLYLINE', 'POLYLINE']);
        for (const [i, d] of detectionInput().detections.entries()) {
          const [x0, y0, x1, y1] = d.box.map(Math.fround);
          expect(regions[i]![2], d.class).toEqual([x0, y0, x1, y0, x1, y1, x0, y1, x0, y0]);
          expect(regions[i]![3]).toEqual([['SELECTED FROM', 'IMAGE', testOrigin().instance.sopInstanceUid]]);
        }
      } else expect(out.items).toContainEqual(['CONTAINS', 'CODE', 'Final label']);
    });
  }
});

describe.runIf(pythonHas('pydicom'))("the detection SR's standard finding codes vs PS3.16 (pydicom's generated dictionary)", () => {
  it('every standard code exists in its scheme with the meaning we write', () => {
    const py = `
import json, sys
import pydicom.sr._concepts_dict as m
out = {}
for scheme, value in json.loads(sys.argv[1]):
    out[scheme + ':' + value] = sorted({meaning for entries in m.concepts.get(scheme, {}).values() for v, (meaning, _) in entries.items() if v == value})
print(json.dumps(out))
`;
    const codes = Object.values(FINDING_CODES);
    const r = spawnSync(PYTHON, ['-c', py, JSON.stringify(codes.map((c) => [c.scheme, c.value]))], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const meanings = JSON.parse(r.stdout) as Record<string, string[]>;
    for (const c of codes) expect(meanings[`${c.scheme}:${c.value}`], c.value).toEqual([c.meaning]);
  });
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

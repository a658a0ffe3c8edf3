// The small pieces of the DICOM edge: the PACS configuration (file and environment), the allow-list
// rule, and the Part 10 wrapping of a received dataset (intake must parse exactly what was received).
import { describe, expect, it } from 'vitest';

import { loadConfig } from '../core/config.js';
import { metaDict, parseDicom, writeDicom } from '../data/dicom/parse.js';
import { cxrDicom, ramp16 } from '../data/dicom/testing.js';
import { datasetOfPart10, part10FromDataset } from './part10.js';
import { isAllowed, normalizeAddress } from './scp.js';

const load = (env: Record<string, string>) => loadConfig({ env, file: undefined, overrides: {} });

describe('pacs config', () => {
  it('defaults: no SCP port, nobody allowed, no nodes, bounded retries', () => {
    const c = load({}).pacs;
    expect(c.dimse.port).toBeUndefined();
    expect(c.dimse).toMatchObject({ aeTitle: 'SECONDREAD', allow: [], maxAssociations: 8 });
    expect(c.nodes).toEqual([]);
    expect(c.export).toMatchObject({ maxAttempts: 5, modelResultAfter: 'decision' });
  });

  it('reads the port, AE title, allow-list and nodes from the environment', () => {
    const c = load({
      SECONDREAD_DIMSE_PORT: '11112',
      SECONDREAD_DIMSE_AE: 'SR_AI',
      SECONDREAD_DIMSE_ALLOW: 'ORTHANC@10.0.0.5, MODALITY ,*@10.0.0.7',
      SECONDREAD_PACS_NODES: JSON.stringify([
        { name: 'orthanc', kind: 'dicomweb', url: 'http://10.0.0.5:8042/dicom-web', auth: { basic: { user: 'a', password: 'b' } } },
        { name: 'archive', kind: 'dimse', aet: 'ARCHIVE', host: '10.0.0.9', port: 104 },
      ]),
    }).pacs;
    expect(c.dimse).toMatchObject({ port: 11112, aeTitle: 'SR_AI' });
    expect(c.dimse.allow).toEqual([{ aeTitle: 'ORTHANC', hosts: ['10.0.0.5'] }, { aeTitle: 'MODALITY' }, { aeTitle: '*', hosts: ['10.0.0.7'] }]);
    expect(c.nodes.map((n) => n.name)).toEqual(['orthanc', 'archive']);
  });

  it('names what is wrong', () => {
    expect(() => load({ SECONDREAD_DIMSE_AE: 'A\\B' })).toThrow(/pacs.dimse.aeTitle/);
    expect(() => load({ SECONDREAD_DIMSE_AE: 'SEVENTEEN_CHARS_X' })).toThrow(/pacs.dimse.aeTitle/);
    expect(() => load({ SECONDREAD_PACS_NODES: '[{' })).toThrow(/SECONDREAD_PACS_NODES must be JSON/);
    expect(() => load({ SECONDREAD_PACS_NODES: JSON.stringify([{ name: 'x', kind: 'dimse', aet: 'X', host: 'h' }]) })).toThrow(/pacs.nodes.0.port/);
    const twice = JSON.stringify([
      { name: 'x', kind: 'dicomweb', url: 'http://a/' },
      { name: 'x', kind: 'dicomweb', url: 'http://b/' },
    ]);
    expect(() => load({ SECONDREAD_PACS_NODES: twice })).toThrow(/unique/);
  });
});

describe('allow-list', () => {
  const allow = [{ aeTitle: 'ORTHANC', hosts: ['10.0.0.5'] }, { aeTitle: 'MODALITY' }, { aeTitle: '*', hosts: ['::1'] }];
  it('matches the calling AE title (without its padding) and, when given, the address', () => {
    expect(isAllowed(allow, 'ORTHANC ', '::ffff:10.0.0.5')).toBe(true);
    expect(isAllowed(allow, 'ORTHANC', '10.0.0.6')).toBe(false);
    expect(isAllowed(allow, 'MODALITY', '192.168.1.1')).toBe(true);
    expect(isAllowed(allow, 'ANYONE', '::1')).toBe(true);
    expect(isAllowed(allow, 'ANYONE', '10.0.0.5')).toBe(false);
    expect(isAllowed([], 'ORTHANC', '10.0.0.5')).toBe(false);
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });
});

describe('part10', () => {
  it('wraps a bare dataset so that it parses exactly as the file it came from, and unwraps it again', async () => {
    const original = await cxrDicom(ramp16(), 'rle', { PatientID: 'P1', SOPInstanceUID: '1.2.3.4.5' });
    const file = parseDicom(original);
    const { dataset, transferSyntaxUid, sopClassUid, sopInstanceUid } = datasetOfPart10(original);
    expect({ transferSyntaxUid, sopClassUid, sopInstanceUid }).toEqual({
      transferSyntaxUid: '1.2.840.10008.1.2.5',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
      sopInstanceUid: '1.2.3.4.5',
    });
    const wrapped = part10FromDataset(dataset, { sopClassUid, sopInstanceUid, transferSyntaxUid, sourceAeTitle: 'MODALITY' });
    const again = parseDicom(wrapped);
    expect(again.transferSyntaxUid).toBe(file.transferSyntaxUid);
    expect(again.meta.SourceApplicationEntityTitle).toBe('MODALITY');
    expect(again.dataset.PatientID).toBe('P1');
    expect(Buffer.from(writeDicom(metaDict(again), again.dict)).subarray(-dataset.length)).toEqual(
      Buffer.from(writeDicom(metaDict(file), file.dict)).subarray(-dataset.length),
    );
    expect(() => datasetOfPart10(dataset)).toThrow(/DICM/);
  });
});

import { describe, expect, it } from 'vitest';

import { buildMultipartRelated, MultipartError, parseMediaType, parseMultipartRelated } from './multipart.js';

const limits = { maxParts: 10, maxPartBytes: 1000 };
const CT = 'multipart/related; type="application/dicom"; boundary=XyZ';

function body(...chunks: (string | Uint8Array)[]): Buffer {
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'latin1') : Buffer.from(c))));
}

function refusal(ct: string, b: Buffer, l = limits): { status: number; code: string } {
  try {
    parseMultipartRelated(ct, b, l);
  } catch (err) {
    if (err instanceof MultipartError) return { status: err.httpStatus, code: err.code };
    throw err;
  }
  throw new Error('accepted');
}

describe('parseMediaType', () => {
  it('reads type, quoted and plain parameters, case-insensitive names', () => {
    expect(parseMediaType('Multipart/Related; Type="application/dicom"; boundary=abc ; start="<a\\"b>"')).toEqual({
      type: 'multipart/related',
      params: { type: 'application/dicom', boundary: 'abc', start: '<a"b>' },
    });
    expect(() => parseMediaType('nonsense')).toThrow(MultipartError);
    expect(() => parseMediaType('a/b; x="open')).toThrow(MultipartError);
  });
});

describe('parseMultipartRelated', () => {
  it('splits parts with and without their own Content-Type, binary bodies byte-exact, preamble and epilogue ignored', () => {
    const bin = Uint8Array.from({ length: 256 }, (_, i) => i); // includes CR, LF and '-'
    const b = body(
      'preamble\r\n--XyZ\r\nContent-Type: application/dicom\r\nX-Extra:  v \r\n\r\n',
      bin,
      '\r\n--XyZ\r\n\r\n',
      'second',
      '\r\n--XyZ  \r\nContent-Type: application/dicom; transfer-syntax=1.2.840.10008.1.2.1\r\n\r\n\r\n--XyZ--\r\nepilogue',
    );
    const r = parseMultipartRelated(CT, b, limits);
    expect(r.type.type).toBe('application/dicom');
    expect(r.parts).toHaveLength(3);
    expect(Buffer.compare(r.parts[0]!.body, Buffer.from(bin))).toBe(0);
    expect(r.parts[0]!.headers['x-extra']).toBe('v');
    expect(r.parts[1]!.contentType.type).toBe('application/dicom');
    expect(r.parts[1]!.body.toString()).toBe('second');
    expect(r.parts[2]!.contentType.params['transfer-syntax']).toBe('1.2.840.10008.1.2.1');
    expect(r.parts[2]!.body.length).toBe(0);
  });

  it("takes boundaries longer than RFC 2046's 70 characters, as Orthanc sends them", () => {
    const b = '33defb0f-e7fb-4ede-ab6f-a0a67cb12315-33defb0f-e7fb-4ede-ab6f-a0a67cb12315';
    const r = parseMultipartRelated(
      `multipart/related; type="application/dicom"; boundary=${b}`,
      body(`--${b}\r\nContent-Length: 1\r\n\r\nx\r\n--${b}--`),
      limits,
    );
    expect(r.parts.map((p) => p.body.toString())).toEqual(['x']);
  });

  it('round-trips what buildMultipartRelated writes', () => {
    const a = new Uint8Array([1, 2, 3, 13, 10, 45, 45]);
    const built = buildMultipartRelated('application/dicom', [
      { contentType: 'application/dicom', body: a },
      { contentType: 'application/dicom', body: new Uint8Array([9]) },
    ]);
    const r = parseMultipartRelated(built.contentType, built.body, limits);
    expect(r.parts.map((p) => [...p.body])).toEqual([[...a], [9]]);
  });

  it('refuses bad input with 4xx codes', () => {
    const ok = body('--XyZ\r\n\r\nabc\r\n--XyZ--');
    expect(parseMultipartRelated(CT, ok, limits).parts).toHaveLength(1);
    expect(refusal('application/json', ok)).toEqual({ status: 415, code: 'unsupported_media_type' });
    expect(refusal('multipart/related; type="application/dicom"', ok)).toEqual({ status: 400, code: 'multipart_invalid' });
    expect(refusal(`multipart/related; boundary=${'x'.repeat(201)}`, ok).status).toBe(400);
    expect(refusal('multipart/related; boundary="a b "', ok).status).toBe(400); // may not end in a space
    expect(refusal(CT, body('no boundary here'))).toEqual({ status: 400, code: 'multipart_invalid' });
    expect(refusal(CT, body('--XyZ\r\n\r\nabc cut off'))).toEqual({ status: 400, code: 'multipart_invalid' });
    expect(refusal(CT, body('--XyZ\r\nno header end\r\n--XyZ--'))).toEqual({ status: 400, code: 'multipart_invalid' });
    expect(refusal(CT, body('--XyZ\r\nbad header line\r\n\r\nx\r\n--XyZ--'))).toEqual({ status: 400, code: 'multipart_invalid' });
    expect(refusal(CT, body('--XyZjunk\r\n\r\nx\r\n--XyZ--'))).toEqual({ status: 400, code: 'multipart_invalid' });
    expect(refusal('multipart/related; boundary=XyZ', ok)).toEqual({ status: 400, code: 'multipart_invalid' }); // no type for a part
    expect(refusal(CT, body('--XyZ\r\n\r\n', 'x'.repeat(1001), '\r\n--XyZ--'))).toEqual({ status: 413, code: 'payload_too_large' });
    const many = body(...Array.from({ length: 11 }, () => '--XyZ\r\n\r\nx\r\n'), '--XyZ--');
    expect(refusal(CT, many)).toEqual({ status: 413, code: 'payload_too_large' });
    expect(refusal(CT, body('--XyZ\r\n', 'A: b\r\n'.repeat(2000), '\r\nx\r\n--XyZ--'))).toEqual({ status: 400, code: 'multipart_invalid' });
  });
});

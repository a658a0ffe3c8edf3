// The transfer syntaxes we read (PS3.5 §10 and Annex A) and how each one's pixel data is decoded.
// One table: parsing, decoding, the docs and the tests all read it.

export type PixelCodec = 'native' | 'rle' | 'jpeg-baseline' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg2000';

export interface TransferSyntax {
  uid: string;
  name: string;
  /** How the dataset itself is encoded (dcmjs reads these three; deflate is inflated first). */
  encoding: 'implicit-le' | 'explicit-le' | 'explicit-be' | 'deflated-explicit-le';
  codec: PixelCodec;
  lossy: boolean;
}

export const IMPLICIT_VR_LE = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BE = '1.2.840.10008.1.2.2';

const SYNTAXES: readonly TransferSyntax[] = [
  { uid: IMPLICIT_VR_LE, name: 'Implicit VR Little Endian', encoding: 'implicit-le', codec: 'native', lossy: false },
  { uid: EXPLICIT_VR_LE, name: 'Explicit VR Little Endian', encoding: 'explicit-le', codec: 'native', lossy: false },
  { uid: DEFLATED_EXPLICIT_VR_LE, name: 'Deflated Explicit VR Little Endian', encoding: 'deflated-explicit-le', codec: 'native', lossy: false },
  { uid: EXPLICIT_VR_BE, name: 'Explicit VR Big Endian (retired)', encoding: 'explicit-be', codec: 'native', lossy: false },
  { uid: '1.2.840.10008.1.2.4.50', name: 'JPEG Baseline (Process 1)', encoding: 'explicit-le', codec: 'jpeg-baseline', lossy: true },
  { uid: '1.2.840.10008.1.2.4.51', name: 'JPEG Extended (Process 2 & 4)', encoding: 'explicit-le', codec: 'jpeg-baseline', lossy: true },
  { uid: '1.2.840.10008.1.2.4.57', name: 'JPEG Lossless, Non-Hierarchical (Process 14)', encoding: 'explicit-le', codec: 'jpeg-lossless', lossy: false },
  { uid: '1.2.840.10008.1.2.4.70', name: 'JPEG Lossless, Process 14, Selection Value 1', encoding: 'explicit-le', codec: 'jpeg-lossless', lossy: false },
  { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless', encoding: 'explicit-le', codec: 'jpeg-ls', lossy: false },
  { uid: '1.2.840.10008.1.2.4.81', name: 'JPEG-LS Near-Lossless', encoding: 'explicit-le', codec: 'jpeg-ls', lossy: true },
  { uid: '1.2.840.10008.1.2.4.90', name: 'JPEG 2000 (Lossless Only)', encoding: 'explicit-le', codec: 'jpeg2000', lossy: false },
  { uid: '1.2.840.10008.1.2.4.91', name: 'JPEG 2000', encoding: 'explicit-le', codec: 'jpeg2000', lossy: true },
  { uid: '1.2.840.10008.1.2.4.201', name: 'High-Throughput JPEG 2000 (Lossless Only)', encoding: 'explicit-le', codec: 'jpeg2000', lossy: false },
  { uid: '1.2.840.10008.1.2.4.202', name: 'High-Throughput JPEG 2000 with RPCL (Lossless Only)', encoding: 'explicit-le', codec: 'jpeg2000', lossy: false },
  { uid: '1.2.840.10008.1.2.4.203', name: 'High-Throughput JPEG 2000', encoding: 'explicit-le', codec: 'jpeg2000', lossy: true },
  { uid: '1.2.840.10008.1.2.5', name: 'RLE Lossless', encoding: 'explicit-le', codec: 'rle', lossy: false },
];

const BY_UID = new Map(SYNTAXES.map((s) => [s.uid, s]));

/** Syntaxes that are known but refused, with the reason a PACS administrator can act on. */
const REFUSED: Record<string, string> = {
  '1.2.840.10008.1.2.4.100': 'MPEG-2 video is not a still image',
  '1.2.840.10008.1.2.4.101': 'MPEG-2 video is not a still image',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 video is not a still image',
  '1.2.840.10008.1.2.4.103': 'MPEG-4 video is not a still image',
  '1.2.840.10008.1.2.4.104': 'MPEG-4 video is not a still image',
  '1.2.840.10008.1.2.4.105': 'MPEG-4 video is not a still image',
  '1.2.840.10008.1.2.4.106': 'MPEG-4 video is not a still image',
  '1.2.840.10008.1.2.4.107': 'HEVC video is not a still image',
  '1.2.840.10008.1.2.4.108': 'HEVC video is not a still image',
  '1.2.840.10008.1.2.4.92': 'JPEG 2000 Part 2 multi-component is not supported (send Part 1: .90/.91)',
  '1.2.840.10008.1.2.4.93': 'JPEG 2000 Part 2 multi-component is not supported (send Part 1: .90/.91)',
  '1.2.840.10008.1.2.4.94': 'JPIP referenced pixel data lives on another server',
  '1.2.840.10008.1.2.4.95': 'JPIP referenced pixel data lives on another server',
};

export function transferSyntax(uid: string): TransferSyntax | undefined {
  return BY_UID.get(uid);
}

export function refusalReason(uid: string): string {
  return REFUSED[uid] ?? 'unknown transfer syntax';
}

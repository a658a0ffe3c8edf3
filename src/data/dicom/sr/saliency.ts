// The saliency overlay as a Secondary Capture, for PACS viewers that show no SR. A picture with the
// heatmap burned in is no measurement: it is marked DERIVED\SECONDARY, BurnedInAnnotation YES, and
// its series says it is an AI overlay, while the SR (TID 1500) stays the result of record (the US
// ONC advice on AI output, IHE AIR).
import sharp from 'sharp';

import { writeDicomImage } from '../write.js';
import { codeItem, CODES, SrInputError } from './content.js';
import { checkUid, contributingEquipment, deterministicUid, dicomDateTime, patientAndStudy, type SrModel, type SrOrigin } from './document.js';

export interface SaliencyScInput {
  origin: SrOrigin;
  model: SrModel;
  /** The rendered overlay: a PNG (as the saliency route renders it), or raw 8-bit RGB, pixel-interleaved. */
  overlay: { png: Uint8Array } | { rgb: Uint8Array; width: number; height: number };
  /** The class the heatmap explains. */
  className: string;
  observedAt: Date;
  studyId: string;
}

const SALIENCY_SERIES_NUMBER = 9903;
const MAX_SIDE = 4096;

export function saliencyScUids(origin: SrOrigin, model: SrModel, className: string): { seriesInstanceUid: string; sopInstanceUid: string } {
  const sop = checkUid('source SOP Instance UID', origin.instance.sopInstanceUid);
  const who = `${model.name}@${model.version}`;
  return { seriesInstanceUid: deterministicUid('series', sop, who, 'saliency'), sopInstanceUid: deterministicUid('instance', sop, who, 'saliency', className) };
}

/** A Secondary Capture Image (RGB, explicit VR LE) of the overlay, in the original study, a series of its own. */
export async function buildSaliencySecondaryCapture(input: SaliencyScInput): Promise<Uint8Array> {
  const { origin, model } = input;
  if (input.className.trim() === '') throw new SrInputError('the saliency overlay needs the class it explains');
  const { rgb, width, height } = await rgbOf(input.overlay);
  const { date, time } = dicomDateTime(input.observedAt);
  const uids = saliencyScUids(origin, model, input.className);
  const who = `${model.name}@${model.version}`;
  const attributes = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
    SOPInstanceUID: uids.sopInstanceUid,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    TimezoneOffsetFromUTC: '+0000',
    ...patientAndStudy(origin),
    Modality: 'OT',
    SeriesInstanceUID: uids.seriesInstanceUid,
    SeriesNumber: SALIENCY_SERIES_NUMBER,
    SeriesDescription: 'secondread AI saliency overlay (not for diagnosis)',
    Manufacturer: 'secondread',
    ContributingEquipmentSequence: [contributingEquipment(model, input.observedAt, 'AI saliency overlay (secondread second reader)')],
    ConversionType: 'SYN',
    InstanceNumber: 1,
    PatientOrientation: '',
    ContentDate: date,
    ContentTime: time,
    ImageType: ['DERIVED', 'SECONDARY'],
    DerivationDescription: `saliency heatmap of ${who} for class ${input.className} burned into the image (secondread study ${input.studyId})`.slice(0, 1024),
    SourceImageSequence: [
      {
        ReferencedSOPClassUID: checkUid('source SOP Class UID', origin.instance.sopClassUid),
        ReferencedSOPInstanceUID: origin.instance.sopInstanceUid,
        PurposeOfReferenceCodeSequence: [codeItem(CODES.sourceForProcessing)],
      },
    ],
    BurnedInAnnotation: 'YES',
    PhotometricInterpretation: 'RGB',
  };
  return writeDicomImage(attributes, { width, height, bitsAllocated: 8, bitsStored: 8, signed: false, samplesPerPixel: 3, pixels: rgb }, 'explicit-le');
}

async function rgbOf(overlay: SaliencyScInput['overlay']): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  if ('rgb' in overlay) {
    const { width, height } = overlay;
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 && width <= MAX_SIDE && height <= MAX_SIDE))
      throw new SrInputError(`the overlay size ${width}×${height} is not within 1…${MAX_SIDE} pixels a side`);
    if (overlay.rgb.length !== width * height * 3)
      throw new SrInputError(`the overlay holds ${overlay.rgb.length} bytes, ${width}×${height} RGB needs ${width * height * 3}`);
    return { rgb: overlay.rgb, width, height };
  }
  try {
    const { data, info } = await sharp(overlay.png, { limitInputPixels: MAX_SIDE * MAX_SIDE })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels`);
    return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (err) {
    throw new SrInputError(`the overlay PNG cannot be decoded: ${String(err instanceof Error ? err.message : err).slice(0, 200)}`);
  }
}

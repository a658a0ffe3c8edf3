// Typed errors for DICOM input. Each has a stable code the API answers with (4xx, never 5xx): a file
// from a PACS or a modality that we cannot read is the sender's problem to see, named precisely.
import { SecondreadError } from '../../core/errors.js';

export class DicomError extends SecondreadError {
  constructor(code: string, message: string, httpStatus = 422, details?: Record<string, unknown>) {
    super(code, message, httpStatus, details);
  }
}

/** The file ends before an element, a fragment or the pixel data it declares. */
export class DicomTruncatedError extends DicomError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('dicom_truncated', message, 422, details);
  }
}

/** The bytes are not a DICOM dataset we can parse (or they lie about a length). */
export class DicomInvalidError extends DicomError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('dicom_invalid', message, 422, details);
  }
}

export class DicomNoPixelDataError extends DicomError {
  constructor(sopClassUid?: string) {
    super('dicom_no_pixel_data', 'the DICOM file has no Pixel Data (7FE0,0010): nothing to read', 422, sopClassUid ? { sopClassUid } : undefined);
  }
}

/** A structured report, an RT structure set, an encapsulated PDF…: a DICOM object that is not an image. */
export class DicomNotAnImageError extends DicomError {
  constructor(sopClassUid: string, name: string) {
    super('dicom_not_an_image', `the DICOM object is a ${name} (SOP Class ${sopClassUid}), not an image`, 422, { sopClassUid });
  }
}

export class DicomUnsupportedTransferSyntaxError extends DicomError {
  constructor(uid: string, why: string) {
    super('dicom_unsupported_transfer_syntax', `transfer syntax ${uid} is not supported: ${why}`, 415, { transferSyntaxUid: uid });
  }
}

/** Pixel attributes we do not handle (e.g. 32-bit float pixels, a palette colour image). */
export class DicomUnsupportedPixelsError extends DicomError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('dicom_unsupported_pixels', message, 422, details);
  }
}

/** Refused from the header, before a pixel buffer is allocated (a decompression bomb costs nothing). */
export class DicomImageTooLargeError extends DicomError {
  constructor(width: number, height: number, maxPixels: number) {
    super('image_too_large', `image is ${width}×${height} (${width * height} pixels), over the ${maxPixels}-pixel limit`, 422, { width, height, maxPixels });
  }
}

/** A codec failed on the pixel data the header describes: corrupt or inconsistent compressed data. */
export class DicomPixelDecodeError extends DicomError {
  constructor(transferSyntaxUid: string, message: string) {
    super('dicom_pixel_data_corrupt', `the pixel data cannot be decoded (${transferSyntaxUid}): ${message}`, 422, { transferSyntaxUid });
  }
}

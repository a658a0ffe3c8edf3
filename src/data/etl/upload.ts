// Idempotent uploads: a dataset version's keys are derived from its (content-hashed) id and the
// image's name, so an object already present with the right size was written by an earlier,
// interrupted run of the same build and is kept; the store's atomic puts rule out half-written ones.
import type { ObjectStore } from '../../storage/object-store.js';

export interface UploadCounts {
  uploaded: number;
  reused: number;
}

export async function putIfAbsent(objects: ObjectStore, key: string, data: Uint8Array, contentType: string, counts: UploadCounts): Promise<void> {
  const head = await objects.head(key);
  if (head && head.size === data.length) {
    counts.reused += 1;
    return;
  }
  await objects.put(key, data, { contentType });
  counts.uploaded += 1;
}

export function contentTypeOf(format: string): string {
  return format === 'jpeg' ? 'image/jpeg' : format === 'png' ? 'image/png' : format === 'dicom' ? 'application/dicom' : 'application/octet-stream';
}

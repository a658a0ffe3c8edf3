// ManifestImage ⇄ dataset_images row (snake_case, final_eval as 0/1). manifest.jsonl lines are the
// same rows without the version id.
import type { DatasetImagesTable } from '../../storage/schema.js';
import type { SecondreadClass } from '../classes.js';
import type { ManifestImage, Split } from './types.js';

export function toImageRow(versionId: string, i: ManifestImage): DatasetImagesTable {
  return {
    version_id: versionId,
    sha256: i.sha256,
    object_key: i.objectKey,
    file_name: i.fileName,
    dataset: i.dataset,
    source_archive: i.sourceArchive,
    archive_sha256: i.archiveSha256,
    entry_path: i.entryPath,
    source_class: i.sourceClass,
    class: i.class,
    split: i.split,
    final_eval: i.finalEval ? 1 : 0,
    patient_key: i.patientKey,
    width: i.width,
    height: i.height,
    bytes: i.bytes,
    format: i.format,
    bit_depth: i.bitDepth,
    mean_intensity: i.meanIntensity,
    std_intensity: i.stdIntensity,
  };
}

export function fromImageRow(r: DatasetImagesTable): ManifestImage {
  return {
    sha256: r.sha256,
    objectKey: r.object_key,
    fileName: r.file_name,
    dataset: r.dataset,
    sourceArchive: r.source_archive,
    archiveSha256: r.archive_sha256,
    entryPath: r.entry_path,
    sourceClass: r.source_class,
    class: r.class as SecondreadClass,
    split: r.split as Split,
    finalEval: Number(r.final_eval) === 1,
    patientKey: r.patient_key,
    width: Number(r.width),
    height: Number(r.height),
    bytes: Number(r.bytes),
    format: r.format,
    bitDepth: Number(r.bit_depth),
    meanIntensity: Number(r.mean_intensity),
    stdIntensity: Number(r.std_intensity),
  };
}

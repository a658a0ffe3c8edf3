// Object names for dataset images: `{dataset}-{class}-{original file name}`, so any image can be traced
// back to its source by name alone. The original name is sanitized (it is untrusted archive input) and
// only ever used as the last segment of a key the ETL builds itself.
import type { SecondreadClass } from '../classes.js';

const MAX_ORIGINAL = 120;

/** Keeps [A-Za-z0-9._-]; anything else (spaces, unicode, quotes) becomes '_'; no leading dots. */
export function sanitizeFileName(name: string): string {
  let s = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '_');
  if (s.length > MAX_ORIGINAL) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 && s.length - dot <= 10 ? s.slice(dot) : '';
    s = s.slice(0, MAX_ORIGINAL - ext.length) + ext;
  }
  return s || '_';
}

export function baseName(entryPath: string): string {
  return entryPath.slice(entryPath.lastIndexOf('/') + 1);
}

export function imageFileName(dataset: string, cls: SecondreadClass, entryPath: string): string {
  return `${dataset}-${cls}-${sanitizeFileName(baseName(entryPath))}`;
}

/** Adds a content-hash suffix before the extension, for two different images that share a name. */
export function disambiguate(fileName: string, sha256: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 ? `${fileName.slice(0, dot)}-${sha256.slice(0, 12)}${fileName.slice(dot)}` : `${fileName}-${sha256.slice(0, 12)}`;
}

export const datasetPrefix = (version: string) => `datasets/${version}/`;
export const imageKey = (version: string, cls: SecondreadClass, fileName: string) => `datasets/${version}/images/${cls}/${fileName}`;
export const quarantineKey = (version: string, fileName: string) => `datasets/${version}/quarantine/${fileName}`;
export const manifestKey = (version: string) => `datasets/${version}/manifest.jsonl`;
export const reportKey = (version: string) => `datasets/${version}/report.json`;
export const annotationsKey = (version: string) => `datasets/${version}/annotations.jsonl`;

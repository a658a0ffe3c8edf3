// The labels a reader may give a study: the classes of its modality, from the one list the server
// uses too (src/data/classes.ts has no imports, so the browser bundle can share it).
import { classesOf, MODALITIES, type Modality } from '../../../src/data/classes.js';

export function labelsFor(modality: string): string[] {
  return (MODALITIES as readonly string[]).includes(modality) ? classesOf(modality as Modality) : [];
}

export const MODALITY_NAMES: Record<string, string> = { cxr: 'Chest X-ray', oct: 'Retinal OCT' };

export function modalityName(m: string): string {
  return MODALITY_NAMES[m] ?? m;
}

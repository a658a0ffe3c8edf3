// The window/level a DICOM study's rendering was made with (GET /v1/studies/:id/dicom): the viewer's
// default picture is that window, and the viewer says so with its numbers. PNG/JPEG studies answer
// 404 here, which simply means "no DICOM window" (null).
import { useApi } from './useApi.js';

export interface DicomWindow {
  source: 'window' | 'voi-lut' | 'min-max';
  center: number;
  width: number;
}

export function useDicomWindow(studyId: string): DicomWindow | null {
  const facts = useApi((api, signal) => api.get<{ window: DicomWindow }>(`/v1/studies/${encodeURIComponent(studyId)}/dicom`, undefined, signal), [studyId]);
  return facts.data?.window ?? null;
}

/** How the viewer names a DICOM default window ("DICOM window 4096 / level 2048"). */
export function describeDicomWindow(w: DicomWindow): string {
  const what = w.source === 'window' ? 'DICOM window' : w.source === 'voi-lut' ? 'DICOM VOI LUT, width' : 'DICOM min…max, width';
  return `${what} ${Math.round(w.width)} / level ${Math.round(w.center)} (full range here)`;
}

// Progress reporting for long work. Library code below cli/ never draws on a terminal: it calls an
// optional `onProgress` with counts, and the CLI turns that into a progress bar (cli/progress.ts).
export interface ProgressEvent {
  /** Short name of the step, e.g. 'extract', 'decode', 'upload'. */
  phase: string;
  done: number;
  /** Total units when known. */
  total?: number;
  /** Extra figures shown beside the bar (e.g. { loss: 0.42, 'img/s': 130 }). */
  info?: Record<string, string | number>;
}

export type ProgressFn = (e: ProgressEvent) => void;

export const noProgress: ProgressFn = () => {};

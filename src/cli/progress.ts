// Renders ProgressEvents as one progress bar per phase on stderr (a TTY), or as a log line every
// few seconds when stderr is not a terminal (CI logs stay readable).
import cliProgress from 'cli-progress';

import type { ProgressEvent, ProgressFn } from '../core/progress.js';

export interface ProgressRenderer {
  onProgress: ProgressFn;
  stop(): void;
}

export function createProgressRenderer(stream: NodeJS.WriteStream = process.stderr): ProgressRenderer {
  let bar: cliProgress.SingleBar | undefined;
  let phase: string | undefined;
  let lastLine = 0;
  const infoText = (e: ProgressEvent) =>
    e.info
      ? Object.entries(e.info)
          .map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toFixed(4) : v}`)
          .join('  ')
      : '';

  const onProgress: ProgressFn = (e) => {
    if (!stream.isTTY) {
      const now = Date.now();
      const finished = e.total !== undefined && e.done >= e.total;
      if (e.phase !== phase || finished || now - lastLine > 5000) {
        stream.write(`${e.phase}: ${e.done}${e.total !== undefined ? `/${e.total}` : ''} ${infoText(e)}\n`);
        lastLine = now;
      }
      phase = e.phase;
      return;
    }
    if (e.phase !== phase) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        { format: `${e.phase.padEnd(10)} {bar} {value}/{total} {percentage}% eta {eta_formatted} {info}`, stream, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(e.total ?? 0, e.done, { info: infoText(e) });
      phase = e.phase;
    }
    if (e.total !== undefined) bar?.setTotal(e.total);
    bar?.update(e.done, { info: infoText(e) });
  };
  return {
    onProgress,
    stop: () => {
      bar?.stop();
      bar = undefined;
      phase = undefined;
    },
  };
}

// SIGTERM/SIGINT for the long-running commands (`serve`, `dicom listen`): the first signal starts the graceful
// shutdown, a second one exits at once (130) for the operator who will not wait. `stopped` settles with the
// shutdown's outcome, so the command can wait on it and set its exit code; `dispose` removes the handlers.
import type { ShutdownOutcome } from '../api/shutdown.js';
import type { Logger } from '../core/logger.js';

export function stopOnSignals(
  shutdown: (reason: string) => Promise<ShutdownOutcome>,
  logger: Logger,
  notWaitingFor: string,
): { stopped: Promise<ShutdownOutcome>; dispose(): void } {
  let onSignal!: (signal: NodeJS.Signals) => void;
  const stopped = new Promise<ShutdownOutcome>((resolve) => {
    let signals = 0;
    onSignal = (signal) => {
      if (++signals > 1) {
        logger.warn({ signal }, `second signal: exiting without ${notWaitingFor}`);
        process.exit(130);
      }
      void shutdown(signal).then(resolve);
    };
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    stopped,
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}

// Structured logging (pino). Logs go to stderr so that stdout stays clean for command output
// (tables, JSON) that other tools may pipe.
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'secondread'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything: for tests and library callers that do not want output. */
export const silentLogger: Logger = pino({ level: 'silent' });

// Structured logging (pino). Logs go to stderr so that stdout stays clean for command output
// (tables, JSON) that other tools may pipe. A person at a terminal reads one short line per event
// (time, level, message, fields); a pipe, a file or a log collector gets pino's JSON lines. `auto`
// (the default) picks by whether stderr is a TTY; LOG_FORMAT / config `logFormat` force either.
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

export type LogFormat = 'auto' | 'pretty' | 'json';

/** `auto` → pretty on a terminal, JSON otherwise. */
export function resolveLogFormat(format: LogFormat, stderrIsTty: boolean = process.stderr.isTTY === true): 'pretty' | 'json' {
  if (format !== 'auto') return format;
  return stderrIsTty ? 'pretty' : 'json';
}

export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  name = 'secondread',
  format: LogFormat = logFormatFromEnv(process.env.LOG_FORMAT),
  destination: DestinationStream = pino.destination({ fd: 2, sync: true }),
): Logger {
  const resolved = resolveLogFormat(format);
  const color = resolved === 'pretty' && process.stderr.isTTY === true && !process.env.NO_COLOR;
  return pino({ name, level, base: { pid: process.pid } }, resolved === 'json' ? destination : prettyDestination(destination, color));
}

function logFormatFromEnv(v: string | undefined): LogFormat {
  return v === 'pretty' || v === 'json' ? v : 'auto';
}

/** A logger that drops everything: for tests and library callers that do not want output. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Wraps a destination so that each JSON line pino writes reaches it as one human-readable line. */
export function prettyDestination(out: DestinationStream, color = false): DestinationStream {
  return { write: (line: string) => out.write(formatLogLine(line, color)) };
}

const LEVELS: Record<number, { label: string; ansi: string }> = {
  10: { label: 'TRACE', ansi: '90' },
  20: { label: 'DEBUG', ansi: '36' },
  30: { label: 'INFO ', ansi: '32' },
  40: { label: 'WARN ', ansi: '33' },
  50: { label: 'ERROR', ansi: '31' },
  60: { label: 'FATAL', ansi: '35' },
};

/** Fields every line has (shown in the prefix, or not at all for a terminal reader). */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/**
 * One pino JSON line → `12:03:07.412 INFO  message  key=value …`, an error's stack indented below.
 * A line that is not pino JSON passes through unchanged (nothing is lost by formatting).
 */
export function formatLogLine(line: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return line;
    o = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const paint = (code: string, s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const t = typeof o.time === 'number' ? new Date(o.time) : new Date();
  const hh = (n: number, w = 2) => String(n).padStart(w, '0');
  const time = `${hh(t.getHours())}:${hh(t.getMinutes())}:${hh(t.getSeconds())}.${hh(t.getMilliseconds(), 3)}`;
  const lv = LEVELS[Number(o.level)] ?? {
    label: String(o.level ?? '?')
      .toUpperCase()
      .padEnd(5),
    ansi: '0',
  };
  let stack = '';
  const fields: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (HIDDEN.has(k) || v === undefined) continue;
    if ((k === 'err' || k === 'error') && v && typeof v === 'object') {
      const e = v as { type?: unknown; message?: unknown; stack?: unknown; code?: unknown };
      fields.push(`${k}=${showValue(`${typeof e.type === 'string' ? `${e.type}: ` : ''}${String(e.message ?? '')}`)}`);
      if (e.code !== undefined) fields.push(`code=${showValue(e.code)}`);
      if (typeof e.stack === 'string') stack = `\n${e.stack.replace(/^/gm, '    ')}`;
      continue;
    }
    fields.push(`${paint('2', `${k}=`)}${showValue(v)}`);
  }
  const msg = typeof o.msg === 'string' ? o.msg : '';
  return `${paint('2', time)} ${paint(lv.ansi, lv.label)} ${msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}${stack}\n`;
}

function showValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

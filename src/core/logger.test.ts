import { describe, expect, it } from 'vitest';

import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger, formatLogLine, resolveLogFormat } from './logger.js';

/** A destination that keeps what pino writes. */
function sink() {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s) };
}

describe('logger formats', () => {
  it('auto is human-readable on a terminal and JSON when piped; an explicit format wins', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('json writes pino JSON lines; pretty writes one line per event with time, level, message and fields', () => {
    const json = sink();
    createLogger('info', 'secondread', 'json', json).info({ url: 'http://127.0.0.1:8080' }, 'Server listening');
    const o = JSON.parse(json.lines[0]!) as Record<string, unknown>;
    expect(o).toMatchObject({ level: 30, msg: 'Server listening', url: 'http://127.0.0.1:8080', name: 'secondread' });

    const pretty = sink();
    const log = createLogger('info', 'secondread', 'pretty', pretty);
    log.info({ url: 'http://127.0.0.1:8080', migrations: 3, note: 'two words' }, 'Server listening');
    log.debug('hidden below the level');
    expect(pretty.lines).toHaveLength(1);
    expect(pretty.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}Server listening {2}url=http:\/\/127\.0\.0\.1:8080 migrations=3 note="two words"\n$/);
    expect(pretty.lines[0]).not.toContain('{'); // no JSON for a reader at a terminal
  });

  it("shows an error's type and message on the line and its stack indented below", () => {
    const err = new TypeError('bad input');
    const line = formatLogLine(
      JSON.stringify({ level: 50, time: 0, msg: 'request failed', err: { type: 'TypeError', message: 'bad input', stack: err.stack } }),
    );
    const [first, second] = line.split('\n');
    expect(first).toMatch(/ERROR request failed {2}err="TypeError: bad input"$/);
    expect(second).toMatch(/^ {4}TypeError: bad input$/);
  });

  it('passes a line that is not pino JSON through unchanged', () => {
    expect(formatLogLine('plain text\n')).toBe('plain text\n');
    expect(formatLogLine('[1,2]\n')).toBe('[1,2]\n');
  });

  it('LOG_FORMAT / logFormat configure it, and a typo fails at startup', () => {
    expect(loadConfig({ env: {} }).logFormat).toBe('auto');
    expect(loadConfig({ env: { LOG_FORMAT: 'json' } }).logFormat).toBe('json');
    expect(() => loadConfig({ env: { LOG_FORMAT: 'fancy' } })).toThrow(ConfigError);
  });
});

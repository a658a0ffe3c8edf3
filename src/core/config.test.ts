import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';

describe('loadConfig', () => {
  it('defaults to the embedded store under .secondread', () => {
    const c = loadConfig({ env: {} });
    expect(c.home).toBe(resolve('.secondread'));
    expect(c.database.url).toBeUndefined();
    expect(c.database.sqlitePath).toBe(resolve('.secondread/secondread.db'));
    expect(c.objectStore.url).toBe(`file://${resolve('.secondread/objects')}`);
    expect(c.http.port).toBe(8080);
  });

  it('drift: profile at registration and scheduled checks on by default; SECONDREAD_DRIFT_CHECK_SECONDS=0 turns the checks off', () => {
    expect(loadConfig({ env: {} }).drift).toEqual({
      profileOnRegister: true,
      checkIntervalSeconds: 900,
      window: '200',
      modality: 'all',
      alpha: 0.05,
      minNewReads: 100,
    });
    expect(loadConfig({ env: { SECONDREAD_DRIFT_CHECK_SECONDS: '0' } }).drift.checkIntervalSeconds).toBe(0);
    expect(() => loadConfig({ env: { SECONDREAD_DRIFT_CHECK_SECONDS: '5' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, overrides: { drift: { window: 'soon' } } })).toThrow(/drift\.window/);
  });

  it('lets environment variables override the YAML file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-config-'));
    const file = join(dir, 'secondread.yaml');
    writeFileSync(file, 'home: /data/sr\nhttp:\n  port: 9000\nlogLevel: debug\n');
    const c = loadConfig({ file, env: { PORT: '9100', DATABASE_URL: 'postgres://u@h/db' } });
    expect(c.home).toBe('/data/sr');
    expect(c.http.port).toBe(9100);
    expect(c.logLevel).toBe('debug');
    expect(c.database.url).toBe('postgres://u@h/db');
  });

  it('names the offending key when a value is invalid', () => {
    expect(() => loadConfig({ env: { LOG_LEVEL: 'loud' } })).toThrow(/logLevel/);
    expect(() => loadConfig({ env: { PORT: 'eighty' } })).toThrow(ConfigError);
  });

  it('rejects unknown keys and non-mapping files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-config-'));
    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, 'hom: /x\n');
    expect(() => loadConfig({ file: typo, env: {} })).toThrow(/hom/);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    expect(() => loadConfig({ file: list, env: {} })).toThrow(/mapping/);
    expect(() => loadConfig({ file: join(dir, 'absent.yaml'), env: {} })).toThrow(/does not exist/);
  });

  it('workflow: the model name and the economics, all of the economics or none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-config-'));
    expect(loadConfig({ env: {} }).workflow).toEqual({});
    const file = join(dir, 'wf.yaml');
    writeFileSync(
      file,
      'workflow:\n  model: cxr-oct\n  economics:\n    minutesPerRead: { cxr: 2.5, oct: 4 }\n    costPerRead: { cxr: 18, oct: 30 }\n    inferenceCostPerStudy: 0.02\n    currency: EUR\n',
    );
    expect(loadConfig({ file, env: {} }).workflow).toEqual({
      model: 'cxr-oct',
      economics: { minutesPerRead: { cxr: 2.5, oct: 4 }, costPerRead: { cxr: 18, oct: 30 }, inferenceCostPerStudy: 0.02, currency: 'EUR' },
    });
    for (const [yaml, key] of [
      ['workflow:\n  economics:\n    currency: EUR\n', /workflow\.economics\.minutesPerRead/],
      [
        'workflow:\n  economics:\n    minutesPerRead: { cxr: 0, oct: 4 }\n    costPerRead: { cxr: 18, oct: 30 }\n    inferenceCostPerStudy: 0.02\n    currency: EUR\n',
        /workflow\.economics\.minutesPerRead\.cxr/,
      ],
      [
        'workflow:\n  economics:\n    minutesPerRead: { cxr: 2, oct: 4 }\n    costPerRead: { cxr: 18, oct: 30 }\n    inferenceCostPerStudy: 0.02\n    currency: euros\n',
        /workflow\.economics\.currency/,
      ],
      ['workflow:\n  modle: x\n', /modle/],
    ] as const) {
      writeFileSync(file, yaml);
      expect(() => loadConfig({ file, env: {} }), yaml).toThrow(key);
    }
  });
  it('workflow: the detector that also reads CXR studies, from the file or the environment (which wins)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-config-'));
    const file = join(dir, 'wf.yaml');
    writeFileSync(file, 'workflow:\n  model: cxr-oct\n  detector: cxr-det\n');
    expect(loadConfig({ file, env: {} }).workflow).toEqual({ model: 'cxr-oct', detector: 'cxr-det' });
    expect(loadConfig({ file, env: { SECONDREAD_WORKFLOW_DETECTOR: 'det-2', SECONDREAD_WORKFLOW_MODEL: 'm2' } }).workflow).toEqual({
      model: 'm2',
      detector: 'det-2',
    });
    writeFileSync(file, "workflow:\n  detector: ''\n");
    expect(() => loadConfig({ file, env: {} })).toThrow(/workflow\.detector/);
  });
});

// The runs and models commands end to end, in-process, on a temporary SECONDREAD_HOME: two tracked
// runs (made with the Tracker, as the trainer would), then every runs / models subcommand.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../core/config.js';
import { parseDicom } from '../../data/dicom/parse.js';
import { cxrDicom, phiDicom, ramp16 } from '../../data/dicom/testing.js';
import { decodeGrayscale } from '../../data/images/decode.js';
import { grayPng } from '../../data/images/testing.js';
import { migrateToLatest, openDatabase } from '../../storage/db.js';
import { openObjectStore } from '../../storage/open-object-store.js';
import { Tracker } from '../../tracking/index.js';
import { finishedRunWithModel, TEST_CLASSES, tinyVitOnnx } from '../../tracking/testing.js';
import { runCli, tempCliHome } from '../testing.js';

let dir: string;
let cli: Awaited<ReturnType<typeof tempCliHome>>;
const runIds: string[] = [];

beforeAll(async () => {
  cli = await tempCliHome('sr-cli-models-');
  dir = cli.dir;
  const config = loadConfig();
  const db = openDatabase(config.database);
  await migrateToLatest(db);
  const objects = openObjectStore(config.objectStore);
  const tracker = new Tracker(db, objects);
  runIds.push(await finishedRunWithModel(tracker, { temperature: 1.2 }), await finishedRunWithModel(tracker, { temperature: 2, seed: 9 }));
  await objects.close();
  await db.destroy();
});
afterAll(async () => {
  await cli?.cleanup();
});

const run = runCli;

describe('secondread runs …', () => {
  it('ls, show and compare print readable tables and JSON', async () => {
    const ls = await run('runs', 'ls', '--experiment', 'registry-test');
    expect(ls.code).toBe(0);
    for (const id of runIds) expect(ls.out).toContain(id);
    expect(ls.out).toMatch(/0\.86 \(test\)/);
    expect(JSON.parse((await run('runs', 'ls', '--json')).out)).toHaveLength(2);

    const show = await run('runs', 'show', runIds[0]!);
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/model\s+vit-tiny/);
    expect(show.out).toMatch(/model\.onnx\s+\d+\s+runs\//);
    expect(show.out).toMatch(/test_accuracy\s+0\.86/);

    const cmp = await run('runs', 'compare', ...runIds, '--all');
    expect(cmp.code).toBe(0);
    expect(cmp.out).toMatch(/ {2}model\s+vit-tiny\s+vit-tiny/);
    const json = JSON.parse((await run('runs', 'compare', ...runIds, '--json')).out) as { runs: unknown[] };
    expect(json.runs).toHaveLength(2);

    const missing = await run('runs', 'show', 'run_nope');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/run 'run_nope' was not found/);
  });
});

describe('secondread models …', () => {
  it('register, promote, rollback, history, ls, show and predict', async () => {
    for (const id of runIds) expect((await run('models', 'register', id, '--name', 'cxr-oct', '--by', 'alice')).code).toBe(0);
    expect((await run('models', 'promote', 'cxr-oct', '1', '--to', 'production', '--reason', 'first', '--by', 'alice')).out).toContain(
      'cxr-oct@production → version 1',
    );
    expect((await run('models', 'promote', 'cxr-oct', '2', '--to', 'production', '--reason', 'better', '--by', 'bob')).code).toBe(0);
    const rb = await run('models', 'rollback', 'cxr-oct', '--alias', 'production', '--reason', 'false clears', '--by', 'carol');
    expect(rb.out).toContain('version 2 → version 1');

    const history = await run('models', 'history', 'cxr-oct');
    expect(history.out).toMatch(/production\s+rollback\s+v2\s+v1\s+carol\s+false clears/);
    const ls = await run('models', 'ls');
    expect(ls.out).toMatch(/cxr-oct\s+2\s+v1/);
    const show = await run('models', 'show', 'cxr-oct');
    expect(show.out).toMatch(/1\s+production\s+run/);
    const card = await run('models', 'show', 'cxr-oct', '--version', '2');
    expect(card.out).toContain('# Model card: cxr-oct v2');
    expect(card.out).toContain('Softmax temperature: 2.0000');

    const png = join(dir, 'x.png');
    await writeFile(png, await grayPng(40, 40, (x, y) => x * 5 + y));
    const pred = JSON.parse((await run('models', 'predict', 'cxr-oct', png, '--alias', 'production', '--json')).out) as {
      version: number;
      top: { class: string };
    };
    expect(pred.version).toBe(1);
    expect(TEST_CLASSES).toContain(pred.top.class);

    const bad = await run('models', 'promote', 'cxr-oct', '9', '--to', 'production', '--reason', 'x');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/model version 'cxr-oct v9' was not found/);
    expect((await run('models', 'promote', 'cxr-oct', '1', '--to', 'prod', '--reason', 'x')).err).toMatch(/invalid alias 'prod'/);
  });

  it('import: a valid ONNX with meta.json, and a clear error (exit 2, no stack) for a bad file', async () => {
    const onnxPath = join(dir, 'foreign.onnx');
    const metaPath = join(dir, 'meta.json');
    await writeFile(onnxPath, tinyVitOnnx({ bare: true }).bytes);
    await writeFile(metaPath, JSON.stringify({ classes: [...TEST_CLASSES], input: { shape: [1, 1, 32, 32] }, preprocessing: { mean: 0.5, std: 0.5 } }));
    const ok = await run('models', 'import', onnxPath, '--name', 'foreign', '--meta', metaPath);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain('imported foreign version 1');

    // The imported model tried on a DICOM (12-bit MONOCHROME1, RLE, with PHI): read through the one
    // decoder, it scores exactly as its 8-bit rendering as a PNG does; a broken DICOM is a clear exit 2.
    const dicom = await phiDicom('PHIMODELX', 'rle', ramp16(40, 28));
    expect(parseDicom(dicom).dataset.PhotometricInterpretation).toBe('MONOCHROME2');
    const m1 = await cxrDicom(ramp16(40, 28), 'rle', { PhotometricInterpretation: 'MONOCHROME1', PatientName: 'PHIMODELX^Y' });
    for (const [name, bytes] of [
      ['m2.dcm', dicom],
      ['m1.dcm', m1],
    ] as const) {
      await writeFile(join(dir, name), bytes);
      const g = await decodeGrayscale(bytes);
      await writeFile(
        join(dir, `${name}.png`),
        await sharp(g.data, { raw: { width: g.width, height: g.height, channels: 1 } })
          .png()
          .toBuffer(),
      );
      const fromDicom = await run('models', 'predict', 'foreign', join(dir, name), '--json');
      expect(fromDicom.code, fromDicom.err).toBe(0);
      expect(fromDicom.out).not.toContain('PHIMODELX');
      const fromPng = await run('models', 'predict', 'foreign', join(dir, `${name}.png`), '--json');
      const probs = (out: string) => (JSON.parse(out) as { classes: { class: string; probability: number }[] }).classes;
      expect(probs(fromDicom.out)).toEqual(probs(fromPng.out));
    }
    await writeFile(join(dir, 'cut.dcm'), dicom.subarray(0, dicom.length - 300));
    const cut = await run('models', 'predict', 'foreign', join(dir, 'cut.dcm'));
    expect(cut.code).toBe(2);
    expect(cut.err).toMatch(/dicom_|truncated|corrupt/i);

    await writeFile(join(dir, 'bad.onnx'), 'definitely not onnx');
    const bad = await run('models', 'import', join(dir, 'bad.onnx'), '--name', 'foreign', '--meta', metaPath);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/not an ONNX model/);
    expect(bad.err).not.toMatch(/at .*\.(ts|js):\d+/);
    const noMeta = await run('models', 'import', onnxPath, '--name', 'foreign', '--meta', join(dir, 'absent.json'));
    expect(noMeta.err).toMatch(/cannot read meta file .*ENOENT/);
  });
});

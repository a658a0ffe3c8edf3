// The detector's boxes end to end in a real browser (headless chromium) against `secondread start` over a tiny
// demo, with a tiny engine-exported detector (det-nano, seeded spread weights, NMS in the graph) registered as
// `cxr-det@production` and configured as the workflow's detector (SECONDREAD_WORKFLOW_DETECTOR). A CXR study is
// taken in over the API; then, through the login form:
//   reader A   opens it: no box on the image, no boxes panel, no detections in the answer the page got; she
//              disagrees with the model, so the study goes to B;
//   reader B   sees the model's boxes drawn over the image (as many as serving's detections, class and score in
//              the captions), hides one class with its checkbox (its boxes go, the others stay) and shows it
//              again, marks one box Correct and another Incorrect;
// and the stored marks are read back through the API (the study's boxMarks and the audited `box.marked`).
// Deterministic decisions as in ui.integration.test.ts: a policy of the test's own (every threshold 0, no QA).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { classesOf, SECONDREAD_CLASSES } from '../data/classes.js';
import { DEMO_MODEL, type DemoOptionsInput } from '../demo/index.js';
import { testImage } from '../serving/testing.js';
import { ModelRegistry } from '../tracking/registry.js';
import { finishedRunWithDetector } from '../tracking/testing.js';
import { Tracker } from '../tracking/tracker.js';
import type { AuditEntry } from '../workflow/audit.js';
import type { StudyView } from '../workflow/blinding.js';
import { PolicyStore } from '../workflow/policies.js';
import { apiAs, chromiumAvailable, launchChromium, loginToken, newPage, screenshotTo, see, signIn } from './browser.js';
import { type DemoServer, demoUser, startDemoServer } from './demo-server.js';

const TINY_DEMO: DemoOptionsInput = {
  perClass: 16,
  cxrSize: 40,
  octWidth: 40,
  octHeight: 38,
  model: 'vit-tiny',
  size: 32,
  epochs: 1,
  batchSize: 8,
  studiesPerClass: 1,
  readPerClass: 0,
};
const DETECTOR = 'cxr-det';
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/browser-boxes');

const run = chromiumAvailable();
let dir: string;
let server: DemoServer;
let browser: Browser;

const user = (name: string) => demoUser(server, name);

const shot = screenshotTo(ARTIFACTS);

/** POST /v1/studies as `who` (multipart), the study view it answers. */
async function takeIn(who: string, png: Buffer): Promise<StudyView> {
  const token = await loginToken(server.url, user(who));
  const form = new FormData();
  form.set('modality', 'cxr');
  form.set('file', new Blob([png], { type: 'image/png' }), 'chest.png');
  const r = await fetch(`${server.url}/v1/studies`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  if (r.status !== 201) throw new Error(`intake: ${r.status} ${await r.text()}`);
  return (await r.json()) as StudyView;
}

describe.runIf(run)('the detector’s boxes in chromium: blinded for A, drawn, toggled and marked by B', () => {
  beforeAll(async () => {
    await rm(ARTIFACTS, { recursive: true, force: true });
    await mkdir(ARTIFACTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'sr-boxes-'));
    server = await startDemoServer({
      home: join(dir, 'home'),
      options: TINY_DEMO,
      env: { SECONDREAD_WORKFLOW_MODEL: DEMO_MODEL, SECONDREAD_WORKFLOW_DETECTOR: DETECTOR },
      prepare: async (deps, summary) => {
        await new PolicyStore(deps.db).create({
          modelName: DEMO_MODEL,
          modelVersion: summary.model.version,
          rule: { thresholds: Object.fromEntries(SECONDREAD_CLASSES.map((c) => [c, 0])), qaFraction: 0 },
          by: 'browser-test',
          report: { source: 'browser test fixture', why: 'deterministic outcomes: disagreement goes to B, no QA sampling' },
        });
        const tracker = new Tracker(deps.db, deps.objects);
        const registry = new ModelRegistry(deps.db, deps.objects, tracker);
        const { version } = await registry.register({ runId: await finishedRunWithDetector(tracker, { seed: 9 }), name: DETECTOR, by: 'browser-test' });
        await registry.setAlias(DETECTOR, 'production', version, { by: 'browser-test', reason: 'the workflow detector of the boxes browser test' });
      },
    });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    console.log(`boxes browser test screenshots: ${ARTIFACTS}`);
  });

  it('reader A sees no box before committing; reader B sees them, toggles a class and marks boxes; the marks are stored', async ({ onTestFailed }) => {
    const pages: Page[] = [];
    onTestFailed(async () => {
      for (const [i, p] of pages.entries()) await p.screenshot({ path: join(ARTIFACTS, `failed-${i}.png`), fullPage: true }).catch(() => {});
      console.error(`boxes browser test failed; server output:\n${server.output().slice(-3000)}`);
    });
    const admin = await apiAs(server.url, user('admin'));
    const taken = await takeIn('admin', await testImage(6));
    const truth = await admin<StudyView>(`/v1/studies/${taken.id}`);
    const detections = truth.reads.model?.detections ?? [];
    expect(truth.boxRead, JSON.stringify(truth.boxRead)).toMatchObject({ status: 'read', detector: { name: DETECTOR, version: 1 } });
    expect(detections.length, 'the tiny detector boxes something on this image').toBeGreaterThanOrEqual(2);
    for (const d of detections) expect(d.box[2]).toBeLessThanOrEqual(40); // original pixels (the image is 40 px wide)

    // Reader A: the image and the label buttons, nothing of the boxes.
    const a = (await newPage(browser)).page;
    pages.push(a);
    await signIn(a, server.url, user('reader-a'));
    const answered = a.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname === `/v1/studies/${taken.id}`);
    await a.goto(`${server.url}/worklist/${taken.id}`);
    const blind = (await (await answered).json()) as StudyView;
    expect(blind.blinded).toBe(true);
    expect(JSON.stringify(blind)).not.toMatch(/detections|boxRead|cxr-det/);
    await see(a.getByTestId('viewer-status'), /\d+×\d+ px/);
    await a.getByTestId('label-picker').waitFor();
    expect(await a.getByTestId('viewer-box').count(), 'boxes on the image before read A').toBe(0);
    expect(await a.getByTestId('boxes-panel').count(), 'boxes panel before read A').toBe(0);
    expect(await a.locator('body').innerText()).not.toMatch(/Cardiomegaly|Nodule|Pleural/);
    await shot(a, '1-reader-a-blind');
    const labelA = classesOf('cxr').find((c) => c !== truth.reads.model!.top.class)!;
    await a.getByTestId(`label-button-${labelA}`).click();
    await a.getByTestId('commit-read').click();
    await see(a.getByTestId('decision-text'), 'Sent to a second read');
    await a.context().close();

    // Reader B: the boxes on the image, one per detection, with class and score.
    const b = (await newPage(browser)).page;
    pages.push(b);
    await signIn(b, server.url, user('reader-b'));
    await b.goto(`${server.url}/adjudication/${taken.id}`);
    await b.getByTestId('boxes-panel').waitFor();
    const drawn = b.getByTestId('viewer-box');
    await drawn.first().waitFor();
    expect(await drawn.count()).toBe(detections.length);
    const captions = await drawn.allInnerTexts();
    expect(captions).toEqual(detections.map((d) => `${d.class} ${d.score.toFixed(2)}`));
    const sizes = await drawn.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
    for (const w of sizes) expect(w).toBeGreaterThan(0);
    await shot(b, '2-reader-b-boxes');

    // Hide one class: its boxes go, the others stay; show it again.
    const cls = detections[0]!.class;
    const ofClass = detections.filter((d) => d.class === cls).length;
    const toggle = b.locator(`[data-testid="box-class-toggle"][data-class="${cls}"]`);
    expect(await b.getByTestId('box-class-toggle').count()).toBe(new Set(detections.map((d) => d.class)).size);
    await toggle.uncheck();
    await expect.poll(() => b.locator(`[data-testid="viewer-box"][data-class="${cls}"]`).count()).toBe(0);
    expect(await drawn.count()).toBe(detections.length - ofClass);
    await shot(b, '3-reader-b-class-hidden');
    await toggle.check();
    await expect.poll(() => drawn.count()).toBe(detections.length);

    // Mark box 0 correct and box 1 incorrect.
    const item = (i: number) => b.locator(`[data-testid="box-item"][data-index="${i}"]`);
    await item(0).getByTestId('box-mark-correct').click();
    await expect.poll(() => item(0).getAttribute('data-mark')).toBe('correct');
    await item(1).getByTestId('box-mark-incorrect').click();
    await expect.poll(() => item(1).getAttribute('data-mark')).toBe('incorrect');
    expect(await item(0).getByTestId('box-mark-correct').getAttribute('aria-pressed')).toBe('true');
    expect(await item(1).getByTestId('box-mark-incorrect').getAttribute('aria-pressed')).toBe('true');
    await shot(b, '4-reader-b-marked');

    // What is stored: the marks on the study and one audited box.marked per click.
    const after = await admin<StudyView>(`/v1/studies/${taken.id}`);
    expect(after.reads.model!.boxMarks!.map((m) => [m.index, m.correct])).toEqual([
      [0, true],
      [1, false],
    ]);
    const audit = (await admin<{ entries: AuditEntry[] }>(`/v1/studies/${taken.id}/audit`)).entries.filter((e) => e.event === 'box.marked');
    expect(audit.map((e) => [e.actor, (e.payload as { index: number }).index, (e.payload as { correct: boolean }).correct])).toEqual([
      ['user:reader-b', 0, true],
      ['user:reader-b', 1, false],
    ]);
  });
});

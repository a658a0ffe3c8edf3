// The web UI in a real browser (headless chromium) against what `npm start` serves: a real `secondread start`
// process over a small demo made by the demo bootstrap. Three people, in order, each through the login form:
//   reader A   reads two studies of worklist A — the model's read is not on the page (nor in the answer the
//              page got) before the commit; after it, one study is auto-finalized and the other goes to B;
//   reader B   finds that study in the adjudication queue, sees A's read and the model's probabilities,
//              shows the saliency overlay and commits the final label;
//   ML engineer promotes the demo model to `staging` on the Models page and finds the move in the alias history.
// Screenshots of every step are written to test-artifacts/browser/ (the path is printed).
//
// Deterministic outcomes: the demo's fitted policy thresholds a tiny model's probabilities and samples 5% of
// would-be auto-finalized studies for QA at random, so the fixture puts a policy of its own in force for the
// demo model version (newest version wins): every class thresholded at 0 and no QA sampling — agreement alone
// auto-finalizes, disagreement goes to B. Reader A "agrees" by choosing the model's top class, which the test
// looks up as admin through the API (the browser, signed in as the reader, never gets it before the commit).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { classesOf, type Modality, SECONDREAD_CLASSES } from '../data/classes.js';
import { DEMO_MODEL, type DemoOptionsInput } from '../demo/index.js';
import type { StudyView } from '../workflow/blinding.js';
import { PolicyStore } from '../workflow/policies.js';
import type { WorklistItem } from '../workflow/service.js';
import { apiAs, chromiumAvailable, launchChromium, newPage, screenshotTo, see, signIn } from './browser.js';
import { type DemoServer, demoUser, startDemoServer } from './demo-server.js';

/** A demo that bootstraps in seconds on 2 cores (src/demo/bootstrap.test.ts's sizes, a few more epochs). */
const TINY_DEMO: DemoOptionsInput = {
  perClass: 16,
  cxrSize: 40,
  octWidth: 40,
  octHeight: 38,
  model: 'vit-tiny',
  size: 32,
  epochs: 3,
  batchSize: 8,
  studiesPerClass: 2,
  readPerClass: 1,
};
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/browser');
const PROMOTE_REASON = 'browser test: staging the demo model';

const run = chromiumAvailable();
let dir: string;
let server: DemoServer;
let browser: Browser;
/** Study that reader A sent to B (set by the first test, adjudicated by the second). */
let toB: { id: string; labelA: string } | undefined;

const user = (name: string) => demoUser(server, name);

const shot = screenshotTo(ARTIFACTS);

/** A page for one person; when the test fails, its last state is saved as <person>-failed.png and the server's output printed. */
async function personPage(name: string, onFailed: (fn: () => Promise<void>) => void): Promise<{ page: Page }> {
  const { page } = await newPage(browser);
  onFailed(async () => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}-failed.png`), fullPage: true }).catch(() => {});
    console.error(
      `browser test as ${name} failed at ${page.url()}; screenshot ${join(ARTIFACTS, `${name}-failed.png`)}; server output:\n${server.output().slice(-3000)}`,
    );
  });
  return { page };
}

const worklistRow = (page: Page, id: string) => page.locator(`[data-testid="worklist-row"][data-study-id="${id}"]`);

describe.runIf(run)('the web UI in chromium, served by secondread start over a demo', () => {
  beforeAll(async () => {
    await rm(ARTIFACTS, { recursive: true, force: true });
    await mkdir(ARTIFACTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'sr-browser-'));
    server = await startDemoServer({
      home: join(dir, 'home'),
      options: TINY_DEMO,
      prepare: async (deps, summary) => {
        await new PolicyStore(deps.db).create({
          modelName: DEMO_MODEL,
          modelVersion: summary.model.version,
          rule: { thresholds: Object.fromEntries(SECONDREAD_CLASSES.map((c) => [c, 0])), qaFraction: 0 },
          by: 'browser-test',
          report: { source: 'browser test fixture', why: 'deterministic outcomes: agreement auto-finalizes, no QA sampling' },
        });
      },
    });
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    console.log(`browser test screenshots: ${ARTIFACTS}`);
  });

  it('reader A reads blind; agreeing with the model auto-finalizes, disagreeing sends the study to B', async ({ onTestFailed }) => {
    const admin = await apiAs(server.url, user('admin'));
    const waiting = (await admin<{ items: WorklistItem[] }>('/v1/worklists/A?limit=500')).items;
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    // The model's read of each waiting study, as the admin (not the reader) may see it.
    const top = new Map<string, { modality: Modality; cls: string }>();
    for (const it of waiting) {
      const v = await admin<StudyView>(`/v1/studies/${encodeURIComponent(it.id)}`);
      top.set(it.id, { modality: v.modality as Modality, cls: v.reads.model!.top.class });
    }
    // Agreement needs a top class of the study's own modality (a tiny model may put an OCT class first on a CXR).
    const agreeable = waiting.find((it) => (classesOf(top.get(it.id)!.modality) as string[]).includes(top.get(it.id)!.cls));
    if (!agreeable) throw new Error(`no study in worklist A has a model read of its own modality: ${JSON.stringify([...top])}`);
    const other = waiting.find((it) => it.id !== agreeable.id)!;

    const { page } = await personPage('reader-a', onTestFailed);
    await signIn(page, server.url, user('reader-a'));
    expect(new URL(page.url()).pathname).toBe('/worklist');
    await see(page.getByTestId('worklist-count'), `${waiting.length} studies waiting`);
    const shown = await page.getByTestId('worklist-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-study-id')));
    expect(shown).toEqual(waiting.map((it) => it.id));
    await shot(page, '1-reader-a-worklist');

    // Study 1, before the commit: the image, the label buttons, and nothing of the model.
    const answered = page.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname === `/v1/studies/${agreeable.id}`);
    await worklistRow(page, agreeable.id).getByTestId('worklist-open').click();
    const view = (await (await answered).json()) as StudyView;
    expect(view.blinded).toBe(true);
    expect(view.reads.model).toBeUndefined();
    expect(view.decision).toBeUndefined();
    await see(page.getByTestId('viewer-status'), /\d+×\d+ px/);
    await page.getByTestId('label-picker').waitFor();
    expect(await page.getByTestId('decision-panel').count(), 'decision panel before read A').toBe(0);
    expect(await page.getByTestId('model-probabilities').count(), "model's probabilities before read A").toBe(0);
    expect(await page.getByTestId('saliency-toggle').count(), 'saliency toggle before read A').toBe(0);
    expect(await page.locator('body').innerText(), "the model's name before read A").not.toContain(DEMO_MODEL);
    await shot(page, '2-reader-a-before-commit');

    // Reader A agrees with the model: auto-finalized, and only now the model's read is shown.
    const cls = top.get(agreeable.id)!.cls;
    await page.getByTestId(`label-button-${cls}`).click();
    await page.getByTestId('commit-read').click();
    await see(page.getByTestId('decision-text'), 'Auto-finalized');
    await see(page.getByTestId('final-label'), cls);
    await page.getByTestId('model-probabilities').waitFor();
    expect(await page.locator('body').innerText()).toContain(DEMO_MODEL);
    await shot(page, '3-reader-a-auto-finalized');

    // Back in the worklist the study is gone.
    await page.getByTestId('nav-worklist').click();
    await see(page.getByTestId('worklist-count'), `${waiting.length - 1} ${waiting.length - 1 === 1 ? 'study' : 'studies'} waiting`);
    expect(await worklistRow(page, agreeable.id).count(), 'the finalized study in worklist A').toBe(0);

    // Study 2: reader A disagrees with the model → a second read.
    await worklistRow(page, other.id).getByTestId('worklist-open').click();
    await page.getByTestId('label-picker').waitFor();
    expect(await page.getByTestId('decision-panel').count(), 'decision panel before read A').toBe(0);
    const labelA = classesOf(top.get(other.id)!.modality).find((c) => c !== top.get(other.id)!.cls)!;
    await page.getByTestId(`label-button-${labelA}`).click();
    await page.getByTestId('commit-read').click();
    await see(page.getByTestId('decision-text'), 'Sent to a second read');
    await see(page.getByTestId('decision-reasons'), 'reader A and the model disagree');
    await see(page.getByTestId('read-closed'), 'went to reader B');
    await shot(page, '4-reader-a-sent-to-b');
    toB = { id: other.id, labelA };

    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor();
  });

  it('reader B adjudicates the study A sent: A’s read, the model, the saliency overlay, the final label', async ({ onTestFailed }) => {
    if (!toB) throw new Error('the reader A test did not send a study to B');
    const { page } = await personPage('reader-b', onTestFailed);
    await signIn(page, server.url, user('reader-b'));
    expect(new URL(page.url()).pathname).toBe('/adjudication');
    await worklistRow(page, toB.id).waitFor();
    await shot(page, '5-reader-b-queue');

    await worklistRow(page, toB.id).getByTestId('worklist-open').click();
    await see(page.getByTestId('read-a'), toB.labelA);
    await page.getByTestId('model-probabilities').first().waitFor();
    await see(page.getByTestId('decision-reasons'), 'reader A and the model disagree');

    const toggle = page.getByTestId('saliency-toggle');
    await see(toggle, 'Show saliency');
    await shot(page, '6-reader-b-study');
    const overlay = page.waitForResponse((r) => new URL(r.url()).pathname === `/v1/studies/${toB!.id}/saliency`, { timeout: 60_000 });
    await toggle.click();
    const res = await overlay;
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toBe('image/png');
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    await see(toggle, 'Hide saliency');
    await shot(page, '7-reader-b-saliency');

    await page.getByTestId(`label-button-${toB.labelA}`).click();
    await page.getByTestId('commit-read').click();
    await see(page.getByTestId('decision-text'), 'Adjudicated by reader B');
    await see(page.getByTestId('final-label'), toB.labelA);
    await shot(page, '8-reader-b-adjudicated');

    await page.getByTestId('nav-adjudication').click();
    await page.getByTestId('worklist-count').waitFor();
    expect(await worklistRow(page, toB.id).count(), 'the adjudicated study in worklist B').toBe(0);
  });

  it('the ML engineer promotes the demo model to staging and the alias history shows who and why', async ({ onTestFailed }) => {
    const { page } = await personPage('ml-engineer', onTestFailed);
    await signIn(page, server.url, user('ml-engineer'));
    await page.getByTestId('nav-models').click();
    const row = page.getByTestId('model-row').filter({ hasText: DEMO_MODEL });
    await see(row, 'production → v1');
    await row.getByRole('link', { name: DEMO_MODEL }).click();

    const history = page.getByTestId('alias-history');
    await see(history, 'demo bootstrap');
    expect(await history.locator('tbody tr').filter({ hasText: 'staging' }).count(), 'staging moves before the promotion').toBe(0);
    await page.locator('#promote-alias').selectOption('staging');
    await page.locator('#promote-version').selectOption('1');
    await page.locator('#promote-reason').fill(PROMOTE_REASON);
    await page.getByTestId('promote-button').click();
    await see(page.getByTestId('alias-changed'), 'staging now points at v1');

    const moved = history.locator('tbody tr').filter({ hasText: PROMOTE_REASON });
    await see(moved, 'staging');
    const cells = await moved.locator('td').allInnerTexts();
    expect(cells.slice(2)).toEqual(['staging', 'set: none → v1', 'ml-engineer', PROMOTE_REASON]);
    await shot(page, '9-ml-engineer-promoted');
  });
});

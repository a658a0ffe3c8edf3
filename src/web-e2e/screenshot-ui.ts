// The README's screenshots of the web UI, at the 1280×800 it is laid out for, taken from the `npm start` demo:
//   npx tsx src/web-e2e/screenshot-ui.ts                 a new demo (the default sizes: minutes on 2 cores) in a temp home
//   npx tsx src/web-e2e/screenshot-ui.ts --home <dir>    the demo already in <dir> (e.g. the one `npm start` made)
//   --out <dir>  where the PNGs go (default docs/images); --quick  a tiny demo (seconds; for trying the script)
// Writes worklist.png (reader A's worklist) and adjudication.png (reader B on the first study of the queue, the
// saliency overlay shown). It only looks: no read is committed, so a demo home it is pointed at stays as it was.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import type { Page } from 'playwright-core';

import type { DemoOptionsInput } from '../demo/index.js';
import { chromiumAvailable, launchChromium, newPage, see, signIn } from './browser.js';
import { type DemoServer, startDemoServer } from './demo-server.js';

const QUICK: DemoOptionsInput = {
  perClass: 16,
  cxrSize: 40,
  octWidth: 40,
  octHeight: 38,
  model: 'vit-tiny',
  size: 32,
  epochs: 2,
  batchSize: 8,
  studiesPerClass: 2,
  readPerClass: 1,
};

/** Lets the page paint what it has just been given (canvas draws happen on the next frames). */
async function settle(page: Page): Promise<void> {
  // A string: it runs in the page, and this project's Node typings have no DOM.
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
}

function user(server: DemoServer, name: string) {
  const c = server.credentials.get(name);
  if (!c) throw new Error(`the demo has no user ${name}`);
  return c;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { home: { type: 'string' }, out: { type: 'string', default: 'docs/images' }, quick: { type: 'boolean', default: false } },
  });
  if (!chromiumAvailable()) throw new Error('chromium is needed for the screenshots');
  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  const temp = values.home ? undefined : await mkdtemp(join(tmpdir(), 'sr-screenshots-'));
  const home = values.home ? resolve(values.home) : join(temp!, 'home');
  console.log(`demo in ${home}${values.home ? '' : values.quick ? ' (a new tiny one)' : ' (a new one: the default demo takes a few minutes)'}`);
  const server = await startDemoServer({ home, options: values.quick ? QUICK : undefined });
  const browser = await launchChromium();
  try {
    const a = await newPage(browser, { timeoutMs: 60_000 });
    await signIn(a.page, server.url, user(server, 'reader-a'));
    await a.page.getByTestId('worklist-A').waitFor();
    await settle(a.page);
    await a.page.screenshot({ path: join(out, 'worklist.png') });
    console.log(`wrote ${join(out, 'worklist.png')}`);

    const b = await newPage(browser, { timeoutMs: 60_000 });
    await signIn(b.page, server.url, user(server, 'reader-b'));
    await b.page.getByTestId('worklist-B').waitFor();
    await b.page.getByTestId('worklist-open').first().click();
    await see(b.page.getByTestId('viewer-status'), /\d+×\d+ px/);
    const overlay = b.page.waitForResponse((r) => /\/v1\/studies\/[^/]+\/saliency$/.test(new URL(r.url()).pathname), { timeout: 120_000 });
    await b.page.getByTestId('saliency-toggle').click();
    if ((await overlay).status() !== 200) throw new Error(`the saliency overlay failed: ${(await overlay).status()}`);
    await see(b.page.getByTestId('saliency-toggle'), 'Hide saliency');
    await settle(b.page);
    await b.page.screenshot({ path: join(out, 'adjudication.png') });
    console.log(`wrote ${join(out, 'adjudication.png')}`);
  } finally {
    await browser.close();
    await server.close();
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});

// The browser of the browser tests and screenshots: Debian's chromium, headless, driven by playwright-core
// (which ships no browser of its own: nothing is downloaded). Helpers that act as a person does — through
// the login form, by the UI's test ids (docs/web.md, "Test ids") — and an API client for what the test
// must know but the browser must not show (the model's read, as an admin sees it).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

import type { DemoCredential } from '../demo/index.js';

export const CHROMIUM = process.env.SECONDREAD_CHROMIUM ?? '/usr/bin/chromium';
/** The layout docs/web.md designs for (and the README screenshots' size). */
export const VIEWPORT = { width: 1280, height: 800 };

/** True when chromium is installed; under CI (set by .ci/run) a missing one is a failure, not a skip. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const reason = `${CHROMIUM} is missing (apt-get install chromium fonts-dejavu-core)`;
  if (process.env.CI) throw new Error(`${reason} (CI is set, so this is a failure, not a skip)`);
  console.warn(`SKIPPING the browser tests: ${reason}`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** A fresh context (its own sessionStorage: one signed-in person) at the designed size, light scheme. */
export async function newPage(browser: Browser, o: { timeoutMs?: number } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'light', deviceScaleFactor: 1 });
  context.setDefaultTimeout(o.timeoutMs ?? 15_000);
  return { context, page: await context.newPage() };
}

/** Signs in through the login form and waits for the signed-in shell to name the user. */
export async function signIn(page: Page, base: string, who: DemoCredential): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByTestId('login-name').fill(who.name);
  await page.getByTestId('login-password').fill(who.password);
  await page.getByTestId('login-submit').click();
  await see(page.getByTestId('current-user'), who.name);
}

/** Waits until the element shows `text` (Playwright's own wait: the error names the locator and the text). */
export async function see(l: Locator, text: string | RegExp): Promise<void> {
  await l.filter({ hasText: text }).first().waitFor({ state: 'visible' });
}

/** A full-page screenshot into `dir` as `<name>.png` (the browser tests' artifacts). */
export function screenshotTo(dir: string): (page: Page, name: string) => Promise<void> {
  return async (page, name) => {
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  };
}

/** A bearer token of `who` from the API's login. */
export async function loginToken(base: string, who: DemoCredential): Promise<string> {
  const login = await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: who.name, password: who.password }),
  });
  if (!login.ok) throw new Error(`API login as ${who.name}: ${login.status} ${await login.text()}`);
  return ((await login.json()) as { token: string }).token;
}

/** A signed-in API client (for the test's own look-ups, never for the steps a person takes in the browser). */
export async function apiAs(base: string, who: DemoCredential): Promise<<T>(path: string) => Promise<T>> {
  const token = await loginToken(base, who);
  return async <T>(path: string) => {
    const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!r.ok) throw new Error(`GET ${path} as ${who.name}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
}

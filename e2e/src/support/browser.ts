import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { AxeResults, Result as AxeViolation } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's chromium, driven by playwright-core (no browser download: none can be fetched here).
 * `.ci/run` installs the package when it is missing.
 */
export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/**
 * Headless without a sandbox (CI runs as root, where chromium refuses its sandbox), without a GPU
 * (WebGL falls back to software, enough for the map), and without anything that talks to the
 * internet on its own (QUIC probes, component updates, sync, first-run pages): a test must not
 * depend on, or wait for, the outside world. The profile is a fresh temporary folder per launch:
 * Playwright refuses `--user-data-dir` in `args` for `launch()` and makes one itself, removed on close.
 */
export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export const viewports = {
  mobile: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, isMobile: false, hasTouch: false },
} as const;
export type ViewportName = keyof typeof viewports;

/** Screenshots and other files a run leaves for people to look at (gitignored; CI keeps the folder). */
export const artefactsDir = resolve(import.meta.dirname, '..', '..', 'artefacts');

/** What a page complained about: uncaught errors, console errors (a CSP refusal is one) and failed requests. */
export interface PageProblems {
  errors: string[];
}

export interface TestBrowser {
  browser: Browser;
  /**
   * A new isolated context (own storage, like a second person on another device) and its page,
   * with axe-core preloaded for `checkAccessibility`. `problems` fills as the page runs.
   */
  open(options: { viewport: ViewportName; baseUrl: string; locale?: string }): Promise<{ context: BrowserContext; page: Page; problems: PageProblems }>;
  close(): Promise<void>;
}

let axeSource: string | undefined;
function axe(): string {
  // Read once from the package: the script runs inside the page.
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no chromium at ${chromiumPath}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`);
  }
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: [...chromiumFlags], timeout: 30_000 });
  return {
    browser,
    async open({ viewport, baseUrl, locale = 'en-GB' }) {
      const context = await browser.newContext({ ...viewports[viewport], baseURL: baseUrl, locale, serviceWorkers: 'allow' });
      // An init script is injected by the browser itself, so the app's strict CSP (no inline
      // script) does not refuse it, and the CSP under test stays on.
      await context.addInitScript({ content: axe() });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      const problems: PageProblems = { errors: [] };
      page.on('pageerror', (error) => problems.errors.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.errors.push(`console: ${message.text()}`);
      });
      return { context, page, problems };
    },
    close: () => browser.close(),
  };
}

/** Saves a full-page PNG as artefacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artefactsDir, { recursive: true });
  const path = join(artefactsDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** The axe-core violations of impact serious or critical on the page as it is now (WCAG 2.x A and AA rules). */
export async function seriousAccessibilityViolations(page: Page, options: { exclude?: string[] } = {}): Promise<AxeViolation[]> {
  const results = await page.evaluate(
    async ({ exclude }) => {
      const engine = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<AxeResults> } }).axe;
      return engine.run(
        { exclude: exclude.map((selector) => [selector]) },
        { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] },
      );
    },
    { exclude: options.exclude ?? [] },
  );
  return results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/** One line per violation and node, for an assertion message a person can act on. */
export function describeViolations(violations: readonly AxeViolation[]): string {
  return violations
    .flatMap((violation) => violation.nodes.map((node) => `${violation.id} (${violation.impact}): ${violation.help} at ${node.target.join(' ')}`))
    .join('\n');
}

/** The id of the element that has keyboard focus ('' for none), for keyboard-only checks. */
export function focusedId(page: Page): Promise<string> {
  // A string runs in the page; this package is type-checked without the DOM's types.
  return page.evaluate<string>("document.activeElement ? document.activeElement.id : ''");
}

/**
 * Lighthouse's mobile profile (a Moto G Power class phone): 390×844 at 3× density, touch, a mobile
 * Chrome user agent. The throttling that goes with it is `throttleLikeLighthouseMobile`.
 */
export const lighthouseMobile = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
  userAgent: 'Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
} as const;

/** Lighthouse's "Slow 4G": 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up (bytes per second for CDP). */
export const slow4g = { latencyMs: 150, downloadBytesPerSecond: (1.6 * 1024 * 1024) / 8, uploadBytesPerSecond: (750 * 1024) / 8 } as const;

/**
 * Slows the page's CPU by `cpuSlowdown` (Lighthouse mobile uses 4) and its network to Slow 4G through
 * the DevTools protocol, and turns the HTTP cache off so every load is a first visit.
 */
export async function throttleLikeLighthouseMobile(page: Page, options: { cpuSlowdown: number; network?: boolean }): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: options.cpuSlowdown });
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (options.network !== false) {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: slow4g.latencyMs,
      downloadThroughput: slow4g.downloadBytesPerSecond,
      uploadThroughput: slow4g.uploadBytesPerSecond,
    });
  }
}

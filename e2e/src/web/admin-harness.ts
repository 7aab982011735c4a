import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { describeViolations, screenshot, seriousAccessibilityViolations, type PageProblems } from '../support/browser.ts';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const consoleApp = join(repoRoot, 'apps', 'admin-web');

function newestSource(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The gateway serves the console from apps/admin-web/dist, which is build output (never
 * committed): a clean clone has none, and a stale one would test yesterday's console. The
 * platform's web build (scripts/build-web.mjs: rebuilds only what changed, under a lock, swapping
 * the new dist in whole, so two test files never see half a build) does it; before that script
 * existed, a plain Vite build when the output is missing or older than any source file.
 */
export function ensureConsoleBuilt(): void {
  const buildWeb = resolve(repoRoot, 'scripts', 'build-web.mjs');
  if (existsSync(buildWeb)) {
    const built = spawnSync(process.execPath, [buildWeb, 'admin-web'], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 });
    assert.equal(built.status, 0, `the console's build failed:\n${built.stdout}\n${built.stderr}`);
    return;
  }
  const index = join(consoleApp, 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestSource(consoleApp)) return;
  const vite = resolve(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  const built = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: consoleApp, encoding: 'utf8', timeout: 180_000 });
  assert.equal(built.status, 0, `vite build of the console failed:\n${built.stdout}\n${built.stderr}`);
}

/** Signs the demo operator in through the login form, by keyboard (the email field has focus). */
export async function signInByKeyboard(page: Page, email = 'operator@carshare.local', password = 'operator-demo-pass'): Promise<void> {
  await page.goto('/admin/');
  await page.getByLabel('Email').waitFor();
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.getByRole('navigation', { name: 'Console sections' }).waitFor();
}

/**
 * The checks every main screen gets: a screenshot as a test artefact, no serious or critical
 * axe-core violation, and nothing the page complained about (a CSP refusal is a console error).
 */
export async function checkScreen(page: Page, problems: PageProblems, name: string): Promise<void> {
  await screenshot(page, `admin-${name}-desktop`);
  const violations = await seriousAccessibilityViolations(page);
  assert.equal(violations.length, 0, `${name}: ${describeViolations(violations)}`);
  assert.deepEqual(problems.errors, [], `${name}: the page reported errors`);
}

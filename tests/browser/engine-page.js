// The pages of tests/browser that run one wasm build in a worker (parity.html, tesseract.html):
// the four builds, and opening such a page for one of them in headless Chromium.

import { join } from 'node:path';

import { repo, startServer } from './serve.js';

/** The threaded builds on a cross-origin isolated page, the single-thread ones on a plain page. */
export const BUILDS = [
  { name: 'threads', isolated: true, relaxed: false },
  { name: 'threads-relaxed', isolated: true, relaxed: true },
  { name: 'single', isolated: false, relaxed: false },
  { name: 'single-relaxed', isolated: false, relaxed: true },
];

/**
 * Opens `${name}.html` for `build`, serving the wasm builds, node_modules and the cache (at /cache),
 * and waits for its `window[name]`; `inPage` calls into the page, failing with all it logged.
 * @param {import('playwright-core').Browser} browser
 * @param {{ name: string, isolated: boolean }} build
 * @param {string} name
 */
export async function openEnginePage(browser, build, name) {
  const mounts = [`/wasm=${join(repo, 'dist/wasm')}`, `/node_modules=${join(repo, 'node_modules')}`, `/cache=${process.env.LANTERN_CACHE}`];
  const { server, url } = await startServer({ root: join(repo, 'tests/browser'), mounts, isolated: build.isolated });
  const page = await browser.newPage();
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.stack ?? error.message}`));
  await page.goto(`${url}${name}.html?build=${build.name}`);
  await page.waitForFunction((global) => window[global] !== undefined, name);
  async function inPage(label, fn, arg) {
    try {
      return await page.evaluate(fn, arg);
    } catch (error) {
      const logs = consoleLines.length ? consoleLines.join('\n') : '(the page logged nothing)';
      throw new Error(`${build.name} build, ${label}: ${error.message}\npage console:\n${logs}`);
    }
  }
  return { server, page, inPage };
}

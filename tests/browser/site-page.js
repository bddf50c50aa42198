// What the site's browser tests share: the two builds, opening the built site in each, and
// running files through the page as a person would.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { after, before, describe, test } from 'node:test';

import { unzipSync } from 'fflate';
import npyjs from 'npyjs';
import { chromium } from 'playwright-core';

import { editDistance } from './edit-distance.js';
import { CHROMIUM, repo, startServer, watchCsp } from './serve.js';

export const evalDir = process.env.LANTERN_EVAL ?? join(repo, '../shared/eval');
export const photo = (name) => join(evalDir, 'photos', name);

/** The threaded build needs an isolated page; the single-thread build runs on a plain one. */
export const modes = [
  { name: 'threads', isolated: true },
  { name: 'single-thread', isolated: false },
];

/**
 * Serves dist/ for `mode` and opens the site in a browser context made with `contextOptions` (a
 * phone's viewport, say); resolves once the engine says which backend runs.
 * `cspViolations` collects what the site's Content-Security-Policy blocked (`watchCsp`).
 */
export async function openSite(browser, mode, contextOptions = {}) {
  const { server, url } = await startServer({ root: join(repo, 'dist'), isolated: mode.isolated });
  // Without isolation the page would install its service-worker fallback and become isolated.
  const context = await browser.newContext({ serviceWorkers: mode.isolated ? 'allow' : 'block', ...contextOptions });
  const cspViolations = await watchCsp(context);
  // Every request the page and its workers make, so tests can check that no image leaves it. The
  // service worker's own fetch of a request it passes on is the same request again: left out.
  const requests = [];
  context.on('request', (r) => {
    if (!r.serviceWorker()) requests.push({ url: r.url(), method: r.method(), body: r.postDataBuffer()?.length ?? 0 });
  });
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => /^(threads|single)/.test(document.body.dataset.backend ?? ''), null, { timeout: 120_000 });
  return { server, url, context, page, requests, cspViolations };
}

/**
 * One Chromium for `title`, and the site opened in each build: `defineTests(mode, site)` defines
 * the tests of one build, where `site` holds `{ server, url, context, page, requests,
 * cspViolations }` once they run. Each build's last test checks that nothing broke the CSP.
 */
export function describeInEachBuild(title, defineTests) {
  describe(title, { timeout: 1_200_000 }, () => {
    let browser;
    before(async () => {
      browser = await chromium.launch(CHROMIUM);
    });
    after(async () => browser?.close());
    for (const mode of modes) {
      describe(`${mode.name} build`, () => {
        const site = {};
        before(async () => Object.assign(site, await openSite(browser, mode)));
        after(async () => {
          await site.context?.close();
          site.server?.kill();
        });
        defineTests(mode, site);
        test('nothing breaks the Content-Security-Policy', () => {
          assert.deepEqual(site.cspViolations, []);
        });
      });
    }
  });
}

/** Adds files through the page's file picker and waits for every new job to settle. */
export async function runJobs(page, files) {
  const before = await page.locator('.job').count();
  await page.setInputFiles('#files', files);
  const jobs = page.locator('.job');
  for (let i = before; i < before + files.length; i++) {
    await page.waitForFunction(
      (index) => ['done', 'error', 'cancelled'].includes(document.querySelectorAll('.job')[index]?.dataset.state),
      i,
      { timeout: 300_000 },
    );
  }
  return jobs.nth(before + files.length - 1);
}

/** Lines trimmed, blank ones dropped, joined by '\n': as the native tests compare text. */
const normalised = (text) => [...text.split('\n').map((line) => line.trim()).filter(Boolean).join('\n')];

/**
 * Character error rate: edit distance over characters / the expected text's length.
 * @param {string} want
 * @param {string} got
 */
export function characterErrorRate(want, got) {
  const [a, b] = [normalised(want), normalised(got)];
  return editDistance(a, b) / Math.max(a.length, 1);
}

/** One array of a parity case written by `just references`: `key` is e.g. "out.1959" or "in.image". */
export function referenceArray(caseName, key) {
  const npz = unzipSync(readFileSync(join(process.env.LANTERN_CACHE, `references/${caseName}.npz`)));
  const bytes = npz[`${key}.npy`];
  return new npyjs().parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * What a person gets by clicking `link` (a finished job's download): the file's name and bytes.
 * Read through the browser's download rather than fetched in the page: results are blob: URLs,
 * which the site's Content-Security-Policy lets the page show but not fetch.
 * @param {import('playwright-core').Locator} link
 */
export async function download(link) {
  const [file] = await Promise.all([link.page().waitForEvent('download'), link.click()]);
  return { name: file.suggestedFilename(), bytes: readFileSync(await file.path()) };
}

/**
 * Hands the page's file picker a `width`×`height` JPEG (quality 0.92, as a camera saves) made in
 * the page from the image file `source`: scaled to fit, centred on white. Made there, so tens of
 * megapixels never cross from Node.
 * @param {import('playwright-core').Page} page
 * @param {string} source
 * @param {number} width
 * @param {number} height
 */
export async function addLargePhoto(page, source, width, height) {
  await page.evaluate(async ([bytes, width, height]) => {
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(bytes)]));
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff';
    context.fillRect(0, 0, width, height);
    const scale = Math.min(width / bitmap.width, height / bitmap.height);
    const [w, h] = [bitmap.width * scale, bitmap.height * scale];
    context.drawImage(bitmap, (width - w) / 2, (height - h) / 2, w, h);
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.92 });
    const files = new DataTransfer();
    files.items.add(new File([blob], `large-${width}x${height}.jpg`, { type: 'image/jpeg' }));
    const input = /** @type {HTMLInputElement} */ (document.querySelector('#files'));
    input.files = files.files;
    input.dispatchEvent(new Event('change'));
  }, [Array.from(readFileSync(source)), width, height]);
}

// Offline after the first visit, and a new deployment on the next one: the built site is copied
// (models mounted from dist/), visited once, then served by nothing at all, then rebuilt with a
// changed file. Needs `just build` (dist/); `just test-browser` runs it first.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { CHROMIUM, repo, startServer, watchCsp } from './serve.js';
import { download, photo, runJobs } from './site-page.js';

const dist = join(repo, 'dist');

describe('Offline after the first visit', { timeout: 600_000 }, () => {
  let browser;
  let context;
  let page;
  let site;
  let server;
  let port;
  let cspViolations;
  /** The cut-out made online, to compare with the one made offline. */
  let onlineResult;

  const serve = async () => {
    ({ server } = await startServer({ root: site, mounts: [`/models=${join(dist, 'models')}`], isolated: true, port }));
  };
  const engineReady = () =>
    page.waitForFunction(() => /^(threads|single)/.test(document.body.dataset.backend ?? ''), null, { timeout: 120_000 });
  const shellCaches = () => page.evaluate(async () => (await caches.keys()).filter((name) => name.startsWith('lantern-shell-')));

  before(async () => {
    site = mkdtempSync(join(tmpdir(), 'lantern-offline-'));
    cpSync(dist, site, { recursive: true, filter: (source) => source !== join(dist, 'models') });
    const first = await startServer({ root: site, mounts: [`/models=${join(dist, 'models')}`], isolated: true });
    server = first.server;
    port = Number(new URL(first.url).port);
    browser = await chromium.launch(CHROMIUM);
    context = await browser.newContext();
    cspViolations = await watchCsp(context);
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    server?.kill();
    if (site) rmSync(site, { recursive: true, force: true });
  });

  test('the first visit keeps the page and its engine, and says so', async () => {
    await page.goto(`http://127.0.0.1:${port}/`);
    await engineReady();
    await page.waitForFunction(() => document.querySelector('#offline')?.textContent === 'Available offline', null, { timeout: 60_000 });
    const job = await runJobs(page, [photo('horse.png')]);
    assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
    onlineResult = (await download(job.locator('.download'))).bytes;
  });

  test('with the server gone, the site reloads and Remove background works', async () => {
    server.kill();
    await new Promise((resolve) => server.once('exit', resolve));
    await page.reload();
    await engineReady();
    const job = await runJobs(page, [photo('horse.png')]);
    assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
    assert.ok((await download(job.locator('.download'))).bytes.equals(onlineResult), 'the same cut-out as online');
  });

  test('after a rebuild with a changed file, the next visit serves the new file and the old cache goes', async () => {
    const [first] = await shellCaches();
    appendFileSync(join(site, 'app.js'), "\ndocument.body.dataset.deployment = 'second';\n");
    execFileSync('node', [join(repo, 'site/build/offline-list.js'), site]);
    const version = JSON.parse(readFileSync(join(site, 'offline.json'), 'utf8')).version;
    assert.notEqual(`lantern-shell-${version}`, first);
    await serve();
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.deployment === 'second', null, { timeout: 30_000 });
    // The updated worker takes over and deletes the first build's cache.
    await page.waitForFunction(
      async (expected) => JSON.stringify((await caches.keys()).filter((name) => name.startsWith('lantern-shell-'))) === JSON.stringify([expected]),
      `lantern-shell-${version}`,
      { timeout: 30_000 },
    );
    assert.deepEqual(cspViolations, []);
  });
});

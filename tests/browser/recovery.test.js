// A panic anywhere in the engine ends only its own job, in both builds and every tool: the job
// fails with a message within a second, the engine restarts, and the jobs queued after it run.
// In the threaded build the panic is on a pool thread, where it used to hang the job for good (the
// engine's own thread waits for that thread's work, and the thread is gone). A job that runs the
// engine out of memory (there too) costs only itself the same way. The panic and the exhaustion
// are asked for with the protocol's test-only `debug` field, added to the page's job messages
// here. Images 1 px and 16 px wide run in the same queues. Needs `just build` (dist/).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { before, test } from 'node:test';

import { describeInEachBuild, evalDir, photo, runJobs } from './site-page.js';

/**
 * In the page before its scripts: the job message whose ordinal (from 0, per page load) is
 * `globalThis.debugJob.ordinal` carries `debug: globalThis.debugJob.kind` ('panic' or
 * 'out-of-memory'), and every job card records when it entered each state (`data-at-<state>`,
 * performance.now()).
 */
function instrument() {
  const send = Worker.prototype.postMessage;
  let jobs = 0;
  Worker.prototype.postMessage = function (message, transfer) {
    if (message?.type === 'job' && globalThis.debugJob?.ordinal === jobs++) message = { ...message, debug: globalThis.debugJob.kind };
    return send.call(this, message, transfer);
  };
  new MutationObserver((changes) => {
    for (const change of changes) {
      const job = /** @type {HTMLElement} */ (change.target);
      if (job.dataset.state) job.setAttribute(`data-at-${job.dataset.state}`, String(performance.now()));
    }
  }).observe(document, { subtree: true, attributeFilter: ['data-state'] });
}

/** A PNG of `width`×`height` cut from the top left of `file`, made in the page. */
async function strip(page, file, width, height) {
  const bytes = await page.evaluate(async ([source, width, height]) => {
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(source)]));
    const canvas = new OffscreenCanvas(width, height);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, width, height, 0, 0, width, height);
    return Array.from(new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer()));
  }, [Array.from(readFileSync(file)), width, height]);
  return { name: `strip-${width}x${height}.png`, mimeType: 'image/png', buffer: Buffer.from(bytes) };
}

const TOOLS = [
  { tool: 'remove-background', file: photo('chelsea.png') },
  { tool: 'cartoonify', file: photo('chelsea.png') },
  { tool: 'image-to-text', file: join(evalDir, 'ocr/rust-paragraph.png') },
];

describeInEachBuild('A panic ends only its own job', (mode, site) => {
  before(async () => {
    await site.page.addInitScript(instrument);
    await site.page.reload();
    await site.page.waitForFunction(() => /^(threads|single)/.test(document.body.dataset.backend ?? ''), null, { timeout: 120_000 });
  });

  for (const { tool, file } of TOOLS) {
    test(`${tool}: the panicking job fails within a second, and the three after it run`, async (t) => {
      const { page } = site;
      await page.locator(`#tab-${tool}`).click();
      const first = await page.locator('.job').count();
      await page.evaluate((ordinal) => {
        globalThis.debugJob = { ordinal, kind: 'panic' };
      }, first + 1);
      // Playwright takes paths or buffers in one call, not both.
      const whole = { name: basename(file), mimeType: 'image/png', buffer: readFileSync(file) };
      await runJobs(page, [whole, whole, await strip(page, file, 1, 1), await strip(page, file, 16, 200)]);
      const jobs = page.locator('.job');
      const states = await Promise.all([0, 1, 2, 3].map((i) => jobs.nth(first + i).getAttribute('data-state')));
      const failed = jobs.nth(first + 1);
      const message = await failed.locator('.error').textContent();
      assert.deepEqual(states, ['done', 'error', 'done', 'done'], `${message}`);
      assert.match(message, /^Something went wrong inside the engine \(a panic provoked.*, at worker\/wasm\/src\/lib\.rs:\d+\)\. It has been restarted/);
      if (mode.name === 'threads') assert.match(message, /on a pool thread/);
      const at = async (state) => Number(await failed.getAttribute(`data-at-${state}`));
      const milliseconds = (await at('error')) - (await at('running'));
      t.diagnostic(`the panicking job failed ${milliseconds.toFixed(0)} ms after it started: ${message}`);
      assert.ok(milliseconds < 1000, `${milliseconds} ms`);
    });
  }

  test('a job that runs the engine out of memory fails alone, and the jobs after it run', async (t) => {
    const { page } = site;
    await page.locator('#tab-remove-background').click();
    const first = await page.locator('.job').count();
    await page.evaluate((ordinal) => {
      globalThis.debugJob = { ordinal, kind: 'out-of-memory' };
    }, first + 1);
    const file = photo('chelsea.png');
    const whole = { name: basename(file), mimeType: 'image/png', buffer: readFileSync(file) };
    await runJobs(page, [whole, whole, whole]);
    const jobs = page.locator('.job');
    const states = await Promise.all([0, 1, 2].map((i) => jobs.nth(first + i).getAttribute('data-state')));
    const failed = jobs.nth(first + 1);
    const message = await failed.locator('.error').textContent();
    assert.deepEqual(states, ['done', 'error', 'done'], `${message}`);
    assert.match(message, /^Something went wrong inside the engine \(out of memory: 256 MB more were needed beside the \d+ MB in use.*\)\. It has been restarted/);
    const at = async (state) => Number(await failed.getAttribute(`data-at-${state}`));
    t.diagnostic(`the job failed ${((await at('error')) - (await at('running'))).toFixed(0)} ms after it started: ${message}`);
  });
});

// The site on WebGPU in headless Chromium, whose only adapter (with --enable-unsafe-webgpu) is
// SwiftShader: correct but slow, and a fallback adapter, which Automatic passes over and the "GPU"
// setting takes. The setting is kept across visits; Cartoonify and Image to text run end to end on
// the GPU and agree with the CPU; a GPU lost mid-session hands its job to the CPU, which says so.
// Inputs are small: SwiftShader takes minutes over a full-size network. Remove background cannot
// be made smaller (u2netp always runs at 320×320): its one GPU run takes about 75 s there.
// Needs `just build` (dist/).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { CHROMIUM, repo, startServer, watchCsp } from './serve.js';
import { download, evalDir, photo, runJobs } from './site-page.js';

/** The page's label once the engine is ready on the CPU (threads or single) or the GPU. */
const READY = /^(threads|single|WebGPU)/;

/** Chooses a backend in the page's setting and waits until the restarted engine reports one. */
async function chooseBackend(page, setting) {
  await page.selectOption('#backend-setting', setting);
  await page.waitForFunction((ready) => new RegExp(ready).test(document.body.dataset.backend ?? ''), READY.source, { timeout: 60_000 });
  return page.locator('#backend').textContent();
}

/**
 * `file` cut to the rectangle `crop` ([x, y, width, height]) and encoded as PNG in the page, as a
 * file the page's picker takes: small inputs keep SwiftShader's runs short.
 */
async function croppedPng(page, file, name, crop) {
  const bytes = await page.evaluate(async ([source, [x, y, width, height]]) => {
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(source)]));
    const canvas = new OffscreenCanvas(width, height);
    canvas.getContext('2d').drawImage(bitmap, x, y, width, height, 0, 0, width, height);
    return Array.from(new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer()));
  }, [Array.from(readFileSync(file)), crop]);
  return { name, mimeType: 'image/png', buffer: Buffer.from(bytes) };
}

/** The finished job's image download, decoded in the page: RGB values in pixel order, or only alpha. */
async function resultPixels(job, { alpha = false } = {}) {
  const { bytes } = await download(job.locator('.download').first());
  return job.page().evaluate(async ([file, alpha]) => {
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(file)]));
    const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
    context.drawImage(bitmap, 0, 0);
    const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
    return Array.from(rgba.filter((_, i) => (i % 4 === 3) === alpha));
  }, [Array.from(bytes), alpha]);
}

describe('The site on WebGPU (SwiftShader)', { timeout: 600_000 }, () => {
  let browser;
  let server;
  let context;
  let cspViolations;
  let page;

  before(async () => {
    browser = await chromium.launch({ ...CHROMIUM, args: [...CHROMIUM.args, '--enable-unsafe-webgpu'] });
    const started = await startServer({ root: join(repo, 'dist'), isolated: true });
    server = started.server;
    context = await browser.newContext();
    cspViolations = await watchCsp(context);
    page = await context.newPage();
    await page.goto(started.url);
    await page.waitForFunction((ready) => new RegExp(ready).test(document.body.dataset.backend ?? ''), READY.source, { timeout: 120_000 });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    server?.kill();
  });

  test('Automatic passes over SwiftShader; the GPU setting takes it, says so, and is kept', async () => {
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    assert.equal(await page.locator('#backend').textContent(), `threads: ${cores}, relaxed SIMD`, 'Automatic runs on the CPU');
    assert.equal(await page.locator('#backend-setting').inputValue(), 'auto');
    const backend = await chooseBackend(page, 'gpu');
    assert.equal(backend, 'WebGPU: google swiftshader');
    await page.reload();
    await page.waitForFunction((ready) => new RegExp(ready).test(document.body.dataset.backend ?? ''), READY.source, { timeout: 60_000 });
    assert.equal(await page.locator('#backend-setting').inputValue(), 'gpu', 'the setting outlives a reload');
    assert.equal(await page.locator('#backend').textContent(), 'WebGPU: google swiftshader');
  });

  test('Cartoonify runs on the GPU and matches the CPU', async (t) => {
    assert.equal(await chooseBackend(page, 'gpu'), 'WebGPU: google swiftshader');
    await page.locator('#tab-cartoonify').click();
    const small = await croppedPng(page, photo('chelsea.png'), 'chelsea-small.png', [150, 40, 96, 64]);
    const onGpu = await runJobs(page, [small]);
    assert.equal(await onGpu.getAttribute('data-state'), 'done', await onGpu.textContent());
    assert.equal(await onGpu.getAttribute('data-backend'), 'WebGPU: google swiftshader');
    t.diagnostic(`GPU: ${await onGpu.locator('.status').textContent()}`);
    const gpuPixels = await resultPixels(onGpu);

    await chooseBackend(page, 'cpu');
    const onCpu = await runJobs(page, [small]);
    assert.equal(await onCpu.getAttribute('data-state'), 'done', await onCpu.textContent());
    assert.match(await onCpu.getAttribute('data-backend'), /^threads: \d+, relaxed SIMD$/);
    const cpuPixels = await resultPixels(onCpu);
    assert.equal(gpuPixels.length, cpuPixels.length);
    const largest = gpuPixels.reduce((worst, v, i) => Math.max(worst, Math.abs(v - cpuPixels[i])), 0);
    t.diagnostic(`largest difference between the GPU's and the CPU's cartoon: ${largest} levels`);
    assert.ok(largest <= 1, `the GPU's cartoon differs from the CPU's by ${largest} levels`);
  });

  test('Remove background cuts out on the GPU as on the CPU', async (t) => {
    await page.locator('#tab-remove-background').click();
    assert.equal(await chooseBackend(page, 'gpu'), 'WebGPU: google swiftshader');
    const onGpu = await runJobs(page, [photo('chelsea.png')]);
    assert.equal(await onGpu.getAttribute('data-state'), 'done', await onGpu.textContent());
    assert.equal(await onGpu.getAttribute('data-backend'), 'WebGPU: google swiftshader');
    t.diagnostic(`GPU: ${await onGpu.locator('.status').textContent()}`);
    const gpuMask = await resultPixels(onGpu, { alpha: true });

    await chooseBackend(page, 'cpu');
    const onCpu = await runJobs(page, [photo('chelsea.png')]);
    assert.equal(await onCpu.getAttribute('data-state'), 'done', await onCpu.textContent());
    const cpuMask = await resultPixels(onCpu, { alpha: true });
    assert.equal(gpuMask.length, cpuMask.length);
    const largest = gpuMask.reduce((worst, v, i) => Math.max(worst, Math.abs(v - cpuMask[i])), 0);
    t.diagnostic(`largest difference between the GPU's and the CPU's mask: ${largest} levels`);
    assert.ok(largest <= 1, `the GPU's mask differs from the CPU's by ${largest} levels`);
    const cut = gpuMask.filter((a) => a < 128).length / gpuMask.length;
    assert.ok(cut > 0.05 && cut < 0.95, `the mask cuts out ${(cut * 100).toFixed(1)}% of the photo`);
  });

  test('Image to text reads on the GPU as on the CPU', async (t) => {
    await page.locator('#tab-image-to-text').click();
    // The orientation classifier would add a third network to SwiftShader's work for no test.
    await page.locator('#tt-orientation').uncheck();
    // The first words of the paragraph, at their own size.
    const words = await croppedPng(page, join(evalDir, 'ocr/rust-paragraph.png'), 'words.png', [0, 0, 480, 80]);
    const read = async () => {
      const job = await runJobs(page, [words]);
      assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
      return { backend: await job.getAttribute('data-backend'), text: await job.locator('.plain').inputValue() };
    };
    assert.equal(await chooseBackend(page, 'gpu'), 'WebGPU: google swiftshader');
    const onGpu = await read();
    await chooseBackend(page, 'cpu');
    const onCpu = await read();
    t.diagnostic(`GPU read ${JSON.stringify(onGpu.text)}, CPU read ${JSON.stringify(onCpu.text)}`);
    assert.equal(onGpu.backend, 'WebGPU: google swiftshader');
    assert.match(onGpu.text, /^Hundreds of/);
    assert.equal(onGpu.text, onCpu.text);
  });

  test('nothing breaks the Content-Security-Policy', () => {
    assert.deepEqual(cspViolations, []);
  });

  test('a GPU lost mid-session hands the job to the CPU, which says so, and keeps the rest', async () => {
    await page.locator('#tab-remove-background').click();
    assert.equal(await chooseBackend(page, 'gpu'), 'WebGPU: google swiftshader');
    // What a driver crash does: Chromium's GPU process goes, and every WebGPU device with it.
    const cdp = await browser.newBrowserCDPSession();
    await cdp.send('Browser.crashGpuProcess');
    const job = await runJobs(page, [photo('chelsea.png')]);
    assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
    const fellBack = /^threads: \d+, relaxed SIMD \(WebGPU failed: .+\)$/;
    assert.match(await job.getAttribute('data-backend'), fellBack);
    assert.match(await page.locator('#backend').textContent(), fellBack, 'the page shows the CPU took over');
    const next = await runJobs(page, [photo('coffee.png')]);
    assert.equal(await next.getAttribute('data-state'), 'done', await next.textContent());
    assert.match(await next.getAttribute('data-backend'), fellBack, 'later jobs stay on the CPU');
  });
});

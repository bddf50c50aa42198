// The site end to end in headless Chromium: Remove background on a real photo with the threaded
// build (isolated server) and the single-thread build (server without COOP/COEP), the model
// cache, privacy of the image, and recovery from bad files and a damaged model download.
// Needs `just build` (dist/) and `just references`; `just test-browser` runs both first.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc32 } from 'node:zlib';

import { chromium } from 'playwright-core';

import { CHROMIUM, repo, startServer, watchCsp } from './serve.js';
import { describeInEachBuild, download, photo, referenceArray, runJobs } from './site-page.js';

/** onnxruntime's mask from a parity case, stretched to 0..1 when the tool stretches it. */
function referenceMask(name, output, stretch) {
  const { data } = referenceArray(name, `out.${output}`);
  if (!stretch) return Array.from(data);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return Array.from(data, (v) => (v - lo) / (hi - lo));
}

/** Reads a finished job's download, decoded in the page: size, alpha range, and pixels at `side`² if asked. */
async function inspectResult(job, side = 0) {
  const { name, bytes } = await download(job.locator('.download').first());
  return { ...(await inspectImage(job.page(), bytes, side)), download: name };
}

/** An image file decoded in the page: size, alpha range, and its first channel at `side`² (0..1) if asked. */
async function inspectImage(page, bytes, side = 0) {
  return page.evaluate(async ([file, sample]) => {
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(file)]));
    const full = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
    full.drawImage(bitmap, 0, 0);
    const pixels = full.getImageData(0, 0, bitmap.width, bitmap.height).data;
    let minAlpha = 255;
    let maxAlpha = 0;
    for (let i = 3; i < pixels.length; i += 4) {
      minAlpha = Math.min(minAlpha, pixels[i]);
      maxAlpha = Math.max(maxAlpha, pixels[i]);
    }
    let small = null;
    if (sample) {
      const ctx = new OffscreenCanvas(sample, sample).getContext('2d');
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(bitmap, 0, 0, sample, sample);
      small = Array.from(ctx.getImageData(0, 0, sample, sample).data.filter((_, i) => i % 4 === 0), (v) => v / 255);
    }
    return { width: bitmap.width, height: bitmap.height, minAlpha, maxAlpha, small };
  }, [Array.from(bytes), side]);
}

function iou(a, b) {
  let both = 0;
  let either = 0;
  for (let i = 0; i < a.length; i++) {
    both += a[i] > 0.5 && b[i] > 0.5;
    either += a[i] > 0.5 || b[i] > 0.5;
  }
  return both / Math.max(either, 1);
}

describeInEachBuild('Remove background in the browser', (mode, site) => {
  let page;
  let url;
  let requests;
  before(() => {
    ({ page, url, requests } = site);
  });

  test('says which backend runs', async () => {
    const backend = await page.locator('#backend').textContent();
    const isolated = await page.evaluate(() => crossOriginIsolated);
    assert.equal(isolated, mode.isolated);
    // Chromium runs relaxed SIMD, so it gets the fused multiply-add builds.
    if (mode.isolated) {
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      assert.equal(backend, `threads: ${cores}, relaxed SIMD`);
    } else {
      assert.equal(backend, 'single-thread, relaxed SIMD');
    }
  });

  test('a real photo comes back at full size with transparency', async () => {
    const job = await runJobs(page, [photo('coffee.png')]);
    assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
    assert.equal(await job.getAttribute('data-backend'), await page.locator('#backend').textContent());
    const result = await inspectResult(job);
    assert.deepEqual([result.width, result.height], [600, 400]);
    assert.ok(result.minAlpha < 16 && result.maxAlpha > 240, `alpha ${result.minAlpha}..${result.maxAlpha}`);
    assert.equal(result.download, 'coffee-cutout.png');
  });

  test("the mask matches onnxruntime's (IoU at 320×320)", async (t) => {
    await page.selectOption('#rb-output', 'mask');
    const job = await runJobs(page, [photo('astronaut.png')]);
    await page.selectOption('#rb-output', 'png');
    assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
    const result = await inspectResult(job, 320);
    const score = iou(result.small, referenceMask('u2netp_astronaut', '1959', true));
    t.diagnostic(`${mode.name}: IoU with onnxruntime's u2netp mask ${score.toFixed(4)}`);
    assert.ok(score >= 0.99, `IoU ${score}`);
  });

  if (mode.isolated) {
    test("High quality (IS-Net medium) cuts out what @imgly/background-removal's steps do", async (t) => {
      await page.selectOption('#rb-model', 'isnet-medium');
      await page.selectOption('#rb-output', 'mask');
      const job = await runJobs(page, [photo('horse.png')]);
      await page.selectOption('#rb-model', 'u2netp');
      await page.selectOption('#rb-output', 'png');
      assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
      const result = await inspectResult(job, 1024);
      assert.deepEqual([result.width, result.height], [400, 328]);
      // The whole tool's mask beside the one `just references` makes with @imgly's own resizing.
      const imgly = readFileSync(join(process.env.LANTERN_CACHE, 'references/imgly/horse.png'));
      const score = iou(result.small, (await inspectImage(page, imgly, 1024)).small);
      t.diagnostic(`IoU with @imgly's IS-Net mask ${score.toFixed(4)}, ${await job.locator('.status').textContent()}`);
      assert.ok(score >= 0.98, `IoU ${score}`);
    });
  }

  if (mode.isolated) {
    test('cancelling IS-Net mid-run stops it within 200 ms and keeps the engine and its models', async (t) => {
      await page.selectOption('#rb-model', 'isnet-medium');
      await page.setInputFiles('#files', [photo('horse.png')]);
      // Mid-network: past the download, the planning and the full-resolution first layers.
      await page.waitForFunction(() => /^Running the network [3-7]\d%/.test(document.querySelector('.job:last-child .status').textContent), null, { timeout: 120_000 });
      await page.selectOption('#rb-model', 'u2netp');
      const stopped = await page.evaluate(() => new Promise((resolve) => {
        const item = /** @type {HTMLElement} */ (document.querySelector('.job:last-child'));
        globalThis.backendChanges = [];
        new MutationObserver(() => globalThis.backendChanges.push(document.body.dataset.backend)).observe(document.body, { attributeFilter: ['data-backend'] });
        const clicked = performance.now();
        new MutationObserver(() => {
          if (item.dataset.state !== 'running') resolve({ state: item.dataset.state, status: item.querySelector('.status').textContent, ms: performance.now() - clicked });
        }).observe(item, { attributeFilter: ['data-state'] });
        item.querySelector('.cancel').click();
      }));
      t.diagnostic(`IS-Net stopped ${stopped.ms.toFixed(0)} ms after the click: ${stopped.status}`);
      assert.deepEqual([stopped.state, stopped.status], ['cancelled', 'Cancelled']);
      assert.ok(stopped.ms < 200, `${stopped.ms} ms`);
      const next = await runJobs(page, [photo('coffee.png')]);
      assert.equal(await next.getAttribute('data-state'), 'done', await next.textContent());
      assert.deepEqual(await page.evaluate(() => globalThis.backendChanges), [], 'the engine was not restarted');
    });
  }

  test('no request carries the image', () => {
    const origin = new URL(url).origin;
    for (const r of requests) {
      assert.equal(r.method, 'GET', `${r.method} ${r.url}`);
      assert.equal(r.body, 0, r.url);
      assert.ok(r.url.startsWith(origin) || r.url.startsWith('blob:') || r.url.startsWith('data:'), r.url);
    }
  });

  test('the page has its icon (browsers asked for a favicon and got a 404)', async () => {
    const icon = await page.evaluate(async () => {
      const response = await fetch(/** @type {HTMLLinkElement} */ (document.querySelector('link[rel=icon]')).href);
      return { status: response.status, type: response.headers.get('content-type') };
    });
    assert.deepEqual(icon, { status: 200, type: 'image/svg+xml' });
  });

  test('a second visit downloads no model', async () => {
    const modelRequests = () => requests.filter((r) => r.url.endsWith('.onnx')).length;
    const first = modelRequests();
    assert.equal(first, mode.isolated ? 2 : 1, 'the first visit downloads each model it used once');
    await page.reload();
    await page.waitForFunction(() => /^(threads|single)/.test(document.body.dataset.backend ?? ''));
    const job = await runJobs(page, [photo('chelsea.png')]);
    assert.equal(await job.getAttribute('data-state'), 'done');
    assert.equal(modelRequests(), first, 'the model came from the Cache API');
  });

  test('a corrupt file gets a message and the next file still works', async () => {
    const png = readFileSync(photo('astronaut.png'));
    await page.setInputFiles('#files', { name: 'broken.png', mimeType: 'image/png', buffer: png.subarray(0, 4000) });
    const broken = page.locator('.job').last();
    await page.waitForFunction(() => document.querySelector('.job:last-child').dataset.state === 'error');
    assert.match(await broken.locator('.error').textContent(), /damaged or incomplete/);
    const job = await runJobs(page, [photo('horse.png')]);
    assert.equal(await job.getAttribute('data-state'), 'done');
  });

  test('a file that is not an image gets a message of its own, and the queue goes on', async () => {
    const before = await page.locator('.job').count();
    await page.setInputFiles('#files', [
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') },
      { name: 'horse.png', mimeType: 'image/png', buffer: readFileSync(photo('horse.png')) },
    ]);
    await page.waitForFunction((n) => document.querySelectorAll('.job')[n + 1]?.dataset.state === 'done', before, { timeout: 60_000 });
    const refused = page.locator('.job').nth(before);
    assert.equal(await refused.getAttribute('data-state'), 'error');
    assert.equal(await refused.locator('.error').textContent(), '“notes.txt” is a text/plain file, not an image.');
  });

  test('a PNG claiming 60000×60000 in a few bytes is refused by its claimed size', async () => {
    // In wasm32 the decoder cannot even open it (its buffer size overflows); the header names it.
    const chunk = (type, data) => {
      const body = Buffer.concat([Buffer.from(type), data]);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(body));
      return Buffer.concat([length, body, crc]);
    };
    const header = Buffer.alloc(13);
    header.writeUInt32BE(60000, 0);
    header.writeUInt32BE(60000, 4);
    header.set([8, 6, 0, 0, 0], 8);
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', Buffer.alloc(0)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const job = await runJobs(page, [{ name: 'huge.png', mimeType: 'image/png', buffer: png }]);
    assert.equal(await job.getAttribute('data-state'), 'error');
    assert.match(await job.locator('.error').textContent(), /^The image is 60000×60000; Lantern handles up to/);
  });

  if (mode.isolated) {
    test('controls are named as they read, and the download buttons meet WCAG AA contrast', async () => {
      assert.equal(await page.getByRole('button', { name: /^Drop images here, paste them/ }).count(), 1);
      await page.locator('#tab-cartoonify').click();
      for (const name of ['Blend', 'Strength']) assert.equal(await page.getByRole('slider', { name, exact: true }).count(), 1, name);
      await page.locator('#tab-remove-background').click();
      const job = await runJobs(page, [photo('horse.png')]);
      const ratio = await job.locator('.download').first().evaluate((link) => {
        const luminance = (colour) => {
          const [r, g, b] = colour.match(/\d+/g).slice(0, 3).map((v) => {
            const c = Number(v) / 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
          });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const style = getComputedStyle(link);
        const [a, b] = [luminance(style.color), luminance(style.backgroundColor)].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
      });
      assert.ok(ratio >= 4.5, `contrast ${ratio.toFixed(2)}:1`);
    });

    test('a result can be removed, which frees its images, and "Clear finished results" removes the rest', async () => {
      const before = await page.locator('.job').count();
      assert.ok(before > 0 && (await page.locator('#clear-results').isVisible()));
      const job = await runJobs(page, [photo('horse.png')]);
      const urls = await job.locator('img').evaluateAll((images) => images.map((image) => image.src));
      // An image element loads a blob: URL while it lives (the policy lets the page show it, not fetch it).
      const loads = (url) => page.evaluate((src) => new Promise((resolve) => {
        const image = new Image();
        image.onload = () => resolve(true);
        image.onerror = () => resolve(false);
        image.src = src;
      }), url);
      assert.equal(urls.length, 2);
      assert.deepEqual(await Promise.all(urls.map(loads)), [true, true]);
      await job.locator('.remove').click();
      assert.equal(await page.locator('.job').count(), before);
      assert.deepEqual(await Promise.all(urls.map(loads)), [false, false], 'the removed card\'s images are freed');
      await page.locator('#clear-results').click();
      assert.equal(await page.locator('.job').count(), 0);
      assert.ok(await page.locator('#clear-results').isHidden());
    });
  }
});

describe('Remove background recovers', { timeout: 600_000 }, () => {
  let browser;
  before(async () => {
    browser = await chromium.launch(CHROMIUM);
  });
  after(async () => browser?.close());

  test('a damaged model download is refused, kept out of the cache, and a retry works', async () => {
    const { server, url } = await startServer({ root: join(repo, 'dist'), isolated: true });
    // Playwright's routes do not see what the service worker fetches: the page runs without it here.
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const cspViolations = await watchCsp(context);
    try {
      const page = await context.newPage();
      await page.route('**/models/*.onnx', async (route) => {
        const response = await route.fetch();
        const body = await response.body();
        await route.fulfill({ response, body: body.subarray(0, body.length >> 1) });
      });
      await page.goto(url);
      let job = await runJobs(page, [photo('coffee.png')]);
      assert.equal(await job.getAttribute('data-state'), 'error');
      assert.match(await job.locator('.error').textContent(), /incomplete or altered/);
      await page.unroute('**/models/*.onnx');
      job = await runJobs(page, [photo('coffee.png')]);
      assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
      assert.deepEqual(cspViolations, []);
    } finally {
      await context.close();
      server.kill();
    }
  });

  test("a host's stricter CSP that blocks the pool's workers stops the engine with a message, not a hang", async () => {
    const { server, url } = await startServer({ root: join(repo, 'dist'), isolated: true });
    // Playwright's routes do not see what the service worker fetches: the page runs without it here.
    const context = await browser.newContext({ serviceWorkers: 'block' });
    try {
      await context.route('**/*', async (route) => {
        const response = await route.fetch();
        const headers = response.headers();
        const policy = headers['content-security-policy'];
        if (policy) headers['content-security-policy'] = policy.replace("worker-src 'self' blob:", "worker-src 'self'");
        await route.fulfill({ response, headers });
      });
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.backend === 'unavailable', null, { timeout: 30_000 });
      const job = await runJobs(page, [photo('coffee.png')]);
      assert.equal(await job.getAttribute('data-state'), 'error');
      assert.match(await job.locator('.error').textContent(), /Content-Security-Policy does not allow what it needs \(worker-src: blob\)/);
    } finally {
      await context.close();
      server.kill();
    }
  });

  test('cancelling a running job stops it and the next job runs', async () => {
    const { server, url } = await startServer({ root: join(repo, 'dist'), isolated: false });
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const cspViolations = await watchCsp(context);
    try {
      const page = await context.newPage();
      await page.goto(url);
      await page.setInputFiles('#files', [photo('rocket.jpg')]);
      await page.waitForFunction(() => document.querySelector('.job')?.dataset.state === 'running');
      // Said before the click: without isolation a cancel restarts the engine.
      assert.equal(await page.locator('.job .cancel').textContent(), 'Cancel (restarts the engine)');
      await page.locator('.job .cancel').click();
      await page.waitForFunction(() => document.querySelector('.job').dataset.state === 'cancelled');
      const job = await runJobs(page, [photo('coffee.png')]);
      assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
      assert.deepEqual(cspViolations, []);
    } finally {
      await context.close();
      server.kill();
    }
  });
});

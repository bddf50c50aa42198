// Bad input as a person drops it: each damaged, odd or disguised image and own model gets the
// outcome the README's bad-input table gives, and the page goes on working. The files are made
// by make_bad_inputs.py. One build, the threaded one: decoding and model loading are the same code
// in both builds, and what differs between them (panics, running out of memory) is
// recovery.test.js's. Needs `just build` (dist/) and the reference environment (`just setup`).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, ftruncateSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { CHROMIUM, repo } from './serve.js';
import { modes, openSite, runJobs } from './site-page.js';

/**
 * Each image file, its type as the browser gives it, and what the person sees: a result of the
 * size named (with a warning where one is due), or the message.
 */
const IMAGES = [
  { file: 'empty.png', type: 'image/png', error: /^The file is empty\.$/ },
  { file: 'truncated.png', type: 'image/png', error: /^The image file is damaged or incomplete/ },
  { file: 'truncated.jpg', type: 'image/jpeg', size: '96×64', warning: /^The file ends early, so the lower part of the image is missing/ },
  { file: 'truncated.webp', type: 'image/webp', error: /^The image file is damaged or incomplete/ },
  { file: 'truncated.gif', type: 'image/gif', error: /^The image file is damaged or incomplete/ },
  { file: 'png-named.jpg', type: 'image/jpeg', size: '96×64' },
  { file: 'drawing.svg', type: 'image/svg+xml', error: /^This is an SVG drawing, not a photo: Lantern reads pixels\. Export it as PNG first\.$/ },
  { file: 'photo.heic', type: 'image/heic', error: /^This is a HEIC photo .* Share or export it as JPEG/ },
  {
    file: 'claims-100000x100000.png',
    type: 'image/png',
    error: /^The image is 100000×100000; Lantern handles up to 16384 pixels on a side and 40 megapixels\.$/,
  },
  { file: 'zero-wide.png', type: 'image/png', error: /^The image has no pixels \(zero width or height\)\.$/ },
  { file: 'one-pixel.png', type: 'image/png', size: '1×1' },
  { file: '1x40000.png', type: 'image/png', error: /^The image is 1×40000; Lantern handles up to 16384 pixels on a side/ },
  { file: 'animated.gif', type: 'image/gif', size: '48×32' },
  { file: 'cmyk.jpg', type: 'image/jpeg', size: '96×64' },
  { file: 'sixteen-bit.png', type: 'image/png', size: '96×64' },
  { file: 'exif-turned.jpg', type: 'image/jpeg', size: '20×30' },
  { file: 'clip.mp4', type: 'video/mp4', error: /^“clip\.mp4” is a video\/mp4 file, not an image\.$/ },
];

/** Own models for Cartoonify, and the message the job that tries each ends with. */
const MODELS = [
  { file: 'not-a-model.onnx', error: /^The model cannot be used: the file is not an ONNX model, or it is truncated or damaged$/ },
  { file: 'unsupported-op.onnx', error: /^The model cannot be used: node 'Einsum_0' \(Einsum\): operator 'Einsum' is not supported$/ },
  { file: 'output-0-255.onnx', error: /^The model cannot be used: its output runs from [\d.]+ to [\d.]+, where an AnimeGANv2 model's stays within −1\.\.1/ },
];

describe('Bad input', { timeout: 600_000 }, () => {
  let browser;
  let site;
  let files;
  before(async () => {
    files = mkdtempSync(join(tmpdir(), 'lantern-bad-input-'));
    execFileSync(join(process.env.LANTERN_CACHE, 'venv/bin/python'), [join(repo, 'tests/browser/make_bad_inputs.py'), '--out', files]);
    browser = await chromium.launch(CHROMIUM);
    site = await openSite(browser, modes.find((m) => m.name === 'threads'));
  });
  after(async () => {
    await site?.context.close();
    site?.server.kill();
    await browser?.close();
    if (files) rmSync(files, { recursive: true });
  });

  test('each image gets its result or its message, in one queue', async (t) => {
    const { page } = site;
    const first = await page.locator('.job').count();
    const buffer = (file) => (file.endsWith('.mp4') ? Buffer.from('\0\0\0\x18ftypisom') : readFileSync(join(files, file)));
    await runJobs(page, IMAGES.map(({ file, type }) => ({ name: file, mimeType: type, buffer: buffer(file) })));
    for (const [i, expected] of IMAGES.entries()) {
      const job = page.locator('.job').nth(first + i);
      const seen = {
        state: await job.getAttribute('data-state'),
        status: await job.locator('.status').textContent(),
        error: await job.locator('.error').textContent(),
        warning: (await job.locator('.warning').isVisible()) ? await job.locator('.warning').textContent() : '',
      };
      const about = `${expected.file}: ${JSON.stringify(seen)}`;
      t.diagnostic(`${expected.file}: ${seen.state}: ${seen.error || seen.status} ${seen.warning}`);
      if (expected.error) {
        assert.equal(seen.state, 'error', about);
        assert.match(seen.error, expected.error, about);
      } else {
        assert.equal(seen.state, 'done', about);
        assert.ok(seen.status.endsWith(`· ${expected.size}`), about);
        if (expected.warning) assert.match(seen.warning, expected.warning, about);
        else assert.equal(seen.warning, '', about);
      }
    }
  });

  test('each broken own model ends its job with a message, and the bundled styles still work', async (t) => {
    const { page } = site;
    await page.locator('#tab-cartoonify').click();
    await page.locator('input[name=ct-detail][value=fast]').check();
    const photo = { name: 'photo.png', mimeType: 'image/png', buffer: readFileSync(join(files, 'png-named.jpg')) };
    for (const { file, error } of MODELS) {
      await page.setInputFiles('#ct-own-model', join(files, file));
      await page.waitForFunction(() => !document.querySelector('#ct-own-model-clear').hidden);
      const job = await runJobs(page, [photo]);
      const message = await job.locator('.error').textContent();
      t.diagnostic(`${file}: ${message}`);
      assert.equal(await job.getAttribute('data-state'), 'error', file);
      assert.match(message, error, file);
    }
    await page.locator('#ct-own-model-clear').click();
    const job = await runJobs(page, [photo]);
    assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
  });

  test('an own model over 1 GB is refused before it is read', async () => {
    const { page } = site;
    // Sparse: 1.1 GB on paper, nothing on disk, and the page must not read it.
    const huge = join(files, 'huge.onnx');
    const fd = openSync(huge, 'w');
    ftruncateSync(fd, 1.1e9);
    closeSync(fd);
    await page.locator('#tab-cartoonify').click();
    await page.setInputFiles('#ct-own-model', huge);
    await page.waitForFunction(() => /1\.1 GB/.test(document.querySelector('#ct-own-model-status').textContent));
    assert.equal(
      await page.locator('#ct-own-model-status').textContent(),
      'huge.onnx is 1.1 GB; a model must be under 1 GB to run in a browser tab beside the photo. Still using the bundled styles.',
    );
    assert.ok(await page.locator('#ct-own-model-clear').isHidden());
  });

  test('nothing breaks the Content-Security-Policy', () => {
    assert.deepEqual(site.cspViolations, []);
  });
});

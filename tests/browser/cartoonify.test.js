// Cartoonify end to end in headless Chromium: a blend of two styles matches onnxruntime's
// output for the same style vector in both builds, a 40 MP photo completes in full-detail tiles
// under 2 GB of wasm memory, and an AnimeGANv2-architecture model from the person's disk runs
// through "use your own model". Needs `just build` (dist/) and `just references`; `just test-browser` runs both first.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { addLargePhoto, describeInEachBuild, download, photo, referenceArray, runJobs } from './site-page.js';

/** A reference image output (NCHW, 0..1 or −1..1) as 8-bit RGB values in pixel order. */
function referencePixels(caseName, key, range) {
  const { data, shape } = referenceArray(caseName, key);
  const [, , height, width] = shape;
  const plane = width * height;
  const out = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const v = range === 'tanh' ? (data[c * plane + i] + 1) / 2 : data[c * plane + i];
      out[i * 3 + c] = Math.round(Math.min(Math.max(v, 0), 1) * 255);
    }
  }
  return { width, height, pixels: out };
}

/** The finished job's download decoded in the page: its name, size and RGB values in pixel order. */
async function resultPixels(job) {
  const { name, bytes } = await download(job.locator('.download').first());
  const decoded = await job.page().evaluate(async (file) => {
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(file)]));
    const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
    context.drawImage(bitmap, 0, 0);
    const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
    return { width: bitmap.width, height: bitmap.height, pixels: Array.from(rgba.filter((_, i) => i % 4 !== 3)) };
  }, Array.from(bytes));
  return { ...decoded, name };
}

function meanDifference(a, b) {
  assert.equal(a.length, b.length);
  let sum = 0;
  let largest = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    largest = Math.max(largest, d);
  }
  return { mean: sum / a.length, largest };
}

async function chooseBlend(page) {
  await page.locator('#tab-cartoonify').click();
  await page.locator('input[name=ct-style][value="1"]').check({ force: true });
  await page.selectOption('#ct-second', '17');
  await page.locator('#ct-mix').fill('40');
  await page.locator('#ct-strength').fill('100');
  await page.locator('input[name=ct-detail][value=fast]').check();
  await page.selectOption('#ct-output', 'png');
}

describeInEachBuild('Cartoonify in the browser', (mode, site) => {

  test("a blend of styles 2 and 18 matches onnxruntime's pixels at the photo's size", async (t) => {
    const { page } = site;
    await chooseBlend(page);
    const job = await runJobs(page, [photo('coffee.png')]);
    assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
    assert.equal(await job.getAttribute('data-backend'), await page.locator('#backend').textContent());
    const ours = await resultPixels(job);
    const expected = referencePixels('multistyle26_coffee_blend', 'out.stylized', 'unit');
    assert.deepEqual([ours.width, ours.height], [expected.width, expected.height]);
    assert.equal(ours.name, 'coffee-cartoon.png');
    const { mean, largest } = meanDifference(ours.pixels, expected.pixels);
    t.diagnostic(`${mode.name}: mean ${mean.toFixed(3)} levels, largest ${largest}, ${await job.locator('.status').textContent()}`);
    assert.ok(mean < 0.5 && largest <= 2, `mean ${mean}, largest ${largest}`);
  });

  if (mode.isolated) {
    test('the style picker shows a rendered thumbnail for each of the 26 styles', async () => {
      const sizes = await site.page.$$eval('#ct-styles img', (images) => Promise.all(images.map(async (image) => {
        await image.decode();
        return image.naturalWidth;
      })));
      assert.equal(sizes.length, 26);
      assert.ok(sizes.every((width) => width > 0), JSON.stringify(sizes));
    });

    // The largest of the memory extremes (`just bench-memory` has the figures): the 40 MP limit in
    // full-detail tiles, PNG out, as the page's defaults are.
    test('a 40 MP photo (8000×5000) completes in full-detail tiles in under 2 GB of wasm memory', async (t) => {
      const { page } = site;
      await page.locator('input[name=ct-detail][value=full]').check();
      await page.selectOption('#ct-output', 'png');
      await addLargePhoto(page, photo('coffee.png'), 8000, 5000);
      await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('.job:last-child').dataset.state), null, { timeout: 600_000 });
      await page.locator('input[name=ct-detail][value=fast]').check();
      const job = page.locator('.job').last();
      const status = await job.locator('.status').textContent();
      const memory = Number(await job.getAttribute('data-memory'));
      t.diagnostic(`${status}; wasm memory ${(memory / 2 ** 30).toFixed(2)} GiB`);
      assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
      assert.ok(status.endsWith('· 8000×5000'), status);
      assert.ok(memory > 0 && memory < 2 * 2 ** 30, `${memory} bytes`);
    });
  }

  test('an AnimeGANv2-architecture model from disk runs through "use your own model"', async (t) => {
    const { page } = site;
    await page.locator('#tab-cartoonify').click();
    await page.setInputFiles('#ct-own-model', join(process.env.LANTERN_CACHE, 'models/animegan-arch.onnx'));
    await page.waitForFunction(() => !document.querySelector('#ct-own-model-clear').hidden);
    await page.locator('#ct-strength').fill('100');
    await page.locator('input[name=ct-detail][value=fast]').check();
    await page.selectOption('#ct-output', 'png');
    const job = await runJobs(page, [photo('coffee.png')]);
    await page.locator('#ct-own-model-clear').click();
    assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
    const ours = await resultPixels(job);
    const expected = referencePixels('animegan_arch_coffee_full', 'out.output', 'tanh');
    assert.deepEqual([ours.width, ours.height], [expected.width, expected.height]);
    const { mean, largest } = meanDifference(ours.pixels, expected.pixels);
    t.diagnostic(`${mode.name}: own AnimeGANv2-architecture model, mean ${mean.toFixed(3)} levels, largest ${largest}`);
    assert.ok(mean < 0.5 && largest <= 2, `mean ${mean}, largest ${largest}`);
  });
});

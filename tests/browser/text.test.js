// Image to text end to end in headless Chromium, in both builds: the paragraph reads exactly,
// the page shows a box per line linked to its text, progress names each stage, and every
// download holds the text (the PDF's invisible layer read back by pdf.js).
// Needs `just build` (dist/); `just test-browser` runs it first.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';

import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { characterErrorRate, describeInEachBuild, download, evalDir, runJobs } from './site-page.js';

const paragraph = join(evalDir, 'ocr/rust-paragraph.png');
const expected = readFileSync(join(evalDir, 'ocr/rust-paragraph.txt'), 'utf8');

/**
 * Every download of a finished job, read in the page: text files as strings, the PDF as bytes.
 * hOCR and the PDF are made when their buttons are clicked.
 */
async function downloads(job) {
  const out = {};
  for (const kind of ['txt', 'json', 'hocr']) {
    const { name, bytes } = await download(job.locator(`.download.${kind}`));
    out[kind] = { name, text: bytes.toString('utf8') };
  }
  const { name, bytes } = await download(job.locator('.download.pdf'));
  out.pdf = { name, bytes: Array.from(bytes) };
  return out;
}

async function pdfText(bytes) {
  const document = await getDocument({ data: new Uint8Array(bytes), verbosity: 0 }).promise;
  const page = await document.getPage(1);
  const content = await page.getTextContent();
  return { items: content.items.map((item) => item.str), viewport: page.getViewport({ scale: 1 }) };
}

describeInEachBuild('Image to text in the browser', (mode, site) => {
  before(async () => {
    await site.page.locator('#tab-image-to-text').click();
  });

  test('the paragraph reads exactly (CER 0) with the default model, each stage reported', async (t) => {
    const { page } = site;
    await page.evaluate(() => {
      window.statuses = new Set();
      new MutationObserver(() => {
        for (const status of document.querySelectorAll('.job .status')) window.statuses.add(status.textContent);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const job = await runJobs(page, [paragraph]);
    assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
    assert.equal(await job.getAttribute('data-backend'), await page.locator('#backend').textContent());
    const text = await job.locator('.plain').inputValue();
    const cer = characterErrorRate(expected, text);
    t.diagnostic(`${mode.name}, PP-OCRv6 tiny: CER ${cer.toFixed(4)}, ${await job.locator('.status').textContent()}`);
    assert.equal(cer, 0, text);
    const statuses = await page.evaluate(() => [...window.statuses]);
    for (const stage of [/^Finding text \d+%$/, /^Checking orientation \d+%$/, /^Reading lines 4 of 4$/, /^Saving the result…$/]) {
      assert.ok(statuses.some((status) => stage.test(status)), `no ${stage} in ${JSON.stringify(statuses)}`);
    }
  });

  test('a box is drawn over each line and pointing at a line lights its box', async () => {
    const job = site.page.locator('.job').last();
    const boxes = job.locator('.boxes polygon');
    const lines = job.locator('.lines li');
    assert.equal(await boxes.count(), 4);
    assert.equal(await lines.count(), 4);
    await lines.nth(2).hover();
    assert.match(await boxes.nth(2).getAttribute('class'), /active/);
    await boxes.nth(0).hover();
    assert.match(await lines.nth(0).getAttribute('class'), /active/);
    assert.equal(await lines.nth(0).textContent(), expected.split('\n')[0].trimEnd());
  });

  test('the downloads hold the text: txt, JSON, hOCR, and a searchable PDF', async () => {
    const job = site.page.locator('.job').last();
    const files = await downloads(job);
    assert.equal(files.txt.name, 'rust-paragraph.txt');
    assert.equal(characterErrorRate(expected, files.txt.text), 0);
    const json = JSON.parse(files.json.text);
    assert.equal(json.lines.length, 4);
    assert.deepEqual([json.width, json.height], [2256, 324]);
    for (const line of json.lines) {
      assert.equal(line.polygon.length, 4);
      assert.ok(line.confidence > 0.5 && line.confidence <= 1, `${line.confidence}`);
    }
    assert.equal(files.hocr.name, 'rust-paragraph.hocr');
    assert.equal((files.hocr.text.match(/class="ocr_line"/g) ?? []).length, 4);
    assert.match(files.hocr.text, />Cloudflare,<\/span>/);
    const { items, viewport } = await pdfText(files.pdf.bytes);
    // The scan says 300 pixels an inch: the page has its physical size, in points (72 an inch).
    const points = [json.width, json.height].map((pixels) => (pixels * 72) / 300);
    assert.ok(Math.abs(viewport.width - points[0]) < 0.1 && Math.abs(viewport.height - points[1]) < 0.1, `${viewport.width}×${viewport.height}`);
    assert.deepEqual(items.filter((s) => s.trim()), json.lines.map((line) => line.text));
  });

  if (mode.isolated) {
    test('Accurate / multilingual (PP-OCRv6 small) reads the paragraph exactly too', async (t) => {
      const { page } = site;
      await page.selectOption('#tt-model', 'accurate');
      const job = await runJobs(page, [paragraph]);
      await page.selectOption('#tt-model', 'fast');
      assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
      const cer = characterErrorRate(expected, await job.locator('.plain').inputValue());
      t.diagnostic(`PP-OCRv6 small: CER ${cer.toFixed(4)}, ${await job.locator('.status').textContent()}`);
      assert.equal(cer, 0);
    });

    test('lines read with little confidence are marked unsure, on their box and in the list', async (t) => {
      const { page } = site;
      await page.selectOption('#tt-model', 'accurate');
      // A photo of faint handwriting: PP-OCRv6 small reads two short lines, both unsure of them.
      const job = await runJobs(page, [join(evalDir, 'ocr/text.png')]);
      await page.selectOption('#tt-model', 'fast');
      assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
      const { lines } = JSON.parse((await download(job.locator('.download.json'))).bytes.toString('utf8'));
      const marked = await job.locator('.lines li').evaluateAll((items) => items.map((item) => item.classList.contains('unsure')));
      const boxes = await job.locator('.boxes polygon').evaluateAll((items) => items.map((item) => item.classList.contains('unsure')));
      t.diagnostic(`${lines.map((line) => `${JSON.stringify(line.text)} ${line.confidence.toFixed(2)}`).join(', ')}; marked ${marked}`);
      assert.ok(marked.some(Boolean), 'no line is marked');
      assert.deepEqual(marked, lines.map((line) => line.confidence < 0.9));
      assert.deepEqual(boxes, marked);
      assert.match(await job.locator('.lines li.unsure').first().textContent(), / \(unsure: \d+%\)$/);
      assert.ok(await job.locator('.unsure-legend').isVisible());
      // The paragraph before it, read surely, has no mark and no legend.
      const sure = page.locator('.job').nth(-2);
      assert.equal(await sure.locator('.lines li.unsure').count(), 0);
      assert.ok(await sure.locator('.unsure-legend').isHidden());
    });
  }
});

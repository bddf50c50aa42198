// Image to text in the languages PP-OCR does not read, in headless Chromium, in both builds: the
// language list (every language by its English and native names, searchable, remembered), one
// language's Tesseract model downloaded and nothing else, rendered paragraphs in three scripts read
// within 5 % CER through the page, and a right-to-left reading kept in reading order in the hOCR
// and the searchable PDF.
// Needs `just build` (dist/); `just test-browser` runs it first.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';

import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { repo } from './serve.js';
import { characterErrorRate, describeInEachBuild, download, runJobs } from './site-page.js';

/** The native page tests' paragraphs (worker/tools/tests/render_paragraphs.py), rendered alike. */
const paragraphs = join(process.env.LANTERN_CACHE ?? '', 'tools-tests/tesseract-paragraphs');
/** Cyrillic, Arabic (right to left) and Devanagari: three of the native test's scripts, by code and name. */
const LANGUAGES = { ukr: 'Ukrainian', ara: 'Arabic', hin: 'Hindi' };
/** The native page test's bar. */
const MAX_CER = 0.05;

before(() => {
  assert.ok(process.env.LANTERN_CACHE, 'LANTERN_CACHE must name the model cache (the justfile exports it)');
  execFileSync(join(process.env.LANTERN_CACHE, 'venv/bin/python'), [join(repo, 'worker/tools/tests/render_paragraphs.py'), paragraphs]);
});

/**
 * Picks a language as a person does: types in the search, then Enter takes the first listed.
 * @param {import('playwright-core').Page} page
 * @param {string} search
 */
async function chooseLanguage(page, search) {
  await page.fill('#tt-language-search', search);
  await page.press('#tt-language-search', 'Enter');
}

/** The language list's options that the search leaves shown, as their labels. */
const shownLanguages = (page) => page.locator('#tt-language option').evaluateAll((options) => options.filter((o) => !o.hidden).map((o) => o.textContent));

describeInEachBuild('Image to text in more languages', (mode, site) => {
  before(async () => {
    await site.page.locator('#tab-image-to-text').click();
  });

  test('every language is listed by its English and native names, and the search finds either', async () => {
    const { page } = site;
    const options = await page.locator('#tt-language option').count();
    assert.ok(options >= 100, `${options} languages`);
    assert.equal(await page.locator('#tt-language').inputValue(), 'eng');
    await page.fill('#tt-language-search', 'україн');
    assert.deepEqual(await shownLanguages(page), ['Ukrainian — Українська']);
    await page.fill('#tt-language-search', 'hindi');
    assert.deepEqual(await shownLanguages(page), ['Hindi — हिन्दी']);
    // Accents aside: "francais" finds "Français".
    await page.fill('#tt-language-search', 'francais');
    assert.deepEqual(await shownLanguages(page), ['French — Français']);
    await page.fill('#tt-language-search', '');
    assert.equal(await shownLanguages(page).then((shown) => shown.length), options);
  });

  test('a language PP-OCR reads keeps the Model list, with only the models that read it', async () => {
    const { page } = site;
    await chooseLanguage(page, 'japanese');
    assert.equal(await page.locator('#tt-model').inputValue(), 'accurate');
    assert.equal(await page.locator('#tt-model option[value=fast]').isDisabled(), true);
    assert.match(await page.locator('#tt-language-note').textContent(), /PP-OCR/);
    await chooseLanguage(page, 'english');
    assert.equal(await page.locator('#tt-model option[value=fast]').isDisabled(), false);
    await page.selectOption('#tt-model', 'fast');
    await chooseLanguage(page, 'ukrain');
    assert.equal(await page.locator('#tt-model-label').isHidden(), true);
    assert.match(await page.locator('#tt-language-note').textContent(), /Tesseract's Ukrainian model: \d+\.\d MB/);
  });

  for (const [code, name] of Object.entries(LANGUAGES)) {
    test(`the ${code} paragraph reads within ${MAX_CER * 100} % CER, downloading its model alone`, async (t) => {
      const { page, requests } = site;
      await chooseLanguage(page, name);
      assert.equal(await page.locator('#tt-language').inputValue(), code);
      const before = requests.length;
      const job = await runJobs(page, [join(paragraphs, `${code}.png`)]);
      assert.equal(await job.getAttribute('data-state'), 'done', await job.textContent());
      const text = await job.locator('.plain').inputValue();
      const cer = characterErrorRate(readFileSync(join(paragraphs, `${code}.txt`), 'utf8'), text);
      t.diagnostic(`${mode.name}, ${code}: CER ${cer.toFixed(4)}, ${await job.locator('.status').textContent()}; ${await job.locator('.settings').textContent().catch(() => '')}`);
      assert.ok(cer <= MAX_CER, `CER ${cer}: ${text}`);
      const models = requests.slice(before).map((r) => r.url).filter((url) => /\/models\/tesseract-/.test(url));
      // Downloaded once a build: the Cache API keeps it for the next reading.
      assert.ok(models.every((url) => url.endsWith(`/models/tesseract-${code}.traineddata`)), models.join(', '));
    });
  }

  test('an Arabic reading keeps reading order in the hOCR and the searchable PDF', async () => {
    const job = site.page.locator('.job').filter({ hasText: 'ara.png' }).last();
    const { lines } = JSON.parse((await download(job.locator('.download.json'))).bytes.toString('utf8'));
    assert.ok(lines.length >= 3, JSON.stringify(lines));
    const hocr = (await download(job.locator('.download.hocr'))).bytes.toString('utf8');
    assert.equal((hocr.match(/class="ocr_line" id="line_1_\d+" dir="rtl"/g) ?? []).length, lines.length, hocr);
    // pdf.js puts the glyphs, drawn as seen, back in reading order.
    const pdf = (await download(job.locator('.download.pdf'))).bytes;
    const document = await getDocument({ data: new Uint8Array(pdf), verbosity: 0 }).promise;
    const content = await (await document.getPage(1)).getTextContent();
    const items = content.items.map((item) => ('str' in item ? item.str : '')).filter((s) => s.trim());
    assert.deepEqual(items, lines.map((line) => line.text));
    // The page shows each line in its own direction.
    assert.deepEqual(await job.locator('.lines li').evaluateAll((items) => items.map((item) => getComputedStyle(item).direction)), lines.map(() => 'rtl'));
  });

  if (mode.isolated) {
    test('the chosen language is remembered on the next visit', async () => {
      const { page } = site;
      await chooseLanguage(page, 'Ελληνικά');
      await page.reload();
      await page.waitForFunction(() => /^(threads|single)/.test(document.body.dataset.backend ?? ''), null, { timeout: 120_000 });
      assert.equal(await page.locator('#tt-language').inputValue(), 'ell');
      await page.locator('#tab-image-to-text').click();
      await chooseLanguage(page, 'english');
    });
  }
});

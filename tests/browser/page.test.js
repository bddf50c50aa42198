// The page as people use it, in the threaded build (none of this differs between builds): trying
// other settings on one photo without picking it again, every result in one ZIP, a phone's layout,
// and axe-core's accessibility rules on each tool with a result shown, at desktop and phone sizes,
// light and dark. Needs `just build` (dist/); `just test-browser` runs it first.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { unzipSync } from 'fflate';
import { chromium } from 'playwright-core';

import { CHROMIUM } from './serve.js';
import { download, evalDir, modes, openSite, photo, runJobs } from './site-page.js';

const threads = modes.find((mode) => mode.isolated);
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const TOOLS = ['remove-background', 'cartoonify', 'image-to-text'];
/** A small input per tool: the page's behaviour is under test here, not the networks. */
const INPUTS = {
  'remove-background': photo('horse.png'),
  cartoonify: photo('chelsea.png'),
  'image-to-text': join(evalDir, 'ocr/page.png'),
};

/** Each finished card's settings line, in page order. */
const settingsOf = (page) => page.locator('.job[data-state="done"] .settings').allTextContents();

/**
 * axe-core's violations on the page as it is (WCAG 2.x A and AA rules, and its best practices).
 * @param {import('playwright-core').Page} page
 */
async function axeViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // @ts-ignore: axe-core is injected above.
    const { violations } = await window.axe.run(document, { resultTypes: ['violations'] });
    return violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`).join(", ")})`);
  });
  return violations;
}

/**
 * Every control a person can touch on the page now that is shorter than `least` CSS px: buttons,
 * links, selects, tabs, the drop zone, and the labels that hold a checkbox or radio button.
 * @param {import('playwright-core').Page} page
 */
function smallTargets(page, least) {
  return page.evaluate((least) => {
    const targets = [...document.querySelectorAll('button, a[href], select, [role=tab], [role=button], input[type=range], input[type=file]')];
    for (const input of document.querySelectorAll('input[type=checkbox], input[type=radio]')) targets.push(input.closest('label') ?? input);
    return targets
      .filter((element) => element.getClientRects().length > 0)
      .map((element) => ({ element, height: element.getBoundingClientRect().height }))
      .filter(({ height }) => height < least)
      .map(({ element, height }) => `${element.tagName.toLowerCase()} “${(element.textContent ?? '').trim().slice(0, 40)}” ${height.toFixed(0)} px`);
  }, least);
}

describe('The page as people use it', { timeout: 600_000 }, () => {
  let browser;
  before(async () => {
    browser = await chromium.launch(CHROMIUM);
  });
  after(async () => browser?.close());

  describe('on a desktop', () => {
    const site = {};
    before(async () => Object.assign(site, await openSite(browser, threads, { viewport: { width: 1280, height: 800 } })));
    after(async () => {
      await site.context?.close();
      site.server?.kill();
    });

    test('every style can be tried on one photo without picking it again, and each card says what made it', async () => {
      const { page } = site;
      await page.locator('#tab-cartoonify').click();
      assert.ok(await page.locator('#rerun').isHidden(), 'nothing to run again before a photo');
      await runJobs(page, [INPUTS.cartoonify]);
      assert.equal(await page.locator('#rerun').textContent(), 'Run chelsea.png again with these settings');
      // Another style and strength, then the photo again from the button under the drop zone.
      await page.locator('.styles .style').nth(2).click();
      await page.locator('#ct-strength').fill('60');
      await page.locator('#rerun').click();
      await page.waitForFunction(() => document.querySelectorAll('.job[data-state="done"]').length === 2);
      // A card's own "Run again" takes the settings shown now, too.
      await page.locator('.styles .style').nth(4).click();
      await page.locator('.job').first().locator('.again').click();
      await page.waitForFunction(() => document.querySelectorAll('.job[data-state="done"]').length === 3);
      assert.deepEqual(await settingsOf(page), [
        'Multi-style transfer (26 styles) · Soft pastel · strength 100% · fast · PNG',
        'Multi-style transfer (26 styles) · Charcoal wash · strength 60% · fast · PNG',
        'Multi-style transfer (26 styles) · Red poster · strength 60% · fast · PNG',
      ]);
      assert.deepEqual(await page.locator('.job .name').allTextContents(), ['chelsea.png', 'chelsea.png', 'chelsea.png']);
      // Each change previews the style on the photo, small, without a card of its own.
      await page.locator('.styles .style').nth(7).click();
      await page.waitForFunction(() =>
        /^Preview of Night blues · strength 60% on chelsea\.png, \d+×\d+$/.test(document.querySelector('#ct-preview figcaption')?.textContent ?? '')
        && document.querySelector('#ct-preview img').naturalWidth > 0);
      const preview = await page.locator('#ct-preview img').evaluate((img) => [img.naturalWidth, img.naturalHeight]);
      assert.deepEqual(preview, [256, 170], 'chelsea.png (451×300) at 256 px');
      assert.equal(await page.locator('.job').count(), 3);
      const results = [];
      for (let i = 0; i < 3; i++) results.push((await download(page.locator('.job').nth(i).locator('.download'))).bytes);
      assert.ok(!results[0].equals(results[1]) && !results[1].equals(results[2]), 'each run made its own result');
    });

    test('"Download all results" gives one ZIP holding every finished result as its card offers it', async () => {
      const { page } = site;
      await page.locator('#tab-image-to-text').click();
      await runJobs(page, [INPUTS['image-to-text']]);
      const cards = page.locator('.job[data-state="done"]');
      /** @type {Map<string, Buffer>} */
      const offered = new Map();
      for (let i = 0; i < (await cards.count()); i++) {
        for (const link of await cards.nth(i).locator('.download').all()) {
          const { name, bytes } = await download(link);
          // A name offered twice gets " (2)", " (3)" before its extension in the ZIP.
          let unique = name;
          for (let n = 2; offered.has(unique); n++) unique = name.replace(/(\.[^.]+)$/, ` (${n})$1`);
          offered.set(unique, bytes);
        }
      }
      const zip = await download(page.locator('#download-all'));
      assert.equal(zip.name, 'lantern-results.zip');
      const files = unzipSync(new Uint8Array(zip.bytes));
      assert.deepEqual(Object.keys(files).sort(), [...offered.keys()].sort());
      assert.deepEqual(Object.keys(files).sort(), [
        'chelsea-cartoon (2).png', 'chelsea-cartoon (3).png', 'chelsea-cartoon.png',
        'page.hocr', 'page.json', 'page.pdf', 'page.txt',
      ]);
      for (const [name, bytes] of offered) assert.ok(Buffer.from(files[name]).equals(bytes), name);
    });

    test('removing the cards of a photo lets it go: nothing is offered to run again', async () => {
      const { page } = site;
      await page.locator('#tab-cartoonify').click();
      assert.ok(await page.locator('#rerun').isVisible());
      for (const card of (await page.locator('.job[data-tool="cartoonify"]').all()).reverse()) await card.locator('.remove').click();
      assert.ok(await page.locator('#rerun').isHidden());
      await page.locator('#tab-image-to-text').click();
      assert.ok(await page.locator('#rerun').isVisible(), 'the other tool keeps its photo');
      await page.locator('#clear-results').click();
      assert.ok(await page.locator('#rerun').isHidden());
      assert.ok(await page.locator('#download-all').isHidden());
    });

    test('the subject goes onto its own background blurred, or onto a picture of the person\'s choice, at full size', async () => {
      const { page } = site;
      await page.locator('#tab-remove-background').click();
      /** Decodes a finished card's download in the page: its size, whether it is opaque, and a few pixels. */
      const inspect = async (job) => {
        const { name, bytes } = await download(job.locator('.download'));
        const decoded = await page.evaluate(async (file) => {
          const bitmap = await createImageBitmap(new Blob([new Uint8Array(file)]));
          const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
          context.drawImage(bitmap, 0, 0);
          const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
          const opaque = data.every((v, i) => i % 4 !== 3 || v === 255);
          const at = (x, y) => Array.from(data.slice((y * bitmap.width + x) * 4, (y * bitmap.width + x) * 4 + 3));
          return { width: bitmap.width, height: bitmap.height, opaque, corner: at(2, 2) };
        }, Array.from(bytes));
        return { name, ...decoded };
      };
      await page.selectOption('#rb-backdrop', 'blur');
      const blurred = await inspect(await runJobs(page, [INPUTS['remove-background']]));
      assert.deepEqual([blurred.width, blurred.height, blurred.opaque], [400, 328, true]);
      assert.match(await page.locator('.job').last().locator('.settings').textContent(), /on its own background, blurred$/);
      // A picture of one colour makes the background that colour, to the corner.
      await page.selectOption('#rb-backdrop', 'picture');
      assert.ok(await page.locator('#rb-picture').isVisible());
      const teal = await page.evaluate(async () => {
        const canvas = new OffscreenCanvas(40, 30);
        const context = canvas.getContext('2d');
        context.fillStyle = '#008080';
        context.fillRect(0, 0, 40, 30);
        return Array.from(new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer()));
      });
      await page.setInputFiles('#rb-picture', { name: 'teal.png', mimeType: 'image/png', buffer: Buffer.from(teal) });
      await page.waitForFunction(() => document.querySelector('#rb-picture-status').textContent === 'Using teal.png.');
      const onPicture = await inspect(await runJobs(page, [INPUTS['remove-background']]));
      assert.deepEqual([onPicture.width, onPicture.height, onPicture.opaque], [400, 328, true]);
      assert.deepEqual(onPicture.corner, [0, 128, 128]);
      assert.match(await page.locator('.job').last().locator('.settings').textContent(), /on teal\.png$/);
      await page.selectOption('#rb-backdrop', '');
    });
  });

  for (const size of [
    { name: 'desktop', options: { viewport: { width: 1280, height: 800 } } },
    { name: 'phone', options: { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } },
  ]) {
    describe(`accessibility at ${size.name} size`, () => {
      const site = {};
      before(async () => Object.assign(site, await openSite(browser, threads, size.options)));
      after(async () => {
        await site.context?.close();
        site.server?.kill();
      });

      for (const tool of TOOLS) {
        test(`${tool}: axe-core finds no violation, light or dark, with a result shown`, async () => {
          const { page } = site;
          await page.locator(`#tab-${tool}`).click();
          const job = await runJobs(page, [INPUTS[tool]]);
          assert.equal(await job.getAttribute('data-state'), 'done');
          for (const colorScheme of ['light', 'dark']) {
            await page.emulateMedia({ colorScheme });
            assert.deepEqual(await axeViolations(page), [], colorScheme);
            // `just screenshot` keeps what was checked: docs/screenshots/<tool>-<size>-<scheme>.png.
            if (process.env.LANTERN_SCREENSHOTS) {
              await page.screenshot({ path: join(process.env.LANTERN_SCREENSHOTS, `${tool}-${size.name}-${colorScheme}.png`) });
            }
          }
          await page.emulateMedia({ colorScheme: 'light' });
          if (size.name === 'phone') {
            const sideways = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
            assert.equal(sideways, 0, 'the page scrolls sideways');
            assert.deepEqual(await smallTargets(page, 44), []);
          }
        });
      }

      if (size.name === 'phone') {
        test('the drop zone is a "Choose photos" button above the options, in words for touch', async () => {
          const { page } = site;
          await page.locator('#tab-cartoonify').click();
          const drop = await page.locator('#drop').boundingBox();
          const styles = await page.locator('#ct-styles').boundingBox();
          assert.ok(drop && styles && drop.y + drop.height <= styles.y, 'the drop zone comes first');
          assert.ok(drop.y < 740, 'the drop zone is on the first screen');
          assert.equal(await page.getByRole('button', { name: /^Choose photos/ }).count(), 1);
          const words = await page.locator('body').innerText();
          assert.doesNotMatch(words, /Ctrl\+V|press Enter|Drop images/);
        });
      }
    });
  }
});

// The Tesseract line reader (`LineReader`) in wasm in headless Chromium, in all four builds,
// beside Tesseract's own CLI and beside the same reader built natively, on the lines
// worker/tesseract/tests/against_tesseract.rs reads (rendered by render_lines.py at each model's
// height) in five scripts.
//
// Two comparisons, one run of a small native step (the crate's `expected_lines` example, which
// renders the lines and reads them with the native reader and with the CLI):
// - with the CLI, the character error rate over all lines under the native test's bar: what a
//   person sees, parity with Tesseract itself;
// - with the native reader, every line's text equal and its confidence within 1e-5: the reader's
//   integer arithmetic is exact, so the wasm build (its own SIMD kernel included) must give what
//   the native build gives, and any difference is a wasm bug rather than a near miss. This is the
//   stronger check; the CLI's bar alone would let small wasm-only errors through.
// Needs `just build-wasm` and the models (`just models`), tesseract and the Noto fonts (`just setup`).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { editDistance } from './edit-distance.js';
import { BUILDS, openEnginePage } from './engine-page.js';
import { CHROMIUM, repo } from './serve.js';

const cache = process.env.LANTERN_CACHE;

/** Latin, Cyrillic, Arabic (right to left), Devanagari and Hangul. */
const LANGUAGES = ['eng', 'ukr', 'ara', 'hin', 'kor'];
/** against_tesseract.rs's bar: character error rate against the CLI over all lines. */
const MAX_CER = 0.01;
/** Confidence is a mean of f32 probabilities; the tables behind them come from libm's tanh and exp. */
const CONFIDENCE_BOUND = 1e-5;

/** The cache-relative URL the page fetches `path` (under the cache) from. */
const cacheUrl = (path) => `/cache/${relative(cache, path).split('/').map(encodeURIComponent).join('/')}`;

describe('Tesseract line reader in Chromium beside the CLI and the native reader', { timeout: 600_000 }, () => {
  let browser;
  /** Per language: { language, model, height, lines: [{ png, native: { text, confidence, inverted }, tesseract }] }. */
  let expected;

  before(async () => {
    assert.ok(cache, 'LANTERN_CACHE must name the model cache (the justfile exports it)');
    assert.ok(existsSync(join(repo, 'dist/wasm/builds.js')), 'dist/wasm is missing: run `just build-wasm`');
    const json = execFileSync('cargo', ['run', '-q', '-p', 'lantern-tesseract', '--example', 'expected_lines', '--', ...LANGUAGES], {
      cwd: repo,
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    });
    expected = JSON.parse(json);
    browser = await chromium.launch(CHROMIUM);
  });

  after(async () => {
    await browser?.close();
  });

  for (const build of BUILDS) {
    describe(`${build.name} build`, () => {
      let server;
      let page;
      let inPage;

      before(async () => {
        ({ server, page, inPage } = await openEnginePage(browser, build, 'tesseract'));
      });

      after(async () => {
        await page?.close();
        server?.kill();
      });

      test('runs where it is meant to', async (t) => {
        const environment = await inPage('environment', () => window.tesseract.environment());
        t.diagnostic(`${build.name}: backend "${environment.backend}"`);
        assert.equal(environment.crossOriginIsolated, build.isolated);
        const simd = build.relaxed ? ', relaxed SIMD' : '';
        assert.equal(environment.backend, build.isolated ? `threads: ${environment.hardwareConcurrency}${simd}` : `single-thread${simd}`);
      });

      test(`reads as the native reader, and within ${MAX_CER} CER of the CLI`, async (t) => {
        let [edits, characters, equalToCli, lines] = [0, 0, 0, 0];
        let worstConfidence = 0;
        const mismatches = [];
        for (const language of expected) {
          const pngs = language.lines.map((line) => cacheUrl(line.png));
          const read = await inPage(language.language, (args) => window.tesseract.readLines(args), { model: cacheUrl(language.model), pngs });
          assert.equal(read.inputHeight, language.height, `${language.language}: the network's height`);
          let [languageEdits, languageCharacters, languageEqual] = [0, 0, 0];
          language.lines.forEach((want, i) => {
            const got = read.lines[i];
            if (got.text !== want.native.text || got.inverted !== want.native.inverted) {
              mismatches.push(`${language.language} ${i}: wasm \`${got.text}\`, native \`${want.native.text}\``);
            }
            worstConfidence = Math.max(worstConfidence, Math.abs(got.confidence - want.native.confidence));
            const lineEdits = editDistance(got.text, want.tesseract);
            languageEdits += lineEdits;
            languageCharacters += Math.max(Array.from(want.tesseract).length, 1);
            languageEqual += lineEdits === 0;
          });
          t.diagnostic(
            `${build.name} ${language.language}: CER ${(languageEdits / languageCharacters).toFixed(4)} against the CLI ` +
              `(${languageEdits} edits / ${languageCharacters} characters), ${languageEqual}/${language.lines.length} lines equal to the CLI`,
          );
          [edits, characters, equalToCli, lines] = [edits + languageEdits, characters + languageCharacters, equalToCli + languageEqual, lines + language.lines.length];
        }
        const cer = edits / characters;
        t.diagnostic(`${build.name}: CER ${cer.toFixed(4)} against the CLI, ${equalToCli}/${lines} lines equal; largest confidence difference from native ${worstConfidence.toExponential(2)}`);
        assert.deepEqual(mismatches, [], 'every line reads as the native reader reads it');
        assert.ok(worstConfidence <= CONFIDENCE_BOUND, `confidence differs from the native reader's by ${worstConfidence}`);
        assert.ok(cer <= MAX_CER, `CER ${cer.toFixed(4)} against Tesseract's CLI`);
      });

      test('lines read together, and from grey pixels, read as one by one', async () => {
        const language = expected.find((l) => l.language === 'ara');
        const args = { model: cacheUrl(language.model), pngs: language.lines.map((line) => cacheUrl(line.png)) };
        const { together, fromPixels } = await inPage('readOther', (a) => window.tesseract.readOther(a), args);
        const oneByOne = (await inPage('readLines', (a) => window.tesseract.readLines(a), args)).lines;
        assert.deepEqual(together, oneByOne);
        assert.deepEqual(fromPixels, oneByOne);
      });

      test('mistakes are refused in words a person can act on', async () => {
        const said = await inPage('refusals', (a) => window.tesseract.refusals(a), { model: cacheUrl(expected[0].model) });
        assert.match(said.notAModel, /^Error: This Tesseract model cannot be used: the file /);
        assert.equal(said.shortPixels, 'Error: A 10×4 grey line has 40 pixels, but 30 bytes were given.');
        assert.match(said.notAnImage, /^ImageUnreadable: /);
        assert.match(said.misspeltOption, /^Error: invalid options: unknown field `fitMargins`, expected `fitMargin`/);
      });
    });
  }
});

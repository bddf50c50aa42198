// The engine's parity with onnxruntime, in wasm in headless Chromium: the threaded builds on a
// cross-origin isolated page and the single-thread builds on a page that is not, each with and
// without relaxed SIMD. Needs
// `just build-wasm` and `just references`; `just test-browser` runs both first.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { CHROMIUM, repo, startServer } from './serve.js';

const cache = process.env.LANTERN_CACHE;

// The bounds of tests/parity.rs.
const cases = [
  { name: 'u2netp_astronaut', bound: 1.5e-4 },
  { name: 'ppocrv6-tiny-det_paragraph', bound: 1e-4 },
  { name: 'ppocrv6-tiny-rec_lines', bound: 1e-4 },
];

const builds = [
  { name: 'threads', isolated: true, relaxed: false },
  { name: 'threads-relaxed', isolated: true, relaxed: true },
  { name: 'single', isolated: false, relaxed: false },
  { name: 'single-relaxed', isolated: false, relaxed: true },
];

describe('wasm parity in Chromium', { timeout: 900_000 }, () => {
  let browser;

  before(async () => {
    assert.ok(cache, 'LANTERN_CACHE must name the model cache (the justfile exports it)');
    const index = join(cache, 'references/references.json');
    assert.ok(existsSync(index), `${index} is missing: run \`just references\``);
    browser = await chromium.launch(CHROMIUM);
  });

  after(async () => {
    await browser?.close();
  });

  for (const build of builds) {
    describe(`${build.name} build`, () => {
      let server;
      let page;
      const consoleLines = [];

      /** Calls into the page, failing with everything the page logged. */
      async function inPage(label, fn, arg) {
        try {
          return await page.evaluate(fn, arg);
        } catch (error) {
          const logs = consoleLines.length ? consoleLines.join('\n') : '(the page logged nothing)';
          throw new Error(`${build.name} build, ${label}: ${error.message}\npage console:\n${logs}`);
        }
      }

      before(async () => {
        const mounts = [`/wasm=${join(repo, 'dist/wasm')}`, `/node_modules=${join(repo, 'node_modules')}`, `/cache=${cache}`];
        const started = await startServer({ root: join(repo, 'tests/browser'), mounts, isolated: build.isolated });
        server = started.server;
        page = await browser.newPage();
        page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
        page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.stack ?? error.message}`));
        await page.goto(`${started.url}parity.html?build=${build.name}`);
        await page.waitForFunction(() => window.parity !== undefined);
      });

      after(async () => {
        await page?.close();
        server?.kill();
      });

      test('runs where it is meant to', async (t) => {
        const pageIsolated = await inPage('isolation', () => window.parity.crossOriginIsolated);
        const environment = await inPage('environment', () => window.parity.environment());
        t.diagnostic(`${build.name}: backend "${environment.backend}", hardwareConcurrency ${environment.hardwareConcurrency}`);
        assert.equal(pageIsolated, build.isolated, 'page crossOriginIsolated');
        assert.equal(environment.crossOriginIsolated, build.isolated, 'worker crossOriginIsolated');
        const simd = build.relaxed ? ', relaxed SIMD' : '';
        if (build.isolated) {
          assert.ok(environment.hardwareConcurrency > 1, 'the threaded build needs more than one core to show anything');
          assert.equal(environment.backend, `threads: ${environment.hardwareConcurrency}${simd}`);
        } else {
          assert.equal(environment.backend, `single-thread${simd}`);
        }
      });

      test('engine errors reach the page with the engine message', async () => {
        const names = await inPage('plan', () => window.parity.plan('u2netp', [[1, 3, 320, 320]]));
        assert.deepEqual(names.inputNames, ['input.1']);
        await assert.rejects(
          inPage('plan', () => window.parity.plan('u2netp', [[1, 3, 320]])),
          /invalid input: input 'input\.1' needs 4 dimensions/,
        );
      });

      for (const { name, bound } of cases) {
        test(name, async (t) => {
          const result = await inPage(name, (caseName) => window.parity.runCase(caseName), name);
          for (const output of result.outputs) {
            t.diagnostic(`${build.name} ${name}: output ${output.name} max |Δ| = ${output.maxAbsError.toExponential(3)}`);
          }
          t.diagnostic(`${build.name} ${name}: plan ${result.planMs.toFixed(0)} ms, run ${result.runMs.toFixed(0)} ms (${result.backend})`);
          for (const output of result.outputs) {
            assert.ok(output.maxAbsError <= bound, `${name}: output ${output.name} max |Δ| ${output.maxAbsError} exceeds ${bound}`);
          }
        });
      }
    });
  }
});

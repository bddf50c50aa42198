// The engine's parity with onnxruntime, in wasm in headless Chromium: the threaded builds on a
// cross-origin isolated page and the single-thread builds on a page that is not, each with and
// without relaxed SIMD. Then the GPU backend on Chromium's software WebGPU adapter (SwiftShader)
// against the CPU backend in the same page, in the threaded and the single-thread build. Needs
// `just build-wasm` and `just references`; `just test-browser` runs both first.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { BUILDS, openEnginePage } from './engine-page.js';
import { CHROMIUM } from './serve.js';

const cache = process.env.LANTERN_CACHE;

// The bounds of tests/parity.rs.
const cases = [
  { name: 'u2netp_astronaut', bound: 1.5e-4 },
  { name: 'ppocrv6-tiny-det_paragraph', bound: 1e-4 },
  { name: 'ppocrv6-tiny-rec_lines', bound: 1e-4 },
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

  for (const build of BUILDS) {
    describe(`${build.name} build`, () => {
      let server;
      let page;
      let inPage;

      before(async () => {
        ({ server, page, inPage } = await openEnginePage(browser, build, 'parity'));
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

// SwiftShader computes correctly but slowly: each network runs at a small input, cut from
// onnxruntime's, on the GPU and the CPU of the same page. u2netp is declared at 320×320, which
// SwiftShader takes minutes over, so it is declared again at 64×64.
const gpuCases = [
  { name: 'u2netp_astronaut', shape: [1, 3, 64, 64], resizeInput: true },
  { name: 'ppocrv6-tiny-det_page', shape: [1, 3, 64, 128] },
  { name: 'ppocrv6-tiny-rec_lines', shape: [1, 3, 48, 160] },
];
const gpuBound = 1e-4;

describe('GPU backend parity on WebGPU (SwiftShader)', { timeout: 600_000 }, () => {
  let browser;

  before(async () => {
    assert.ok(cache, 'LANTERN_CACHE must name the model cache (the justfile exports it)');
    // Without this flag headless Chromium offers no adapter; with it, SwiftShader.
    browser = await chromium.launch({ ...CHROMIUM, args: [...CHROMIUM.args, '--enable-unsafe-webgpu'] });
  });

  after(async () => {
    await browser?.close();
  });

  for (const build of BUILDS.filter((b) => b.relaxed)) {
    describe(`${build.name} build`, () => {
      let server;
      let page;
      let inPage;

      before(async () => {
        ({ server, page, inPage } = await openEnginePage(browser, build, 'parity'));
      });

      after(async () => {
        await page?.close();
        server?.kill();
      });

      test('opens SwiftShader and passes the self-test', async (t) => {
        const { adapter, info } = await inPage('openGpu', () => window.parity.openGpu());
        t.diagnostic(`${build.name}: wgpu adapter "${adapter}", browser adapter ${JSON.stringify(info)}`);
        assert.equal(info.architecture, 'swiftshader', 'the adapter is SwiftShader');
        assert.equal(info.vendor, 'google');
        assert.ok(info.isFallbackAdapter, 'SwiftShader is a fallback adapter');
        assert.match(adapter, /BrowserWebGpu/, 'wgpu runs on the browser WebGPU');
      });

      for (const { name, shape, resizeInput } of gpuCases) {
        test(`${name} at [${shape}]: GPU as the CPU`, async (t) => {
          const result = await inPage(name, (args) => window.parity.runGpuCase(args), { name, shape, resizeInput });
          for (const output of result.outputs) {
            t.diagnostic(`${build.name} ${name}: output ${output.name} [${output.shape}] max |GPU − CPU| = ${output.maxAbsError.toExponential(3)}`);
          }
          t.diagnostic(`${build.name} ${name}: GPU ${result.gpuMs.toFixed(0)} ms, CPU ${result.cpuMs.toFixed(0)} ms`);
          for (const output of result.outputs) {
            assert.ok(output.maxAbsError <= gpuBound, `${name}: output ${output.name} differs by ${output.maxAbsError}, over ${gpuBound}`);
          }
        });
      }
    });
  }
});

// `just bench`: each model at its working size in headless Chromium, Lantern's wasm builds beside
// onnxruntime-web on the same input, in one browser run. Writes target/bench/browser.{json,md} and
// prints the Markdown.
//
// LANTERN_BENCH_ONLY=u2netp,multistyle26  only these models
// LANTERN_BENCH_RUNS=10                   timed runs per engine (after LANTERN_BENCH_WARMUP=2)
// LANTERN_BENCH_WEBGPU_RUNS=N             timed WebGPU runs: LANTERN_BENCH_RUNS on a hardware
//                                         adapter, 1 (after 1 warm-up) on a software one, where a
//                                         run takes minutes
// LANTERN_BENCH_RUN_LIMIT_S=300           a load or run past this stops that engine for the model
// LANTERN_BENCH_COLD=0                    skip the cold starts
// LANTERN_BENCH_WASM=DIR                  the wasm builds to time (default dist/wasm)
// LANTERN_BENCH_SIMD=baseline             time the simd128 builds, as browsers without relaxed
//                                         SIMD run them (default: the builds this browser picks)

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';

import { chromium } from 'playwright-core';

import { CHROMIUM, repo, startServer } from '../../tests/browser/serve.js';
import { CASES } from './cases.js';

const cache = process.env.LANTERN_CACHE;
const only = process.env.LANTERN_BENCH_ONLY?.split(',').filter(Boolean);
const runs = Number(process.env.LANTERN_BENCH_RUNS ?? 10);
const warmup = Number(process.env.LANTERN_BENCH_WARMUP ?? 2);
const webgpuRunsOverride = process.env.LANTERN_BENCH_WEBGPU_RUNS ? Number(process.env.LANTERN_BENCH_WEBGPU_RUNS) : undefined;
const limitMs = Number(process.env.LANTERN_BENCH_RUN_LIMIT_S ?? 300) * 1000;
const coldStarts = process.env.LANTERN_BENCH_COLD !== '0';
const wasmDir = resolve(process.env.LANTERN_BENCH_WASM ?? join(repo, 'dist/wasm'));
const simd = process.env.LANTERN_BENCH_SIMD ?? 'auto';
const outDir = join(repo, 'target/bench');
// Idle time after each run, so the pool threads of the side that ran are parked before the next.
const gapMs = 50;

const ortDir = join(repo, 'node_modules/onnxruntime-web/dist');
const ortVersion = JSON.parse(readFileSync(join(repo, 'node_modules/onnxruntime-web/package.json'), 'utf8')).version;

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

if (!cache) fail('LANTERN_CACHE must name the model cache (the justfile exports it)');
if (![runs, warmup, webgpuRunsOverride ?? 1].every((n) => Number.isInteger(n) && n >= 0) || runs < 1) fail('LANTERN_BENCH_RUNS, _WARMUP and _WEBGPU_RUNS must be whole numbers');
if (!['auto', 'baseline'].includes(simd)) fail('LANTERN_BENCH_SIMD must be baseline, or unset');
if (!(limitMs > 0)) fail('LANTERN_BENCH_RUN_LIMIT_S must be a positive number of seconds');
const cases = CASES.filter((c) => !only || only.includes(c.model));
if (only && cases.length !== only.length) fail(`LANTERN_BENCH_ONLY names unknown models; known: ${CASES.map((c) => c.model).join(', ')}`);
const wasmFiles = ['threads', 'single', 'threads-relaxed', 'single-relaxed'].map((build) => join(build, 'lantern_wasm.js'));
for (const file of [...wasmFiles, 'builds.js']) {
  if (!existsSync(join(wasmDir, file))) fail(`${join(wasmDir, file)} is missing: run \`just build-wasm\``);
}
if (!existsSync(join(ortDir, 'ort.wasm.min.mjs'))) fail('onnxruntime-web is not installed: run `npm ci`');
for (const { model } of cases) {
  if (!existsSync(join(cache, 'models', `${model}.onnx`))) fail(`${model}.onnx is not in ${cache}/models: run \`just models\``);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const mib = (bytes) => (bytes == null ? 'n/a' : (bytes / 2 ** 20).toFixed(0));
const ms = (value) => (value == null ? '' : value.toFixed(0));
const shapes = (spec) => spec.inputs.map((input) => `[${input.shape.join(', ')}]`).join(' + ');

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

const { server, url } = await startServer({
  root: join(repo, 'benches/browser'),
  mounts: [`/wasm=${wasmDir}`, `/ort=${ortDir}`, `/models=${join(cache, 'models')}`],
  isolated: true,
});
const browser = await chromium.launch({ ...CHROMIUM, args: [...CHROMIUM.args, '--enable-unsafe-webgpu'] });

/** Opens the page in `context`, keeping what it logs for error messages. */
async function openPage(context, query = '') {
  const page = await context.newPage();
  const logs = [];
  page.on('console', (message) => logs.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => logs.push(`[pageerror] ${error.stack ?? error.message}`));
  await page.goto(`${url}bench.html?simd=${simd}${query}`);
  await page.waitForFunction(() => window.bench !== undefined);
  return { page, logs };
}

const errors = [];
/**
 * Logs a failed measurement with the page's console and returns its first line for the report;
 * `fatal` ones make the run fail, the others (WebGPU on an adapter that lacks a feature) are reported.
 */
function recordError(what, error, logs, { fatal = true } = {}) {
  const message = error instanceof Error ? error.message : String(error);
  const tail = logs.length ? `\n  page console:\n  ${logs.slice(-20).join('\n  ')}` : '';
  console.error(`bench: ${what} failed: ${message}${tail}`);
  const summary = message.split('\n')[0].replace(/^page\.evaluate: /, '').replace(/Error: /g, '');
  if (fatal) errors.push(`${what}: ${summary}`);
  return summary;
}

/** Times the sides of `pair` on `spec` in the bench page and fills `row`; false if a side was stopped. */
async function measureRow({ page, logs }, spec, pair, row) {
  const sides = [pair.lantern, pair.ort].filter(Boolean);
  process.stderr.write(`bench: ${spec.model}, ${pair.backend}: ${sides.join(' vs ')} ...`);
  try {
    const args = { model: spec.model, sides, warmup: pair.warmup, runs: pair.runs, gapMs, limitMs };
    const result = await page.evaluate((a) => window.bench.compare(a), args);
    for (const side of result.sides) {
      const measured = { ...side, medianMs: side.times.length ? median(side.times) : null };
      if (side.side.startsWith('lantern')) row.lantern = measured;
      else row.ort = measured;
    }
    row.maxAbsDiff = result.maxAbsDiff;
    row.referenceMaxAbs = result.referenceMaxAbs;
    if (row.lantern?.medianMs && row.ort?.medianMs) row.ratio = row.lantern.medianMs / row.ort.medianMs;
    const summary = result.sides.map((s) => `${s.side} ${s.overLimit ?? `${median(s.times).toFixed(0)} ms`}`);
    process.stderr.write(` ${summary.join(', ')}, max |Δ| ${result.maxAbsDiff?.toExponential(2) ?? 'n/a'}\n`);
    return result.sides.every((side) => side.overLimit === null);
  } catch (error) {
    process.stderr.write('\n');
    row.error = recordError(`${spec.model} ${pair.backend}`, error, logs, { fatal: pair.lantern !== null });
    return true;
  }
}

/** Page load to first result for `side`: in a fresh context (caches empty), then again in it (warm). */
async function measureColdStarts(entry, spec, side) {
  const context = await browser.newContext();
  try {
    for (const cacheState of ['empty', 'warm']) {
      const cold = await openPage(context, `&cold=${side}&model=${spec.model}&limit=${limitMs}`);
      try {
        await cold.page.waitForFunction(() => window.coldStart !== undefined, null, { timeout: 0 });
        const result = await cold.page.evaluate(() => window.coldStart);
        if (result.error) throw new Error(result.error);
        if (result.modelCached !== (cacheState === 'warm')) throw new Error(`expected the model cache ${cacheState}`);
        entry.coldStarts.push({ side, cache: cacheState, ...result });
        process.stderr.write(`bench: ${spec.model} cold start ${side}, cache ${cacheState}: ${result.totalMs.toFixed(0)} ms\n`);
      } catch (error) {
        entry.coldStarts.push({ side, cache: cacheState, error: recordError(`${spec.model} cold start ${side} (${cacheState})`, error, cold.logs, { fatal: side !== 'ort-webgpu' }) });
      } finally {
        await cold.page.close();
      }
    }
  } finally {
    await context.close();
  }
}

const started = new Date();
const loadBefore = os.loadavg();
const report = { date: started.toISOString(), commit: gitCommit(), machine: machine(), config: { runs, warmup, gapMs, limitMs, simd }, models: [] };
try {
  const benchPage = await openPage(await browser.newContext());
  const environment = await benchPage.page.evaluate(() => window.bench.environment());
  if (!environment.crossOriginIsolated) throw new Error('the bench page is not cross-origin isolated');
  const threads = environment.hardwareConcurrency;
  report.browser = { name: 'Chromium (headless)', version: browser.version(), ...environment };
  report.engines = {
    lantern: Object.fromEntries(['threads', 'single'].map((b) => [b, { wasmSha256: sha256(join(wasmDir, b, 'lantern_wasm_bg.wasm')) }])),
    onnxruntimeWeb: ortVersion,
  };
  const adapter = environment.webgpu;
  const softwareAdapter = adapter?.fallback === true;
  const webgpuRuns = webgpuRunsOverride ?? (softwareAdapter ? 1 : runs);
  const webgpuWarmup = softwareAdapter ? Math.min(warmup, 1) : warmup;
  report.config.webgpu = { runs: webgpuRuns, warmup: webgpuWarmup, coldStart: Boolean(adapter) && !softwareAdapter };
  const wasmPairs = [
    { backend: `wasm, ${threads} threads`, lantern: 'lantern-threads', ort: 'ort-wasm-threads', runs, warmup },
    { backend: 'wasm, 1 thread', lantern: 'lantern-single', ort: 'ort-wasm-single', runs, warmup },
  ];
  const webgpuPair = {
    backend: adapter ? `WebGPU (${[adapter.vendor, adapter.architecture].filter(Boolean).join(' ')}${softwareAdapter ? ', software' : ''})` : 'WebGPU (no adapter)',
    lantern: null,
    ort: adapter && webgpuRuns > 0 ? 'ort-webgpu' : null,
    runs: webgpuRuns,
    warmup: webgpuWarmup,
  };
  const webgpuRow = (entry) => entry.rows[wasmPairs.length];

  for (const spec of cases) {
    const entry = { model: spec.model, input: shapes(spec), rows: [], coldStarts: [] };
    report.models.push(entry);
    for (const pair of [...wasmPairs, webgpuPair]) entry.rows.push({ backend: pair.backend, runs: pair.runs, lantern: null, ort: null, maxAbsDiff: null });
    webgpuRow(entry).lantern = { notAvailable: 'not available (no WebGPU backend yet)' };
    if (!webgpuPair.ort) webgpuRow(entry).ort = { notAvailable: adapter ? 'not timed (LANTERN_BENCH_WEBGPU_RUNS=0)' : 'no WebGPU adapter' };
    for (const [k, pair] of wasmPairs.entries()) await measureRow(benchPage, spec, pair, entry.rows[k]);
    if (coldStarts) {
      for (const pair of wasmPairs) {
        await measureColdStarts(entry, spec, pair.lantern);
        await measureColdStarts(entry, spec, pair.ort);
      }
    }
  }

  // Last, because a stopped WebGPU run keeps the GPU busy after its worker is gone (a software
  // adapter takes minutes per run); cheapest model first, so that a stop holds up nothing else.
  if (webgpuPair.ort) {
    const byCost = [...report.models].sort((a, b) => (a.rows[0].ort?.medianMs ?? Infinity) - (b.rows[0].ort?.medianMs ?? Infinity));
    let gpuBusy = false;
    for (const entry of byCost) {
      const spec = cases.find((c) => c.model === entry.model);
      if (gpuBusy) {
        webgpuRow(entry).ort = { notAvailable: 'not run: the GPU was still busy with a stopped run' };
        continue;
      }
      gpuBusy = !(await measureRow(benchPage, spec, webgpuPair, webgpuRow(entry)));
      // A software adapter's first run alone takes minutes: its cold start says nothing of a GPU.
      if (coldStarts && !softwareAdapter && !gpuBusy) await measureColdStarts(entry, spec, webgpuPair.ort);
    }
  }
} finally {
  await browser.close();
  server.kill();
}
report.loadAverage = { before: loadBefore, after: os.loadavg() };
report.errors = errors;

const SIDE_NAMES = {
  'lantern-threads': 'Lantern threads',
  'lantern-single': 'Lantern single',
  'ort-wasm-threads': 'ORT-web wasm threads',
  'ort-wasm-single': 'ORT-web wasm 1 thread',
  'ort-webgpu': 'ORT-web WebGPU',
};

function cell(side) {
  if (!side) return 'failed';
  if (side.notAvailable) return side.notAvailable;
  if (side.overLimit) return `stopped: ${side.overLimit}`;
  if (side.times.length === 1) return side.medianMs.toFixed(1);
  return `${side.medianMs.toFixed(1)} (${Math.min(...side.times).toFixed(0)}–${Math.max(...side.times).toFixed(0)})`;
}

function markdown() {
  const { machine: m, browser: b } = report;
  const lines = [
    `Measured ${report.date} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}), ${b.name} ${b.version},`,
    `onnxruntime-web ${ortVersion}, commit ${report.commit?.slice(0, 12) ?? 'unknown'}. Load average before/after: ${report.loadAverage.before.map((l) => l.toFixed(2)).join(' ')} / ${report.loadAverage.after.map((l) => l.toFixed(2)).join(' ')}.`,
    `Median (min–max) of each engine's timed runs after ${warmup} warm-up run(s) (WebGPU: ${report.config.webgpu.warmup}), alternating Lantern and onnxruntime-web run by run; a ratio below 1 means Lantern is faster.`,
    'Max abs diff: Lantern against onnxruntime-web on the same input (WebGPU: against Lantern threads), of the largest |output|.',
    'Memory: the wasm Memory of each engine after its runs (it never shrinks, so its peak); GPU memory is not counted.',
    `Lantern's builds, as each reported its backend: ${[...new Set(report.models.flatMap((entry) => entry.rows.map((row) => row.lantern?.backend).filter(Boolean)))].join('; ')}.`,
    '',
    '| model | input | backend | runs | Lantern ms | ORT-web ms | Lantern/ORT | max abs diff | Lantern wasm MiB | ORT-web wasm MiB |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const failures = [];
  for (const entry of report.models) {
    for (const row of entry.rows) {
      const ratio = row.ratio ? row.ratio.toFixed(2) : 'n/a';
      const diff = row.maxAbsDiff == null ? 'n/a' : `${row.maxAbsDiff.toExponential(1)} of ${row.referenceMaxAbs.toPrecision(2)}`;
      if (row.error) failures.push(`- ${entry.model}, ${row.backend}: ${row.error}`);
      lines.push(
        `| ${entry.model} | ${entry.input} | ${row.backend} | ${row.runs} | ${cell(row.lantern)} | ${cell(row.ort)} | ${ratio} | ${diff} | ${mib(row.lantern?.wasmMemoryBytes)} | ${mib(row.ort?.wasmMemoryBytes)} |`,
      );
    }
  }
  if (failures.length) lines.push('', 'Failed:', '', ...failures);
  const profiled = report.models.flatMap((entry) => entry.rows.filter((row) => row.lantern?.profile).map((row) => ({ entry, row })));
  if (profiled.length) {
    lines.push('', "Where Lantern's time goes: one more run timed step by step, milliseconds per op kind (the five largest, then the rest).", '');
    for (const { entry, row } of profiled) {
      const { profile } = row.lantern;
      const total = profile.reduce((sum, { ms: t }) => sum + t, 0);
      const top = profile.slice(0, 5).map(({ op, ms: t }) => `${op} ${t.toFixed(0)}`);
      const rest = profile.slice(5).reduce((sum, { ms: t }) => sum + t, 0);
      lines.push(`- ${entry.model}, ${row.backend}: ${total.toFixed(0)} ms: ${[...top, `other ${rest.toFixed(0)}`].join(', ')}`);
    }
  }
  if (report.models.some((entry) => entry.coldStarts.length)) {
    lines.push(
      '',
      'Cold start: page load to first result in a fresh browser context (cache empty), then in a second page of that context (HTTP, code and Cache API caches warm).',
      'Module: import and wasm compile (onnxruntime-web compiles its wasm in its first session instead). Session: Lantern\'s load + plan, onnxruntime-web\'s InferenceSession.create.',
      ...(report.config.webgpu.coldStart ? [] : ['No WebGPU cold start: there is no hardware adapter.']),
      '',
      '| model | engine | cache | total ms | module | pool | model bytes | session | first run |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const entry of report.models) {
      for (const cold of entry.coldStarts) {
        const p = cold.phases ?? {};
        const total = cold.error ? `failed: ${cold.error}` : ms(cold.totalMs);
        lines.push(`| ${entry.model} | ${SIDE_NAMES[cold.side]} | ${cold.cache} | ${total} | ${ms(p.moduleMs)} | ${ms(p.poolMs)} | ${ms(p.modelBytesMs)} | ${ms(p.sessionMs)} | ${ms(p.firstRunMs)} |`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

mkdirSync(outDir, { recursive: true });
const table = markdown();
writeFileSync(join(outDir, 'browser.json'), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(outDir, 'browser.md'), table);
console.log(table);
console.log(`Written to ${join(outDir, 'browser.json')} and browser.md`);
if (errors.length) {
  console.error(`bench: ${errors.length} measurement(s) failed:\n  ${errors.join('\n  ')}`);
  process.exit(1);
}

// `just bench-tesseract`, after benches/tesseract.rs: the Tesseract line reader in headless
// Chromium, threaded and single-thread builds, on the lines and pages the native bench timed
// (target/bench/tesseract-native.json), beside its figures for the reader natively and for
// Tesseract's CLI. Writes benches/results/<date>-tesseract-lines.json and prints the Markdown.
//
// Per line, as natively: a pass over a language's lines, divided by its lines, median of the
// passes after one warm-up pass. "One at a time" reads the lines in turn (LineReader.readImage,
// PNG bytes in, text out): one line's latency. "Together" (threaded build) reads them at once on
// the worker pool (readImages), as the page reads a page's lines: throughput per line.
//
// LANTERN_BENCH_PASSES=7   passes per language and build
// LANTERN_BENCH_PAGE_RUNS=3   runs per page and build

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { CHROMIUM, repo, startServer } from '../../tests/browser/serve.js';

const cache = process.env.LANTERN_CACHE;
const passes = Number(process.env.LANTERN_BENCH_PASSES ?? 7);
const pageRuns = Number(process.env.LANTERN_BENCH_PAGE_RUNS ?? 3);
const nativeFile = join(repo, 'target/bench/tesseract-native.json');
const wasmDir = join(repo, 'dist/wasm');

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

if (!cache) fail('LANTERN_CACHE must name the model cache (the justfile exports it)');
if (!existsSync(nativeFile)) fail(`${nativeFile} is missing: run \`cargo bench -p lantern-benches --bench tesseract\` first`);
if (!existsSync(join(wasmDir, 'builds.js'))) fail(`${wasmDir} is missing: run \`just build-wasm\``);
if (![passes, pageRuns].every((n) => Number.isInteger(n) && n > 0)) fail('LANTERN_BENCH_PASSES and _PAGE_RUNS must be positive whole numbers');

const native = JSON.parse(readFileSync(nativeFile, 'utf8'));
const git = (...args) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
const commit = git('rev-parse', 'HEAD');
// Others may commit between the two halves: only a change to the reader's crates or the wasm
// between them makes the figures disagree.
const changed = native.commit === commit ? '' : git('diff', '--name-only', native.commit, commit, '--', 'worker/tesseract', 'worker/wasm', 'worker/tools');
if (changed) fail(`the reader changed since the native figures (commit ${native.commit}): ${changed.replace(/\n/g, ', ')}; run the native bench again`);

const { server, url } = await startServer({
  root: join(repo, 'benches/browser'),
  mounts: [`/wasm=${wasmDir}`, `/cache=${cache}`],
  isolated: true,
});
const browser = await chromium.launch(CHROMIUM);
const logs = [];
const loadBefore = os.loadavg();
// The builds the site loads in Chromium (relaxed SIMD), and for lines also the plain simd128 builds
// that browsers without relaxed SIMD (Firefox, Safari) load.
const builds = ['threads', 'single'];
const lineBuilds = [...builds, 'threads-simd128', 'single-simd128'];
const backends = {};
const languages = [];
const pages = [];
try {
  const page = await browser.newPage();
  page.on('console', (message) => logs.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => logs.push(`[pageerror] ${error.stack ?? error.message}`));
  await page.goto(`${url}tesseract.html`);
  await page.waitForFunction(() => window.lines !== undefined);
  if (!(await page.evaluate(() => window.lines.crossOriginIsolated))) throw new Error('the bench page is not cross-origin isolated');
  const request = (build, kind, args) => page.evaluate(([b, k, a]) => window.lines.request(b, k, a), [build, kind, args]);
  for (const build of lineBuilds) backends[build] = await request(build, 'start');

  for (const row of native.lines) {
    const measured = {};
    for (const build of lineBuilds) {
      process.stderr.write(`bench: ${row.language} lines, ${build} ...`);
      measured[build] = await request(build, 'lines', { model: row.model, pngs: row.pngs, passes });
      process.stderr.write(` ${measured[build].ms.oneAtATime.toFixed(1)} ms a line\n`);
    }
    languages.push({ ...row, chromium: measured });
  }
  for (const row of native.pages) {
    const measured = {};
    for (const build of builds) {
      process.stderr.write(`bench: ${row.language} page, ${build} ...`);
      measured[build] = await request(build, 'page', { detector: row.detector, model: row.model, png: row.png, runs: pageRuns });
      process.stderr.write(` ${measured[build].ms.toFixed(0)} ms\n`);
    }
    pages.push({ ...row, chromium: measured });
  }
} catch (error) {
  fail(`${error.message}\npage console:\n${logs.join('\n') || '(nothing)'}`);
} finally {
  await browser.close();
  server.kill();
}

const round = (value, digits = 2) => (value == null ? null : Number(value.toFixed(digits)));
const ratio = (a, b) => (a == null ? null : round(a / b, 3));

/** Lantern's figures per line, each set beside the CLI's. */
const lanternKeys = [
  'lanternNative1Thread',
  'chromiumThreadsOneAtATime',
  'chromiumThreadsTogether',
  'chromiumSingle',
  'chromiumThreadsSimd128OneAtATime',
  'chromiumSingleSimd128',
];

const lineRows = languages.map((row) => {
  const ms = {
    lanternNative1Thread: row.ms.lanternNative1Thread,
    lanternNativeAllThreads: row.ms.lanternNativeAllThreads,
    chromiumThreadsOneAtATime: row.chromium.threads.ms.oneAtATime,
    chromiumThreadsTogether: row.chromium.threads.ms.together,
    chromiumSingle: row.chromium.single.ms.oneAtATime,
    chromiumThreadsSimd128OneAtATime: row.chromium['threads-simd128'].ms.oneAtATime,
    chromiumSingleSimd128: row.chromium['single-simd128'].ms.oneAtATime,
    cliAmortised: row.ms.cliAmortised,
    cliPerProcess: row.ms.cliPerProcess,
  };
  return {
    language: row.language,
    lines: row.lines,
    height: row.height,
    linesEqualToCli: row.linesEqualToCli,
    // Lines the browser read as the native reader did (tests/browser/tesseract.test.js asserts all).
    linesEqualToNative: Object.fromEntries(lineBuilds.map((build) => [build, row.chromium[build].texts.filter((text, i) => text === row.texts[i]).length])),
    msPerLine: Object.fromEntries(Object.entries(ms).map(([key, value]) => [key, round(value)])),
    lanternOverCliAmortised: Object.fromEntries(lanternKeys.map((key) => [key, ratio(ms[key], ms.cliAmortised)])),
    lanternOverCliPerProcess: Object.fromEntries(lanternKeys.map((key) => [key, ratio(ms[key], ms.cliPerProcess)])),
  };
});

const pageRows = pages.map((row) => {
  const ms = {
    lanternNative1Thread: row.ms.lanternNative1Thread,
    lanternNativeAllThreads: row.ms.lanternNativeAllThreads,
    chromiumThreads: row.chromium.threads.ms,
    chromiumSingle: row.chromium.single.ms,
    cliPerProcess: row.ms.cliPerProcess,
  };
  return {
    language: row.language,
    image: row.png,
    ms: Object.fromEntries(Object.entries(ms).map(([key, value]) => [key, round(value, 1)])),
    lanternOverCli: Object.fromEntries(['lanternNative1Thread', 'chromiumThreads', 'chromiumSingle'].map((key) => [key, ratio(ms[key], ms.cliPerProcess)])),
  };
});

/** The geometric mean of a ratio over the languages: each language counts alike. */
const geomean = (values) => round(Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length), 3);
const summary = Object.fromEntries(
  lanternKeys.map((key) => [
    key,
    {
      overCliAmortised: geomean(lineRows.map((row) => row.lanternOverCliAmortised[key])),
      overCliPerProcess: geomean(lineRows.map((row) => row.lanternOverCliPerProcess[key])),
    },
  ]),
);

const cpus = os.cpus();
const date = new Date().toISOString().slice(0, 10);
const report = {
  date,
  commit: native.commit,
  uncommitted: native.uncommitted || null,
  // The last change to the reader, and to its network's forward pass (where the int8 row sums are).
  lastChange: Object.fromEntries(['worker/tesseract/src', 'worker/tesseract/src/forward.rs'].map((path) => [path, git('log', '-1', '--format=%h %s', native.commit, '--', path)])),
  note: 'Tesseract line reader per line beside the tesseract CLI (OMP_THREAD_LIMIT=1) on the same PNG lines, and a whole page through Image to text',
  machine: { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
  browser: `Chromium ${browser.version()} (headless)`,
  builds: backends,
  tesseract: native.tesseract,
  config: { ...native.config, browserPasses: passes, browserPageRuns: pageRuns },
  loadAverage: { before: loadBefore.map((l) => round(l)), after: os.loadavg().map((l) => round(l)) },
  summary: { geometricMeanOverLanguages: summary },
  lines: lineRows,
  pages: pageRows,
};
const outDir = join(repo, 'benches/results');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, `${date}-tesseract-lines.json`);
writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);

const f = (value, digits = 1) => (value == null ? '–' : value.toFixed(digits));
const table = [
  `Measured ${date} on ${report.machine.cpu} (${report.machine.cores} cores), ${report.browser}, ${native.tesseract}, commit ${commit.slice(0, 12)}${report.uncommitted ? ' (with uncommitted changes: see the JSON)' : ''}.`,
  'Milliseconds per line (PNG bytes in, text out); CLI at OMP_THREAD_LIMIT=1. Ratios Lantern/CLI amortised (below 1: Lantern faster).',
  '',
  '| language | lines | native 1 thread | Chromium threads, one at a time | Chromium threads, together | Chromium single | threads, simd128 only | single, simd128 only | CLI amortised | CLI per process | native/CLI | threads one/CLI | threads together/CLI | single/CLI | threads simd128/CLI | single simd128/CLI |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...lineRows.map((r) => {
    const [m, q] = [r.msPerLine, r.lanternOverCliAmortised];
    return `| ${r.language} | ${r.lines} | ${lanternKeys.map((key) => f(m[key])).join(' | ')} | ${f(m.cliAmortised)} | ${f(m.cliPerProcess)} | ${lanternKeys.map((key) => f(q[key], 2)).join(' | ')} |`;
  }),
  '',
  `Geometric mean over languages, Lantern/CLI amortised (per process): ${Object.entries(summary).map(([key, s]) => `${key} ${s.overCliAmortised} (${s.overCliPerProcess})`).join(', ')}.`,
  '',
  'Whole page (Image to text, ms), beside one CLI process on the same image:',
  '',
  '| language | native 1 thread | native all threads | Chromium threads | Chromium single | CLI | Chromium threads/CLI |',
  '|---|---|---|---|---|---|---|',
  ...pageRows.map((r) => `| ${r.language} | ${f(r.ms.lanternNative1Thread, 0)} | ${f(r.ms.lanternNativeAllThreads, 0)} | ${f(r.ms.chromiumThreads, 0)} | ${f(r.ms.chromiumSingle, 0)} | ${f(r.ms.cliPerProcess, 0)} | ${f(r.lanternOverCli.chromiumThreads, 2)} |`),
].join('\n');
console.log(table);
console.log(`\nWritten to ${outFile}`);

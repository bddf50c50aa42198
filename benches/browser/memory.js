// `just bench-memory`: the memory extremes. Each case runs one tool on one very large image through
// the built site (dist/, threaded build, cross-origin isolated) in headless Chromium, on a fresh
// page, as a person would; it records the engine's wasm memory after the job (it never shrinks,
// so that is the job's peak), the job's time, and what the page said. Writes
// benches/results/<date>-memory.json and prints the Markdown table for the README.
//
// LANTERN_BENCH_ONLY=u2netp-4096,isnet-40mp   only these cases; the day's file keeps the others

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { CHROMIUM, repo, startServer } from '../../tests/browser/serve.js';
import { addLargePhoto, evalDir } from '../../tests/browser/site-page.js';


/**
 * Each case: the tool's tab and settings, and the image: `source` (under the evaluation folder)
 * drawn to `width`×`height` in the page and saved as a JPEG (`addLargePhoto`).
 */
const CASES = [
  { id: 'u2netp-4096', title: 'Remove background, u2netp', tool: 'remove-background', model: 'u2netp', source: 'photos/astronaut.png', width: 4096, height: 4096 },
  { id: 'u2netp-40mp', title: 'Remove background, u2netp', tool: 'remove-background', model: 'u2netp', source: 'photos/astronaut.png', width: 8000, height: 5000 },
  { id: 'isnet-4096', title: 'Remove background, IS-Net medium', tool: 'remove-background', model: 'isnet-medium', source: 'photos/astronaut.png', width: 4096, height: 4096 },
  { id: 'isnet-40mp', title: 'Remove background, IS-Net medium', tool: 'remove-background', model: 'isnet-medium', source: 'photos/astronaut.png', width: 8000, height: 5000 },
  { id: 'cartoonify-full-40mp', title: 'Cartoonify, full detail', tool: 'cartoonify', detail: 'full', source: 'photos/coffee.png', width: 8000, height: 5000 },
  { id: 'text-24mp', title: 'Image to text', tool: 'image-to-text', source: 'ocr/page.png', width: 6000, height: 4000 },
];

const only = process.env.LANTERN_BENCH_ONLY?.split(',');
const cases = CASES.filter((c) => !only || only.includes(c.id));

const { server, url } = await startServer({ root: join(repo, 'dist'), isolated: true });
const browser = await chromium.launch(CHROMIUM);
const results = [];
try {
  for (const c of cases) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => /^threads/.test(document.body.dataset.backend ?? ''), null, { timeout: 120_000 });
    await page.locator(`#tab-${c.tool}`).click();
    if (c.model) await page.selectOption('#rb-model', c.model);
    if (c.detail) await page.locator(`input[name=ct-detail][value=${c.detail}]`).check();
    await addLargePhoto(page, join(evalDir, c.source), c.width, c.height);
    const started = Date.now();
    await page.waitForFunction(
      () => ['done', 'error'].includes(document.querySelector('.job:last-child')?.dataset.state ?? ''),
      null,
      { timeout: 1_800_000 },
    );
    const job = page.locator('.job').last();
    const result = {
      ...c,
      state: await job.getAttribute('data-state'),
      status: await job.locator('.status').textContent(),
      message: await job.locator('.error').textContent(),
      wasmMemoryBytes: Number(await job.getAttribute('data-memory')) || null,
      wallSeconds: (Date.now() - started) / 1000,
    };
    results.push(result);
    console.error(`${c.id}: ${result.state}, ${result.status}, ${(result.wasmMemoryBytes ?? 0) / 2 ** 20} MiB ${result.message}`);
    await context.close();
  }
} finally {
  await browser.close();
  server.kill();
}

const cpus = os.cpus();
const machine = { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30) };
const browserVersion = browser.version();
const date = new Date().toISOString().slice(0, 10);
const outDir = join(repo, 'benches/results');
const outFile = join(outDir, `${date}-memory.json`);
// The cases not run now keep their figures from earlier the same day, in the table's order.
const earlier = existsSync(outFile) ? JSON.parse(readFileSync(outFile, 'utf8')).results : [];
const ran = new Set(results.map((r) => r.id));
const order = CASES.map((c) => c.id);
const all = [...earlier.filter((r) => !ran.has(r.id)), ...results].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
const report = { date, machine, browser: `Chromium ${browserVersion}`, build: 'threads', results: all };
mkdirSync(outDir, { recursive: true });
writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);

const rows = all.map((r) => {
  const seconds = /Done in ([\d.]+) s/.exec(r.status)?.[1];
  const memory = r.wasmMemoryBytes ? `${(r.wasmMemoryBytes / 2 ** 30).toFixed(2)} GiB` : '–';
  const outcome = r.state === 'done' ? `completes in ${seconds} s` : `refused: ${r.message}`;
  return `| ${r.title} | ${r.width}×${r.height} | ${outcome} | ${memory} |`;
});
console.log([
  `Measured ${date} on ${machine.cpu} (${machine.cores} cores), Chromium ${browserVersion}, threaded build.`,
  '',
  '| case | image | outcome | wasm memory, peak |',
  '|---|---|---|---|',
  ...rows,
].join('\n'));

// One Lantern wasm build (?build=threads or single, the relaxed SIMD variant where the browser runs
// it, as the site picks; threads-simd128 or single-simd128 for the plain simd128 build that
// browsers without relaxed SIMD load) timing the Tesseract line reader: lines one at a time, lines
// all at once (on the pool in the threaded build), and a whole page through Image to text. Files
// come from the cache, mounted at /cache.

import { buildFor } from '/wasm/builds.js';

import { serve } from './worker-common.js';

const [kind, simd] = (new URL(import.meta.url).searchParams.get('build') ?? '').split('-');
const threaded = kind === 'threads';
const build = simd === 'simd128' ? buildFor(threaded, false) : buildFor(threaded);

let wasm;

async function start() {
  wasm = await import(`/wasm/${build}/lantern_wasm.js`);
  await wasm.default();
  if (threaded) await wasm.initThreadPool(navigator.hardwareConcurrency);
  return { build, backend: wasm.backend() };
}

async function fetchBytes(path) {
  const response = await fetch(`/cache/${path.split('/').map(encodeURIComponent).join('/')}`);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** Median over `passes` (after one warm-up) of a pass's milliseconds divided by `count`. */
function perItem(passes, count, pass) {
  pass();
  const times = [];
  for (let i = 0; i < passes; i++) {
    const started = performance.now();
    pass();
    times.push((performance.now() - started) / count);
  }
  return median(times);
}

/** A language's lines: one at a time, and (threaded build) all at once; ms per line, and the texts. */
async function lines({ model, pngs, passes }) {
  const reader = new wasm.LineReader(await fetchBytes(model));
  try {
    const files = await Promise.all(pngs.map(fetchBytes));
    const texts = files.map((file) => {
      const reading = reader.readImage(file);
      const { text } = reading;
      reading.free();
      return text;
    });
    const oneAtATime = perItem(passes, files.length, () => files.forEach((file) => reader.readImage(file).free()));
    const together = threaded ? perItem(passes, files.length, () => reader.readImages(files).forEach((reading) => reading.free())) : null;
    return { texts, ms: { oneAtATime, together } };
  } finally {
    reader.free();
  }
}

/** A whole page through Image to text, as the page reads a Tesseract language: median ms of `runs`. */
async function page({ detector, model, png, runs }) {
  const network = new wasm.Network(await fetchBytes(detector.file), JSON.stringify(detector.entry));
  const language = new wasm.TesseractModel(await fetchBytes(model.file), JSON.stringify(model.entry));
  const tool = wasm.ImageToText.withTesseract(network, language, undefined, { backend: 'cpu' });
  try {
    const image = await fetchBytes(png);
    const read = async () => {
      const result = await tool.process(image, () => true);
      const { text } = result;
      result.free();
      return text;
    };
    const text = await read();
    const times = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await read();
      times.push(performance.now() - started);
    }
    return { text, ms: median(times) };
  } finally {
    tool.free();
  }
}

serve({ start, lines, page });

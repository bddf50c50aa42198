// The engine worker: picks its wasm build once (threads or single, relaxed SIMD or not), keeps models in the
// Cache API (verified by SHA-256), and runs one job at a time. Images never leave this worker.
import { OUTPUT_TYPES } from './protocol.js';
import { buildFor } from './wasm/builds.js';

const MODEL_CACHE = 'lantern-models-v1';
// Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages.
const threaded = self.crossOriginIsolated === true;

let engine;
let backend;
let index;
const tools = new Map();
const cancelled = new Set();

class Cancelled extends Error {}

const started = (async () => {
  engine = await import(`./wasm/${buildFor(threaded)}/lantern_wasm.js`);
  await engine.default();
  if (threaded) await engine.initThreadPool(navigator.hardwareConcurrency);
  backend = engine.backend();
  const response = await fetch('models/index.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`the model list could not be loaded (HTTP ${response.status})`);
  index = await response.json();
})();

started.then(
  () => postMessage({ type: 'ready', backend }),
  (e) => postMessage({ type: 'failed', message: `The engine could not start: ${e.message ?? e}` }),
);

self.onmessage = ({ data }) => {
  if (data.type === 'cancel') cancelled.add(data.id);
  if (data.type === 'job') run(data);
};

function checkCancelled(id) {
  if (cancelled.has(id)) throw new Cancelled();
}

async function run(job) {
  const { id } = job;
  try {
    await started;
    const tool = await toolFor(job);
    checkCancelled(id);
    postMessage({ type: 'progress', id, stage: 'prepare', done: 0, total: 1 });
    const begin = performance.now();
    const report = (stage) => (done, total) => {
      postMessage({ type: 'progress', id, stage, done, total });
      return true;
    };
    const result = RUNNERS[job.tool](tool, new Uint8Array(job.image), job.options, report);
    postMessage(
      { type: 'result', id, backend, milliseconds: performance.now() - begin, ...result.message },
      result.transfer,
    );
  } catch (e) {
    if (e instanceof Cancelled) postMessage({ type: 'cancelled', id });
    else postMessage({ type: 'error', id, message: e.message ?? String(e) });
  } finally {
    cancelled.delete(id);
  }
}

/** Each tool's run: image bytes and options in, a result message (and what it transfers) out. */
const RUNNERS = {
  'remove-background'(tool, image, options, report) {
    const { output, background = '#ffffff', quality = 90 } = options;
    const result = tool.process(image, output, background, quality, report('run'));
    return imageResult(result, OUTPUT_TYPES[output]);
  },
  cartoonify(tool, image, options, report) {
    const { first, second, mix, strength, detail, output, quality = 90 } = options;
    const result = tool.process(image, first, second, mix, strength, detail, output, '#ffffff', quality, report('run'));
    return imageResult(result, OUTPUT_TYPES[output]);
  },
  'image-to-text'(tool, image, options, report) {
    const result = tool.process(image, options.title, (stage, done, total) => report(stage)(done, total));
    const pdf = result.pdf.buffer;
    return {
      message: {
        width: result.width, height: result.height,
        text: { plain: result.text, json: result.json, hocr: result.hocr, pdf },
      },
      transfer: [pdf],
    };
  },
};

function imageResult(result, mime) {
  const bytes = result.bytes.buffer;
  return { message: { width: result.width, height: result.height, image: { mime, bytes } }, transfer: [bytes] };
}

/** The tool instance for a job, built once per model set and kept for the next image. */
async function toolFor(job) {
  const { id } = job;
  if (job.ownModel) {
    const bytes = new Uint8Array(job.ownModel);
    const key = `own:${job.options.preset}:${await sha256(bytes)}`;
    if (!tools.has(key)) {
      tools.delete(ownModelKey);
      tools.set(key, engine.Cartoonify.ownModel(bytes, job.options.preset));
      ownModelKey = key;
    }
    return tools.get(key);
  }
  const key = `${job.tool}:${job.models.join('+')}`;
  if (tools.has(key)) return tools.get(key);
  const entries = job.models.map((model) => {
    const entry = index.models.find((m) => m.id === model && m.tool === job.tool);
    if (!entry) throw new Error(`Unknown model "${model}" for ${job.tool}.`);
    return entry;
  });
  const files = [];
  for (const entry of entries) files.push(await loadFile(entry, id));
  checkCancelled(id);
  tools.set(key, await BUILDERS[job.tool](entries, files, id));
  return tools.get(key);
}

let ownModelKey = null;

const BUILDERS = {
  'remove-background': ([entry], [bytes]) => new engine.RemoveBackground(bytes, JSON.stringify(entry)),
  cartoonify: ([entry], [bytes]) => new engine.Cartoonify(bytes, JSON.stringify(entry)),
  async 'image-to-text'(entries, files, id) {
    const role = (name) => entries.findIndex((e) => e.role === name);
    const [det, rec, cls] = [role('detect'), role('recognise'), role('orientation')];
    if (det < 0 || rec < 0) throw new Error('Image to text needs a detection and a recognition model.');
    const dictionary = index.assets.find((a) => a.id === entries[rec].dictionary);
    if (!dictionary) throw new Error(`The dictionary of "${entries[rec].title}" is not in the model list.`);
    const dictionaryText = new TextDecoder().decode(await loadFile(dictionary, id));
    return new engine.ImageToText(
      files[det], JSON.stringify(entries[det]), files[rec], JSON.stringify(entries[rec]), dictionaryText,
      cls >= 0 ? files[cls] : undefined, cls >= 0 ? JSON.stringify(entries[cls]) : undefined,
    );
  },
};

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A model's (or asset's) bytes: from the Cache API when a verified copy is there, else downloaded. */
async function loadFile(entry, id) {
  const url = new URL(`models/${entry.file}`, self.location.href).href;
  const cache = await caches.open(MODEL_CACHE);
  const cached = await cache.match(url);
  if (cached) {
    const bytes = new Uint8Array(await cached.arrayBuffer());
    if ((await sha256(bytes)) === entry.sha256) return bytes;
    await cache.delete(url);
  }
  // The Cache API holds the verified copy; the HTTP cache must not hand back a bad one.
  const response = await fetch(url, { cache: 'no-store' });
  const title = entry.title ?? entry.id;
  if (!response.ok) throw new Error(`The model "${title}" could not be downloaded (HTTP ${response.status}).`);
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    checkCancelled(id);
    chunks.push(value);
    loaded += value.length;
    postMessage({ type: 'progress', id, stage: 'download', done: loaded, total: entry.size });
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  if (loaded !== entry.size || (await sha256(bytes)) !== entry.sha256) {
    throw new Error(
      `The downloaded model "${title}" is incomplete or altered (${loaded} of ${entry.size} bytes, SHA-256 mismatch). Nothing was kept; try again.`,
    );
  }
  await cache.put(url, new Response(bytes, { headers: { 'Content-Type': 'application/octet-stream' } }));
  return bytes;
}

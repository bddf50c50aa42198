// The engine worker: picks the threaded or single-thread wasm build once, keeps models in the
// Cache API (verified by SHA-256), and runs one job at a time. Images never leave this worker.
import { OUTPUT_TYPES } from './protocol.js';

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
  engine = await import(threaded ? './wasm/threads/lantern_wasm.js' : './wasm/single/lantern_wasm.js');
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
    const entry = index.models.find((m) => m.id === job.model && m.tool === job.tool);
    if (!entry) throw new Error(`Unknown model "${job.model}" for ${job.tool}.`);
    const tool = await toolFor(entry, id);
    checkCancelled(id);
    postMessage({ type: 'progress', id, stage: 'prepare', done: 0, total: 1 });
    const begin = performance.now();
    const { output, background = '#ffffff', quality = 90 } = job.options;
    const result = tool.process(new Uint8Array(job.image), output, background, quality, (done, total) => {
      postMessage({ type: 'progress', id, stage: 'run', done, total });
      return true;
    });
    const bytes = result.bytes.buffer;
    postMessage(
      {
        type: 'result', id, backend, mime: OUTPUT_TYPES[output], bytes,
        width: result.width, height: result.height, milliseconds: performance.now() - begin,
      },
      [bytes],
    );
  } catch (e) {
    if (e instanceof Cancelled) postMessage({ type: 'cancelled', id });
    else postMessage({ type: 'error', id, message: e.message ?? String(e) });
  } finally {
    cancelled.delete(id);
  }
}

async function toolFor(entry, id) {
  if (!tools.has(entry.id)) {
    const bytes = await loadModel(entry, id);
    checkCancelled(id);
    tools.set(entry.id, new engine.RemoveBackground(bytes, JSON.stringify(entry)));
  }
  return tools.get(entry.id);
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The model's bytes: from the Cache API when a verified copy is there, else downloaded. */
async function loadModel(entry, id) {
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
  if (!response.ok) throw new Error(`The model "${entry.title}" could not be downloaded (HTTP ${response.status}).`);
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
      `The downloaded model "${entry.title}" is incomplete or altered (${loaded} of ${entry.size} bytes, SHA-256 mismatch). Nothing was kept; try again.`,
    );
  }
  await cache.put(url, new Response(bytes, { headers: { 'Content-Type': 'application/octet-stream' } }));
  return bytes;
}

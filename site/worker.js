// The engine worker: picks its wasm build once (threads or single, relaxed SIMD or not), opens the
// GPU where the person's setting allows and one works, keeps models in the Cache API (verified by
// SHA-256), and runs one job at a time. Images never leave this worker.
import { OUTPUT_TYPES, engineFailure } from './protocol.js';
import { buildFor } from './wasm/builds.js';

/**
 * @import { Tool, ToolOptions, PageMessage, JobMessage, RemoveBackgroundOptions, CartoonifyOptions,
 *           Stage, BackendSetting, StartMessage, ReadyMessage, FailedMessage,
 *           ProgressMessage, ResultMessage, ErrorMessage, CancelledMessage, ModelIndex, IndexModel,
 *           IndexFile, LanguageModel, ExportMessage, ExportedMessage } from './protocol.js'
 */

const MODEL_CACHE = 'lantern-models-v1';
// Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages.
const threaded = self.crossOriginIsolated === true;

/**
 * What this worker uses of the wasm-bindgen module (worker/wasm/src). Its build is picked at run
 * time, so the generated lantern_wasm.d.ts cannot be imported; this mirrors the part in use.
 * @typedef {object} Engine
 * @property {() => Promise<{ memory: WebAssembly.Memory }>} default Instantiates the wasm, before anything else.
 * @property {(threads: number) => Promise<unknown>} initThreadPool Threads builds only.
 * @property {() => string} backend What runs the models on the CPU: "threads: 8", "single-thread".
 * @property {(image: Uint8Array, options: { format: 'hocr' | 'pdf', json: string, title: string }) => Uint8Array<ArrayBuffer>} exportText
 *   Image to text's hOCR or searchable PDF from the image file and the lines read (ExportMessage).
 * @property {(channel: string) => void} reportPanicsTo
 *   Names the BroadcastChannel on which a panic on any engine thread is told (StartMessage).
 * @property {() => void} debugPanic Panics, on a pool thread where there is one (JobMessage `debug`).
 * @property {() => void} debugOutOfMemory Exhausts the engine's memory, on a pool thread where there is one.
 * @property {() => string | undefined} panicMessage What the first panic said, and where.
 * @property {(options: OpenGpuOptions) => Promise<OpenedGpu>} openGpu
 *   Opens the best adapter and checks it against the CPU; rejects saying why where that fails.
 * @property {new (onnx: Uint8Array, entryJson: string, backend: BackendChoice) => RemoveBackgroundTool} RemoveBackground
 * @property {{ new (onnx: Uint8Array, entryJson: string, backend: BackendChoice): CartoonifyTool,
 *              ownModel(onnx: Uint8Array, preset: string, backend: BackendChoice): CartoonifyTool }} Cartoonify
 * @property {new (onnx: Uint8Array, entryJson: string) => Network} Network
 * @property {{ new (detect: Network, recognise: Network, dictionary: string, orientation: Network | undefined,
 *                   backend: BackendChoice): ImageToTextTool,
 *              withTesseract(detect: Network, model: TesseractModel, orientation: Network | undefined,
 *                            backend: BackendChoice): ImageToTextTool }} ImageToText
 *   `withTesseract` reads the lines with a language's Tesseract model; one the reader refuses is
 *   named by its language, with the reason.
 * @property {new (traineddata: Uint8Array, entryJson: string) => TesseractModel} TesseractModel
 *
 * @typedef {{ allowSoftware: boolean }} OpenGpuOptions
 *   `allowSoftware` accepts a software adapter (SwiftShader), which the CPU outruns.
 * @typedef {{ adapter: string, free(): void }} OpenedGpu
 *   `adapter` is wgpu's name for it; browsers may hide the name ("unnamed adapter (BrowserWebGpu)").
 * @typedef {{ backend: 'cpu' | 'gpu' }} BackendChoice
 *   Which backend a tool is built for: 'gpu' once `openGpu` has succeeded.
 * @typedef {{ readonly __network: unique symbol }} Network
 *   One network of Image to text with its models/index.json entry; the constructor takes it over.
 * @typedef {{ readonly __tesseractModel: unique symbol }} TesseractModel
 *   A language's `.traineddata` with its models/index.json entry (a LanguageModel).
 * @typedef {(done: number, total: number) => boolean} Progress
 *   Called as a network runs; returning false cancels it.
 * @typedef {{ bytes: Uint8Array<ArrayBuffer>, width: number, height: number, warning?: string }} ProcessedImage
 *   `warning` is what the person should know about the input image (a JPEG cut short).
 * @typedef {{ text: string, json: string, width: number, height: number, warning?: string }} ProcessedText
 *
 * Each tool's `process` rejects with an Error named "GpuError" where the GPU failed the job (a
 * lost device, memory, work it rejected) and the CPU could still run it; `free` releases the tool.
 * @typedef {{ process(image: Uint8Array, options: RemoveBackgroundOptions,
 *             progress: Progress): Promise<ProcessedImage>, free(): void }} RemoveBackgroundTool
 * @typedef {{ process(image: Uint8Array, options: CartoonifyOptions, progress: Progress): Promise<ProcessedImage>,
 *             free(): void }} CartoonifyTool
 * @typedef {{ process(image: Uint8Array,
 *             progress: (stage: 'detect' | 'classify' | 'recognise' | 'encode', done: number, total: number) => boolean
 *             ): Promise<ProcessedText>, free(): void }} ImageToTextTool
 * @typedef {{ 'remove-background': RemoveBackgroundTool, cartoonify: CartoonifyTool,
 *             'image-to-text': ImageToTextTool }} ToolInstances
 * @typedef {ToolInstances[Tool]} ToolInstance
 */

/** @type {Engine} */
let engine;
/** The engine's wasm memory: it grows as a job needs and never shrinks. */
/** @type {WebAssembly.Memory} */
let memory;
/** What runs the models now, as the page shows it (ReadyMessage). */
let backend = '';
/** What the CPU backend is called: "threads: 8", "single-thread". */
let cpuBackend = '';
/** Whether tools are built for the GPU: true from a successful `openGpu` until the GPU fails a job. */
let onGpu = false;
/** @type {ModelIndex} */
let index;
/** @type {Map<string, ToolInstance>} */
const tools = new Map();
/** Jobs cancelled by message: read only between the awaits of a job. */
/** @type {Set<number>} */
const cancelled = new Set();
/** The page's shared cancel flag (StartMessage `cancel`), read while the engine runs. */
/** @type {Int32Array | null} */
let cancelFlag = null;

/** @param {number} id */
const isCancelled = (id) => cancelled.has(id) || (cancelFlag !== null && Atomics.load(cancelFlag, 0) === id);

class Cancelled extends Error {}

/** @type {(start: StartMessage) => void} */
let begin;
// Nothing loads before the page's start message says which backend the person chose.
const started = new Promise((resolve) => {
  begin = resolve;
}).then(async (/** @type {StartMessage} */ { backend: setting, panics, cancel }) => {
  cancelFlag = cancel ? new Int32Array(cancel) : null;
  engine = await import(`./wasm/${buildFor(threaded)}/lantern_wasm.js`);
  ({ memory } = await engine.default());
  engine.reportPanicsTo(panics);
  if (threaded) await engine.initThreadPool(navigator.hardwareConcurrency);
  cpuBackend = engine.backend();
  const gpu = await openGpu(setting);
  onGpu = gpu.opened;
  backend = gpu.opened ? gpu.label : gpu.why ? `${cpuBackend} (${gpu.why})` : cpuBackend;
  const response = await fetch('models/index.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`the model list could not be loaded (HTTP ${response.status})`);
  index = await response.json();
});

started.then(
  () => postMessage(/** @satisfies {ReadyMessage} */ ({ type: 'ready', backend })),
  (e) => postMessage(/** @satisfies {FailedMessage} */ ({ type: 'failed', message: `The engine could not start: ${e.message ?? e}` })),
);

// A host's Content-Security-Policy stricter than the one in server-headers/ (one that blocks the
// pool's blob: workers, say) would leave the engine waiting for them without a word.
self.addEventListener('securitypolicyviolation', (event) => {
  // lib.webworker's event map lacks this event, which workers do get.
  const e = /** @type {SecurityPolicyViolationEvent} */ (event);
  const message = `The engine could not start: the site's Content-Security-Policy does not allow what it needs (${e.effectiveDirective}: ${e.blockedURI || 'inline'}); server-headers/README.md gives the policy Lantern needs.`;
  postMessage(/** @satisfies {FailedMessage} */ ({ type: 'failed', message }));
});

self.onmessage = (/** @type {MessageEvent<PageMessage>} */ { data }) => {
  if (data.type === 'start') begin(data);
  if (data.type === 'cancel') cancelled.add(data.id);
  if (data.type === 'job') run(data);
  if (data.type === 'export') exportText(data);
};

/** @param {ExportMessage} request */
async function exportText({ id, format, image, json, title }) {
  try {
    await started;
    const bytes = engine.exportText(new Uint8Array(image), { format, json, title }).buffer;
    postMessage(/** @satisfies {ExportedMessage} */ ({ type: 'exported', id, bytes }), [bytes]);
  } catch (e) {
    postMessage(/** @satisfies {ErrorMessage} */ ({ type: 'error', id, message: e instanceof Error ? e.message : String(e) }));
  }
}

/**
 * The GPU, where `setting` allows it and one opens and passes the engine's self-test. Automatic
 * passes over a missing or software-only adapter without a word (the CPU outruns SwiftShader, and
 * most browsers without a GPU have one of the two); a GPU that is there but fails says why.
 * @param {BackendSetting} setting
 * @returns {Promise<{ opened: true, label: string } | { opened: false, why: string | null }>}
 */
async function openGpu(setting) {
  if (setting === 'cpu') return { opened: false, why: null };
  const quiet = setting === 'auto';
  // Browsers without WebGPU have no navigator.gpu; those that have it answer null without an adapter.
  const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' }) : null;
  if (!adapter) return { opened: false, why: quiet ? null : 'no WebGPU adapter' };
  if (adapter.info.isFallbackAdapter && quiet) return { opened: false, why: null };
  try {
    const opened = await engine.openGpu({ allowSoftware: setting === 'gpu' });
    // Browsers may hide the adapter's description: its vendor and architecture still tell it apart.
    const { description, vendor, architecture } = adapter.info;
    const name = description || [vendor, architecture].filter(Boolean).join(' ') || opened.adapter;
    opened.free();
    return { opened: true, label: `WebGPU: ${name}` };
  } catch (e) {
    return { opened: false, why: `WebGPU failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * After the GPU failed a job: tools are built for the CPU from now on, and the page is told.
 * @param {string} reason
 */
function leaveGpu(reason) {
  onGpu = false;
  backend = `${cpuBackend} (WebGPU failed: ${reason})`;
  for (const tool of tools.values()) tool.free();
  tools.clear();
  ownModelKey = null;
  postMessage(/** @satisfies {ReadyMessage} */ ({ type: 'ready', backend }));
}

/** @param {number} id */
function checkCancelled(id) {
  if (isCancelled(id)) throw new Cancelled();
}

/** @param {JobMessage} job */
async function run(job) {
  const { id } = job;
  try {
    await started;
    const begin = performance.now();
    let result;
    try {
      result = await attempt(job);
    } catch (e) {
      if (!(onGpu && e instanceof Error && e.name === 'GpuError')) throw e;
      // The GPU failed (lost, out of memory, work it rejected): the CPU runs this job and the rest.
      leaveGpu(e.message);
      result = await attempt(job);
    }
    // On the GPU the worker reads messages while a job runs: a cancel may have come meanwhile.
    checkCancelled(id);
    postMessage(
      /** @satisfies {ResultMessage} */ ({
        type: 'result', id, backend, milliseconds: performance.now() - begin, memory: memory.buffer.byteLength,
        ...result.message,
      }),
      result.transfer,
    );
  } catch (e) {
    // The engine ends a cancelled run with an error of its own ("Cancelled."): the job was cancelled.
    if (e instanceof Cancelled || isCancelled(id)) postMessage(/** @satisfies {CancelledMessage} */ ({ type: 'cancelled', id }));
    else if (e instanceof WebAssembly.RuntimeError) {
      // A trap (a panic, memory exhausted) leaves the engine's memory as it was mid-step; a panic
      // said why before it trapped.
      let why = e.message;
      try {
        why = engine.panicMessage() ?? why;
      } catch {
        // The trap's own words, then.
      }
      postMessage(/** @satisfies {ErrorMessage} */ ({ type: 'error', id, message: engineFailure(why), broken: true }));
    } else {
      // The engine names an image it refuses (worker/wasm, decode_photo).
      const inputs = /** @type {Partial<Record<string, ErrorMessage['input']>>} */ ({ ImageUnreadable: 'unreadable', ImageTooLarge: 'too-large' });
      const input = e instanceof Error ? inputs[e.name] : undefined;
      const message = e instanceof Error ? e.message : String(e);
      postMessage(/** @satisfies {ErrorMessage} */ ({ type: 'error', id, message, ...(input ? { input } : {}) }));
    }
  } finally {
    cancelled.delete(id);
  }
}

/**
 * Builds (or finds) the job's tool on the current backend and runs the job on it.
 * @param {JobMessage} job
 * @returns {Promise<Outcome>}
 */
async function attempt(job) {
  const { id } = job;
  const tool = await toolFor(job);
  checkCancelled(id);
  postMessage(/** @satisfies {ProgressMessage} */ ({ type: 'progress', id, stage: 'prepare', done: 0, total: 1 }));
  if (job.debug === 'panic') engine.debugPanic();
  else if (job.debug === 'out-of-memory') engine.debugOutOfMemory();
  /** @type {(stage: Stage) => Progress} */
  const report = (stage) => (done, total) => {
    postMessage(/** @satisfies {ProgressMessage} */ ({ type: 'progress', id, stage, done, total }));
    // The last network step done, an image tool writes its file (a 40 MP PNG takes seconds):
    // said, so the bar does not sit at 100 % without a word. Image to text says so itself.
    if (stage === 'run' && done === total) {
      postMessage(/** @satisfies {ProgressMessage} */ ({ type: 'progress', id, stage: 'encode', done: 1, total: 1 }));
    }
    return !isCancelled(id);
  };
  // The types cannot tie `options` (nor the instance toolFor built) to `tool`, but they match: the
  // page sends each tool its own options. The image is copied into the engine, so a rerun has it too.
  return /** @type {Runner<Tool>} */ (RUNNERS[job.tool])(tool, new Uint8Array(job.image), job.options, report);
}

/**
 * A job's result message, less what `run` adds, and the buffers it transfers.
 * @typedef {{ message: Pick<ResultMessage, 'width' | 'height' | 'warning' | 'image' | 'text'>, transfer: Transferable[] }} Outcome
 */

/**
 * @template {Tool} T
 * @typedef {(tool: ToolInstances[T], image: Uint8Array, options: ToolOptions[T],
 *            report: (stage: Stage) => Progress) => Promise<Outcome>} Runner
 */

/**
 * Each tool's run: image bytes and options in, a result message (and what it transfers) out.
 * @type {{ [T in Tool]: Runner<T> }}
 */
const RUNNERS = {
  async 'remove-background'(tool, image, options, report) {
    const result = await tool.process(image, options, report('run'));
    return imageResult(result, OUTPUT_TYPES[options.output]);
  },
  async cartoonify(tool, image, options, report) {
    const result = await tool.process(image, options, report('run'));
    return imageResult(result, OUTPUT_TYPES[options.output]);
  },
  async 'image-to-text'(tool, image, _options, report) {
    const result = await tool.process(image, (stage, done, total) => report(stage)(done, total));
    return {
      message: { width: result.width, height: result.height, warning: result.warning, text: { plain: result.text, json: result.json } },
      transfer: [],
    };
  },
};

/**
 * @param {ProcessedImage} result
 * @param {string} mime
 * @returns {Outcome}
 */
function imageResult(result, mime) {
  const bytes = result.bytes.buffer;
  return {
    message: { width: result.width, height: result.height, warning: result.warning, image: { mime, bytes } },
    transfer: [bytes],
  };
}

/**
 * The tool instance for a job, built once per model set and kept for the next image. (Where
 * `tools.get` follows `has` or `set`, it finds the instance: hence the casts.)
 * @param {JobMessage} job
 * @returns {Promise<ToolInstance>}
 */
async function toolFor(job) {
  const { id } = job;
  if (job.ownModel) {
    // Own models are Cartoonify's, and the page sends each with its preset (protocol.js).
    const { preset } = /** @type {CartoonifyOptions} */ (job.options);
    if (!preset) throw new Error('An own model needs a preset.');
    const bytes = new Uint8Array(job.ownModel);
    const key = `own:${preset}:${await sha256(bytes)}`;
    if (!tools.has(key)) {
      if (ownModelKey !== null) {
        tools.get(ownModelKey)?.free();
        tools.delete(ownModelKey);
      }
      tools.set(key, engine.Cartoonify.ownModel(bytes, preset, backendChoice()));
      ownModelKey = key;
    }
    return /** @type {ToolInstance} */ (tools.get(key));
  }
  const key = `${job.tool}:${job.models.join('+')}`;
  if (tools.has(key)) return /** @type {ToolInstance} */ (tools.get(key));
  const entries = job.models.map((model) => {
    const entry = index.models.find((m) => m.id === model && m.tool === job.tool)
      ?? (job.tool === 'image-to-text' ? languageModels().find((m) => m.id === model) : undefined);
    if (!entry) throw new Error(`Unknown model "${model}" for ${job.tool}.`);
    return entry;
  });
  const files = [];
  for (const entry of entries) files.push(await loadFile(entry, id));
  checkCancelled(id);
  tools.set(key, await BUILDERS[job.tool](entries, files, id));
  return /** @type {ToolInstance} */ (tools.get(key));
}

/** @type {string | null} */
let ownModelKey = null;

/** @returns {LanguageModel[]} The index's Tesseract language models. */
const languageModels = () => /** @type {LanguageModel[]} */ (index.assets.filter((a) => a.language));

/**
 * @template {Tool} T
 * @typedef {(entries: (IndexModel | LanguageModel)[], files: Uint8Array[], id: number) => ToolInstances[T] | Promise<ToolInstances[T]>} Builder
 */

/** @returns {BackendChoice} The backend tools are built for now. */
const backendChoice = () => ({ backend: onGpu ? 'gpu' : 'cpu' });

/** @type {{ [T in Tool]: Builder<T> }} */
const BUILDERS = {
  'remove-background': ([entry], [bytes]) => new engine.RemoveBackground(bytes, JSON.stringify(entry), backendChoice()),
  cartoonify: ([entry], [bytes]) => new engine.Cartoonify(bytes, JSON.stringify(entry), backendChoice()),
  async 'image-to-text'(entries, files, id) {
    /** @param {IndexModel['role']} name */
    const role = (name) => entries.findIndex((e) => 'role' in e && e.role === name);
    const [det, rec, cls] = [role('detect'), role('recognise'), role('orientation')];
    const language = entries.findIndex((e) => e.language);
    if (det < 0 || (rec < 0) === (language < 0)) {
      throw new Error('Image to text needs a detection model and one recognition or language model.');
    }
    /** @param {number} i */
    const network = (i) => new engine.Network(files[i], JSON.stringify(entries[i]));
    const orientation = cls >= 0 ? network(cls) : undefined;
    if (language >= 0) {
      const model = new engine.TesseractModel(files[language], JSON.stringify(entries[language]));
      return engine.ImageToText.withTesseract(network(det), model, orientation, backendChoice());
    }
    const recogniser = /** @type {IndexModel} */ (entries[rec]);
    const dictionary = index.assets.find((a) => a.id === recogniser.dictionary);
    if (!dictionary) throw new Error(`The dictionary of "${recogniser.title}" is not in the model list.`);
    const dictionaryText = new TextDecoder().decode(await loadFile(dictionary, id));
    return new engine.ImageToText(network(det), network(rec), dictionaryText, orientation, backendChoice());
  },
};

/**
 * @param {Uint8Array<ArrayBuffer>} bytes
 * @returns {Promise<string>}
 */
async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A model's (or asset's) bytes: from the Cache API when a verified copy is there, else downloaded.
 * @param {IndexFile & { title?: string }} entry
 * @param {number} id
 * @returns {Promise<Uint8Array<ArrayBuffer>>}
 */
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
  const title = entry.title ?? (entry.language ? `${entry.language.english} text` : entry.id);
  // An ok response lacks a body only where it has no content (HTTP 204, 205).
  if (!response.ok || !response.body) throw new Error(`The model "${title}" could not be downloaded (HTTP ${response.status}).`);
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    checkCancelled(id);
    chunks.push(value);
    loaded += value.length;
    postMessage(/** @satisfies {ProgressMessage} */ ({ type: 'progress', id, stage: 'download', done: loaded, total: entry.size }));
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

// The page: files in, results out. It knows jobs and images, never tensors; the engine worker
// does the rest (see protocol.js for every message).
import { EMBED_API_VERSION, EMBED_MAX_BYTES, EMBED_MAX_QUEUED, STAGES, engineFailure } from './protocol.js';
import { buildFor } from './wasm/builds.js';

/**
 * @import { Tool, ToolOptions, StartMessage, JobMessage, CancelMessage, WorkerMessage, ProgressMessage, ResultMessage,
 *           RemoveBackgroundOptions, CartoonifyOptions, Stage, TextJson, ModelIndex, BackendSetting,
 *           KeepBuildMessage, OfflineMessage, ErrorMessage, ExportMessage, EmbedRequest, EmbedRun, EmbedOptions, EmbedAnswer,
 *           EmbedErrorCode, EmbedResult, EmbedAllowList, Language, LanguageModel } from './protocol.js'
 */

/**
 * How long a cancel may wait for the worker before it is stopped outright (and its models loaded
 * again from the Cache API for the next job). With the shared cancel flag the engine stops at the
 * end of the step it is in: the longest steps, IS-Net's at 1024², take well under this on a phone.
 * Without it (no cross-origin isolation) the worker reads the cancel only after the job.
 */
const CANCEL_GRACE_MS = { shared: 5000, message: 300 };

/**
 * The job in the worker, settled when the worker answers or is replaced.
 * @typedef {{ id: number, resolve: (result: ResultMessage) => void, reject: (error: Error) => void,
 *             onProgress: (progress: ProgressMessage) => void, stopTimer?: number }} RunningJob
 */

/** The engine worker behind a promise per job; a worker that dies or will not stop is replaced. */
class Engine {
  /**
   * @param {BackendSetting} setting
   * @param {(backend: string) => void} onBackend
   */
  constructor(setting, onBackend) {
    this.setting = setting;
    this.onBackend = onBackend;
    this.nextId = 1;
    /** @type {RunningJob | null} */
    this.current = null;
    /** Set when the backend setting changed during a job: the worker restarts once it ends. */
    this.restartWhenIdle = false;
    /**
     * Exports asked for and not yet answered, by id (ids are shared with jobs).
     * @type {Map<number, { resolve: (bytes: ArrayBuffer) => void, reject: (error: Error) => void }>}
     */
    this.exports = new Map();
    this.start();
  }

  start() {
    /** @type {Worker} */
    this.worker = new Worker('worker.js', { type: 'module' });
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.replace('The engine stopped unexpectedly (perhaps out of memory). It has been restarted; try again.');
    };
    // A name of this worker's own: a panic told after the worker is replaced is not heard, and
    // another tab's engine never speaks on it.
    const panics = `lantern-panics-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    /** @type {BroadcastChannel} */
    this.panics = new BroadcastChannel(panics);
    this.panics.onmessage = ({ data }) => this.replace(engineFailure(data));
    /** Set to the id of the job to cancel; read by the engine after every step (StartMessage). */
    this.cancelFlag = crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
    const cancel = this.cancelFlag ? /** @type {SharedArrayBuffer} */ (this.cancelFlag.buffer) : undefined;
    this.worker.postMessage(/** @satisfies {StartMessage} */ ({ type: 'start', backend: this.setting, panics, cancel }));
  }

  /**
   * Runs the models on what `setting` says from the next job on: the worker opens its backend
   * once, at start, so it starts again (after the running job, if any).
   * @param {BackendSetting} setting
   */
  useBackend(setting) {
    this.setting = setting;
    if (this.current) this.restartWhenIdle = true;
    else this.restart();
  }

  restart() {
    this.restartWhenIdle = false;
    for (const { reject } of this.exports.values()) reject(new Error('The engine restarted before the file was made; try again.'));
    this.exports.clear();
    this.worker.terminate();
    this.panics.close();
    this.startError = undefined;
    this.onBackend('restarting…');
    this.start();
  }

  /** @param {WorkerMessage} message */
  receive(message) {
    if (message.type === 'ready') return this.onBackend(message.backend);
    if (message.type === 'failed') {
      this.onBackend('unavailable');
      this.startError = message.message;
      return this.current?.reject(new Error(message.message));
    }
    const exported = this.exports.get(message.id);
    if (exported && (message.type === 'exported' || message.type === 'error')) {
      this.exports.delete(message.id);
      if (message.type === 'exported') exported.resolve(message.bytes);
      else exported.reject(new Error(message.message));
      return;
    }
    const job = this.current;
    if (!job || message.id !== job.id) return;
    if (message.type === 'progress') job.onProgress(message);
    else if (message.type === 'result') this.settle((j) => j.resolve(message));
    else if (message.type === 'error') {
      if (message.broken) this.restartWhenIdle = true;
      this.settle((j) => j.reject(new JobError(message.message, message.input)));
    }
    else if (message.type === 'cancelled') this.settle((j) => j.reject(new CancelledError()));
  }

  /** @param {(job: RunningJob) => void} action */
  settle(action) {
    const job = this.current;
    // receive() settles only the current job.
    if (!job) return;
    this.current = null;
    clearTimeout(job.stopTimer);
    if (this.restartWhenIdle) this.restart();
    action(job);
  }

  /**
   * Throws away the worker and the job in it; the next job gets a fresh one.
   * @param {string} message
   * @param {Error} [error]
   */
  replace(message, error = new Error(message)) {
    const job = this.current;
    this.current = null;
    this.restart();
    if (job) {
      clearTimeout(job.stopTimer);
      job.reject(error);
    }
  }

  /**
   * Runs one job; `image` is transferred, `ownModel` (if any) copied so it can be used again.
   * @param {Omit<JobMessage, 'type' | 'id'>} job
   * @param {(progress: ProgressMessage) => void} onProgress
   * @returns {Promise<ResultMessage>}
   */
  run({ tool, models, image, options, ownModel }, onProgress) {
    if (this.startError) return Promise.reject(new Error(this.startError));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.current = { id, resolve, reject, onProgress };
      this.worker.postMessage(/** @satisfies {JobMessage} */ ({ type: 'job', id, tool, models, image, options, ownModel }), [image]);
    });
  }

  /**
   * Builds one of Image to text's downloads from the image file and the lines read; `image` is
   * transferred. It runs between the steps of a job, if one is running.
   * @param {Omit<ExportMessage, 'type' | 'id'>} request
   * @returns {Promise<ArrayBuffer>}
   */
  exportText(request) {
    if (this.startError) return Promise.reject(new Error(this.startError));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.exports.set(id, { resolve, reject });
      this.worker.postMessage(/** @satisfies {ExportMessage} */ ({ type: 'export', id, ...request }), [request.image]);
    });
  }

  cancel() {
    const job = this.current;
    if (!job) return;
    this.worker.postMessage(/** @satisfies {CancelMessage} */ ({ type: 'cancel', id: job.id }));
    if (this.cancelFlag) Atomics.store(this.cancelFlag, 0, job.id);
    // A network mid-run reads no messages: stop the worker if it does not answer in time.
    job.stopTimer = setTimeout(() => {
      if (this.current === job) this.replace('', new CancelledError('restarted'));
    }, this.cancelFlag ? CANCEL_GRACE_MS.shared : CANCEL_GRACE_MS.message);
  }
}

/** A job stopped at the person's word; its message is 'restarted' where the worker had to be replaced. */
class CancelledError extends Error {}

/** A job the engine failed; `input` says where the image itself was refused (ErrorMessage). */
class JobError extends Error {
  /**
   * @param {string} message
   * @param {ErrorMessage['input']} input
   */
  constructor(message, input) {
    super(message);
    this.input = input;
  }
}

/**
 * The element `selector` matches under `root`, checked to be the `type` this script uses it as
 * (HTMLElement when left out, as T then is: the checker cannot relate the two, hence the cast). The
 * page's HTML and this script ship together, so a miss is a bug: it is reported here, by selector.
 * @template {Element} [T=HTMLElement]
 * @param {string} selector
 * @param {abstract new () => T} [type]
 * @param {ParentNode} [root]
 * @returns {T}
 */
const $ = (selector, type = /** @type {abstract new () => T} */ (/** @type {unknown} */ (HTMLElement)), root = document) => {
  const found = root.querySelector(selector);
  if (!(found instanceof type)) throw new Error(`The page has no ${type.name} matching ${selector}.`);
  return found;
};

/**
 * Every element `selector` matches under `root`; this page asks only for HTML elements.
 * @param {string} selector
 * @param {ParentNode} [root]
 */
const $$ = (selector, root = document) => /** @type {HTMLElement[]} */ ([...root.querySelectorAll(selector)]);

/**
 * A fresh copy of the element in the `<template>` that `selector` matches.
 * @param {string} selector
 */
const fromTemplate = (selector) => {
  const copy = $(selector, HTMLTemplateElement).content.firstElementChild?.cloneNode(true);
  if (!(copy instanceof HTMLElement)) throw new Error(`The page's ${selector} holds no element.`);
  return copy;
};

/**
 * A job's model ids and options, taken from the options shown when its file was added, and
 * `settings`, those options as its card shows them.
 * @template {Tool} [T=Tool]
 * @typedef {{ models: string[], options: ToolOptions[T], ownModel?: ArrayBuffer, settings: string }} JobParts
 */
/**
 * A file waiting, running or done, with its entry in the queue list; `listener` hears how a job
 * the embedding page asked for goes.
 * @template {Tool} [T=Tool]
 * @typedef {{ file: File, item: HTMLElement, tool: T, listener?: JobListener } & JobParts<T>} QueuedJob
 */
/**
 * @typedef {{ progress: (progress: ProgressMessage) => void, result: (result: ResultMessage) => unknown,
 *             error: (code: EmbedErrorCode, message: string) => void }} JobListener
 */
/**
 * A tool's part of the page: its name, its job for a file, and how its result is shown.
 * @template {Tool} [T=Tool]
 * @typedef {{ label: string, job: (file: File) => JobParts<T>,
 *             show: (job: QueuedJob<T>, result: ResultMessage) => void }} ToolView
 */

/** @type {QueuedJob[]} */
const queue = [];
let running = false;
/** @type {ModelIndex} */
let index = { models: [], assets: [] };
/** @type {Tool} */
let currentTool = 'remove-background';
/**
 * A style network the person picked from disk; it never leaves the page and worker.
 * @type {{ name: string, bytes: ArrayBuffer } | null}
 */
let ownModel = null;
/**
 * The picture the person chose to put behind the subject (Remove background); it never leaves the
 * page and worker.
 * @type {{ name: string, bytes: ArrayBuffer } | null}
 */
let backdropPicture = null;
/**
 * The largest own model taken: its bytes are copied into the engine's memory, read into f32
 * weights and packed for the kernels, about three copies in wasm's 4 GB beside the photo's work.
 */
const OWN_MODEL_MAX_BYTES = 1e9;

/** Image to text's choices: a detector and recogniser pair, each listed in models/index.json. */
const TEXT_MODELS = [
  { id: 'fast', label: 'Fast (PP-OCRv6 tiny)', models: ['ppocrv6-tiny-det', 'ppocrv6-tiny-rec'] },
  { id: 'accurate', label: 'Accurate / multilingual (PP-OCRv6 small)', models: ['ppocrv6-small-det', 'ppocrv6-small-rec'] },
];
const ORIENTATION_MODEL = 'ppocr-cls';
/** Where the language chosen for Image to text is kept between visits. */
const LANGUAGE_SETTING = 'lantern-text-language';
/** The language Image to text reads unless the person chose another. */
const DEFAULT_LANGUAGE = 'eng';

/** @returns {LanguageModel[]} Every language's Tesseract model in models/index.json. */
const languageModels = () => /** @type {LanguageModel[]} */ (index.assets.filter((a) => a.language));

/**
 * The PP-OCR choice that reads the language `code` whole (its recogniser lists it), the one chosen
 * in the Model list first; null where none does and the language's Tesseract model reads it.
 * @param {string} code
 */
function ppocrReading(code) {
  /** @param {typeof TEXT_MODELS[number]} choice */
  const reads = (choice) => Boolean(index.models.find((m) => m.id === choice.models[1])?.languages?.includes(code));
  const chosen = TEXT_MODELS.find((c) => c.id === $('#tt-model', HTMLSelectElement).value);
  return chosen && reads(chosen) ? chosen : TEXT_MODELS.find(reads) ?? null;
}

/** @param {Language} language "Ukrainian — Українська", or the one name where both are the same. */
const languageName = ({ english, native }) => (english === native ? english : `${english} — ${native}`);

/** @returns {string} The language kept from an earlier visit, else the default. */
function storedLanguage() {
  try {
    return localStorage.getItem(LANGUAGE_SETTING) ?? DEFAULT_LANGUAGE;
  } catch {
    // Storage can be refused (privacy settings, sandboxed frames).
    return DEFAULT_LANGUAGE;
  }
}

/** Where the backend setting is kept between visits. */
const BACKEND_SETTING = 'lantern-backend';

/** @returns {BackendSetting} The backend setting kept from an earlier visit, else Automatic. */
function storedBackend() {
  try {
    const stored = localStorage.getItem(BACKEND_SETTING);
    if (stored === 'cpu' || stored === 'gpu') return stored;
  } catch {
    // Storage can be refused (privacy settings, sandboxed frames): the page then starts on Automatic.
  }
  return 'auto';
}

/** Settles with what runs the models once the engine has started (or could not). */
/** @type {(backend: string) => void} */
let engineStarted;
/** @type {Promise<string>} */
const started = new Promise((resolve) => {
  engineStarted = resolve;
});

const engine = new Engine(storedBackend(), (backend) => {
  $('#backend').textContent = backend;
  document.body.dataset.backend = backend;
  if (backend !== 'restarting…') engineStarted(backend);
});

/**
 * What `select` shows for its chosen option.
 * @param {string} selector
 */
const chosenText = (selector) => $(selector, HTMLSelectElement).selectedOptions[0]?.textContent ?? '';
/** @param {string} id */
const modelTitle = (id) => index.models.find((m) => m.id === id)?.title ?? id;
/**
 * A style of the chosen multi-style network by the name models/index.json gives it, else its number.
 * @param {number} style
 */
const styleName = (style) =>
  index.models.find((m) => m.id === $('#ct-model', HTMLSelectElement).value)?.styles?.[style] ?? `Style ${style + 1}`;

/** @param {File} file */
const baseName = (file) => file.name.replace(/\.[^.]+$/, '') || 'image';
/** @param {RemoveBackgroundOptions['output']} output */
const extension = (output) => ({ png: 'png', webp: 'webp', jpeg: 'jpg', mask: 'png' })[output];

/**
 * Per tool: the job for a file with the options shown now, and how its result is shown.
 * @type {{ [T in Tool]: ToolView<T> }}
 */
const TOOLS = {
  'remove-background': {
    label: 'Remove background',
    job() {
      const model = $('#rb-model', HTMLSelectElement).value;
      const output = /** @type {RemoveBackgroundOptions['output']} */ ($('#rb-output', HTMLSelectElement).value);
      const background = $('#rb-background', HTMLInputElement).value;
      const backdrop = /** @type {RemoveBackgroundOptions['backdrop'] | ''} */ ($('#rb-backdrop', HTMLSelectElement).value);
      /** @type {RemoveBackgroundOptions} */
      const options = { output, background, quality: 92 };
      if (backdrop) options.backdrop = backdrop;
      if (backdrop === 'picture' && backdropPicture) options.picture = backdropPicture.bytes;
      const on = output === 'mask' ? ''
        : backdrop === 'colour' || (!backdrop && output === 'jpeg') ? ` on ${background}`
        : backdrop === 'blur' ? ' on its own background, blurred'
        : backdrop === 'picture' ? ` on ${backdropPicture?.name ?? 'a picture'}`
        : ' with transparency';
      return { models: [model], options, settings: `${modelTitle(model)} · ${chosenText('#rb-output')}${on}` };
    },
    show: (job, result) => showImage(job, result,
      `${baseName(job.file)}-${job.options.output === 'mask' ? 'mask' : 'cutout'}.${extension(job.options.output)}`),
  },
  cartoonify: {
    label: 'Cartoonify',
    job() {
      // A network without styles shows no style to check.
      const style = /** @type {HTMLInputElement | null} */ (document.querySelector('input[name=ct-style]:checked'));
      const first = Number(style?.value ?? 0);
      const second = $('#ct-second', HTMLSelectElement).value === '' ? first : Number($('#ct-second', HTMLSelectElement).value);
      const options = {
        first, second,
        mix: second === first ? 0 : Number($('#ct-mix', HTMLInputElement).value) / 100,
        strength: Number($('#ct-strength', HTMLInputElement).value) / 100,
        detail: /** @type {CartoonifyOptions['detail']} */ ($('input[name=ct-detail]:checked', HTMLInputElement).value),
        output: /** @type {CartoonifyOptions['output']} */ ($('#ct-output', HTMLSelectElement).value),
        quality: 92,
      };
      const made = [options.detail === 'full' ? 'full detail' : 'fast', chosenText('#ct-output')].join(' · ');
      if (ownModel) {
        const settings = `${ownModel.name} (your model) · ${cartoonLook(options, false)} · ${made}`;
        return { models: [], options: { ...options, preset: 'animegan' }, ownModel: ownModel.bytes, settings };
      }
      const model = $('#ct-model', HTMLSelectElement).value;
      return { models: [model], options, settings: `${modelTitle(model)} · ${cartoonLook(options, style !== null)} · ${made}` };
    },
    show: (job, result) => showImage(job, result, `${baseName(job.file)}-cartoon.${extension(job.options.output)}`),
  },
  'image-to-text': {
    label: 'Image to text',
    job() {
      const code = $('#tt-language', HTMLSelectElement).value || DEFAULT_LANGUAGE;
      const language = languageModels().find((m) => m.language.code === code);
      const ppocr = ppocrReading(code);
      const upsideDown = $('#tt-orientation', HTMLInputElement).checked;
      const orientation = upsideDown ? 'reads upside-down text' : 'upright text only';
      const named = language ? `${language.language.english} · ` : '';
      // A language PP-OCR does not read: PP-OCR's fast detector finds the lines (the Tesseract
      // page tests measured it), the language's Tesseract model reads them.
      const [models, reader] = ppocr || !language
        ? [(ppocr ?? TEXT_MODELS[0]).models, (ppocr ?? TEXT_MODELS[0]).label]
        : [[TEXT_MODELS[0].models[0], language.id], 'Tesseract'];
      return { models: upsideDown ? [...models, ORIENTATION_MODEL] : models, options: {}, settings: `${named}${reader} · ${orientation}` };
    },
    show: showText,
  },
};

/** @param {Tool} tool */
function defaultModel(tool) {
  return index.models.find((m) => m.tool === tool && m.default) ?? index.models.find((m) => m.tool === tool);
}

/**
 * The photo each tool last took, which "Run … again with these settings" runs: trying another
 * style or model never means picking the file again.
 * @type {Map<Tool, File>}
 */
const lastPhoto = new Map();
/** @type {WeakMap<Element, File>} */
const cardPhotos = new WeakMap();

/** @param {Iterable<File>} files */
function addFiles(files) {
  for (const file of files) addJob(file, currentTool);
  pump();
}

/**
 * Queues `file` for `tool` with the options its panel shows now, under a new card.
 * @param {File} file
 * @param {Tool} toolName
 * @param {JobListener} [listener]
 */
function addJob(file, toolName, listener) {
  const item = fromTemplate('#job-template');
  const tool = TOOLS[toolName];
  $('.tool-name', HTMLElement, item).textContent = tool.label;
  $('.name', HTMLElement, item).textContent = file.name || 'pasted image';
  $('.status', HTMLElement, item).textContent = 'Waiting';
  item.dataset.tool = toolName;
  const job = { file, item, tool: toolName, listener, ...tool.job(file) };
  $('.settings', HTMLElement, item).textContent = job.settings;
  $('.remove', HTMLElement, item).addEventListener('click', () => removeCard(item));
  // Said here, not read into memory for the engine to refuse: it may be a video of gigabytes.
  // A file of no type (some pasted images, unknown extensions) goes on for the engine to judge.
  if (!file.type.startsWith('image/') && file.type !== '') {
    $('.again', HTMLElement, item).hidden = true;
    $('#queue').append(item);
    fail(job, `“${file.name}” is a ${file.type} file, not an image.`);
    listener?.error('not-an-image', `The file is a ${file.type} file, not an image.`);
    return;
  }
  $('.cancel', HTMLElement, item).addEventListener('click', () => cancel(job));
  $('.again', HTMLElement, item).addEventListener('click', () => {
    addJob(file, toolName);
    pump();
  });
  lastPhoto.set(toolName, file);
  cardPhotos.set(item, file);
  showRerun();
  $('#queue').append(item);
  queue.push(job);
}

/** "Run <photo> again with these settings" under the drop zone, for the tool shown. */
function showRerun() {
  const file = lastPhoto.get(currentTool);
  const rerun = $('#rerun');
  rerun.hidden = !file;
  if (file) rerun.textContent = `Run ${file.name || 'the pasted image'} again with these settings`;
}

/** @param {QueuedJob} job */
function cancel(job) {
  const position = queue.indexOf(job);
  if (position >= 0) {
    queue.splice(position, 1);
    setState(job, 'cancelled', 'Cancelled');
    job.listener?.error('cancelled', 'Cancelled before it ran.');
  } else if (job.item.dataset.state === 'running') {
    engine.cancel();
  }
}

/**
 * @param {QueuedJob} job
 * @param {string} state
 * @param {string} status
 */
function setState(job, state, status) {
  job.item.dataset.state = state;
  $('.status', HTMLElement, job.item).textContent = status;
  showClearResults();
}

/**
 * Marks `job` failed, saying why.
 * @param {QueuedJob} job
 * @param {string} message
 */
function fail(job, message) {
  setState(job, 'error', 'Failed');
  const error = $('.error', HTMLElement, job.item);
  error.textContent = message;
  error.hidden = false;
}

async function pump() {
  if (running) return;
  // A preview runs only while nothing the person queued waits.
  if (queue.length === 0) {
    if (pendingPreview) runPreview();
    return;
  }
  running = true;
  const job = /** @type {QueuedJob} */ (queue.shift()); // not empty: checked above
  setState(job, 'running', 'Starting');
  // The running job stays in view however many results are above it.
  job.item.scrollIntoView({ block: 'nearest' });
  // Without shared memory the engine cannot hear a cancel mid-run: said before the click.
  if (!crossOriginIsolated) $('.cancel', HTMLElement, job.item).textContent = 'Cancel (restarts the engine)';
  const progress = $('progress', HTMLProgressElement, job.item);
  try {
    const image = await job.file.arrayBuffer();
    const request = { tool: job.tool, models: job.models, image, options: job.options, ownModel: job.ownModel };
    const result = await engine.run(request, (p) => {
      const fraction = p.total ? p.done / p.total : 0;
      progress.value = fraction;
      const detail = /** @type {Partial<Record<Stage, () => string>>} */ ({
        download: () => `${(p.done / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB`,
        recognise: () => `${p.done} of ${p.total}`,
        encode: () => 'the result…',
      })[p.stage]?.() ?? `${Math.round(fraction * 100)}%`;
      $('.status', HTMLElement, job.item).textContent = `${STAGES[p.stage]} ${detail}`;
      job.listener?.progress(p);
    });
    // The types cannot tie `job.options` to `job.tool`, but they match: the tool built the job.
    /** @type {ToolView} */ (TOOLS[job.tool]).show(job, result);
    const seconds = (result.milliseconds / 1000).toFixed(1);
    setState(job, 'done', `Done in ${seconds} s on ${result.backend} · ${result.width}×${result.height}`);
    job.item.dataset.backend = result.backend;
    job.item.dataset.memory = String(result.memory);
    if (result.warning) {
      const warning = $('.warning', HTMLElement, job.item);
      warning.textContent = result.warning;
      warning.hidden = false;
    }
    // Last: the card has made its own copies of the bytes, which the embedder's answer takes.
    job.listener?.result(result);
  } catch (e) {
    if (e instanceof CancelledError) {
      // Without shared memory a running network cannot hear the cancel: the engine restarts.
      setState(job, 'cancelled', e.message === 'restarted' ? 'Cancelled (the engine restarted; its models stay cached)' : 'Cancelled');
      job.listener?.error('cancelled', 'Cancelled.');
    } else {
      const message = e instanceof Error ? e.message : String(e);
      fail(job, message);
      const input = e instanceof JobError ? e.input : undefined;
      job.listener?.error(input === 'unreadable' ? 'not-an-image' : input === 'too-large' ? 'too-large' : 'failed', message);
    }
  } finally {
    running = false;
    pump();
  }
}

/**
 * How a Cartoonify job's result looks, as its card and its preview say: the styles, where the
 * network has them (`styled`), and the strength.
 * @param {CartoonifyOptions} options
 * @param {boolean} styled
 */
function cartoonLook({ first, second, mix, strength }, styled) {
  const styles = !styled ? []
    : mix === 0 ? [styleName(first)]
    : [`${styleName(first)} blended ${Math.round(mix * 100)}% with ${styleName(second)}`];
  return [...styles, `strength ${Math.round(strength * 100)}%`].join(' · ');
}

/**
 * The longest side of Cartoonify's preview: at 256 px the network runs in a tenth of a second or
 * so, quick enough to follow the sliders, and a style's look already shows.
 */
const PREVIEW_SIDE = 256;
/**
 * The preview asked for and not yet run: only the latest settings matter.
 * @type {{ file: File, parts: JobParts<'cartoonify'> } | null}
 */
let pendingPreview = null;
/** Each photo's preview-sized copy, made once. @type {WeakMap<File, Promise<ArrayBuffer>>} */
const previewCopies = new WeakMap();

/** Asks for a preview of Cartoonify's settings as they are now, on its last photo. */
function requestPreview() {
  const file = lastPhoto.get('cartoonify');
  // An embedding page sets the panel for its runs, not to look at it.
  if (!file || ownModel || embedded) return;
  pendingPreview = { file, parts: TOOLS.cartoonify.job(file) };
  pump();
}

/**
 * `file` scaled so its longer side is at most PREVIEW_SIDE, as PNG, upright per its EXIF.
 * @param {File} file
 */
function previewCopy(file) {
  let copy = previewCopies.get(file);
  if (!copy) {
    copy = (async () => {
      const full = await createImageBitmap(file);
      const scale = Math.min(1, PREVIEW_SIDE / Math.max(full.width, full.height));
      const [width, height] = [Math.max(1, Math.round(full.width * scale)), Math.max(1, Math.round(full.height * scale))];
      const canvas = new OffscreenCanvas(width, height);
      const context = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext('2d'));
      context.imageSmoothingQuality = 'high';
      context.drawImage(full, 0, 0, width, height);
      full.close();
      return (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer();
    })();
    previewCopies.set(file, copy);
  }
  return copy;
}

/** Runs the pending preview on the engine, between the person's jobs, and shows it in the panel. */
async function runPreview() {
  const preview = /** @type {NonNullable<typeof pendingPreview>} */ (pendingPreview);
  pendingPreview = null;
  running = true;
  const figure = $('#ct-preview');
  try {
    const image = (await previewCopy(preview.file)).slice(0);
    const options = { ...preview.parts.options, detail: /** @type {const} */ ('fast'), output: /** @type {const} */ ('png') };
    const result = await engine.run({ tool: 'cartoonify', models: preview.parts.models, image, options }, () => {});
    if (!result.image) throw new Error('The engine sent no image.');
    const img = $('img', HTMLImageElement, figure);
    URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(new Blob([result.image.bytes], { type: result.image.mime }));
    const look = cartoonLook(preview.parts.options, document.querySelector('input[name=ct-style]:checked') !== null);
    $('figcaption', HTMLElement, figure).textContent = `Preview of ${look} on ${preview.file.name || 'the pasted image'}, ${result.width}×${result.height}`;
    figure.hidden = false;
  } catch (e) {
    // A preview that fails says nothing: the full run says why, if the person starts one.
    if (!(e instanceof CancelledError)) console.warn(`Lantern: no preview (${e instanceof Error ? e.message : e})`);
  } finally {
    running = false;
    pump();
  }
}

/**
 * Makes `link` download `bytes` as `name`; the URL goes with `card`.
 * @param {Element} card
 * @param {HTMLAnchorElement} link
 * @param {BlobPart} bytes
 * @param {string} mime
 * @param {string} name
 */
function download(card, link, bytes, mime, name) {
  const blob = new Blob([bytes], { type: mime });
  link.href = objectUrl(card, blob);
  link.download = name;
  offer(card, name, async () => blob);
}

/**
 * Makes `button` download a file made only when asked for (`make`), once: a second click, or
 * the ZIP, takes the same file.
 * @param {Element} card
 * @param {HTMLButtonElement} button
 * @param {string} name
 * @param {() => Promise<Blob>} make
 */
function downloadMade(card, button, name, make) {
  /** @type {Promise<Blob> | null} */
  let made = null;
  const get = () => {
    made ??= make().catch((e) => {
      made = null;
      throw e;
    });
    return made;
  };
  offer(card, name, get);
  button.addEventListener('click', async () => {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = `${label}: making…`;
    try {
      save(await get(), name);
      button.textContent = label;
    } catch (e) {
      button.textContent = `${label}: failed, ${e instanceof Error ? e.message : e}`;
    } finally {
      button.disabled = false;
    }
  });
}

/**
 * Downloads `blob` as `name` through a link of its own, whose URL goes once the download has it.
 * @param {Blob} blob
 * @param {string} name
 */
function save(blob, name) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  // The download has its bytes once it starts; a minute is ample before the URL goes.
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

/**
 * Adds a file to what `card` offers, for "Download all results".
 * @param {Element} card
 * @param {string} name
 * @param {() => Promise<Blob>} get
 */
function offer(card, name, get) {
  resultFiles.set(card, [...(resultFiles.get(card) ?? []), { name, get }]);
}

/**
 * Each finished card's downloads, which "Download all results" puts in one ZIP; each is made
 * when first asked for.
 * @type {WeakMap<Element, { name: string, get: () => Promise<Blob> }[]>}
 */
const resultFiles = new WeakMap();

/**
 * Where the page loads fflate (a copy of npm's, put in dist/ by `just build`): only when a ZIP is
 * asked for. A variable, so the type checker takes the types from the npm package instead.
 */
const FFLATE = './vendor/fflate.js';

/**
 * The types that a ZIP stores as they are: they are compressed already, and deflating them again
 * only costs time (a 12 MP PNG: no smaller, 0.4 s more).
 */
const STORED = /^(image\/(png|jpeg|webp)|application\/pdf)$/;

/** Downloads every finished result in one ZIP, each under its download name (made unique). */
async function downloadAll() {
  const { zipSync } = /** @type {typeof import('fflate')} */ (await import(FFLATE));
  /** @type {import('fflate').Zippable} */
  const files = {};
  for (const card of $$('.job[data-state="done"]')) {
    for (const { name, get } of resultFiles.get(card) ?? []) {
      const blob = await get();
      let unique = name;
      for (let n = 2; unique in files; n++) unique = name.replace(/(\.[^.]+)?$/, ` (${n})$1`);
      files[unique] = [new Uint8Array(await blob.arrayBuffer()), { level: STORED.test(blob.type) ? 0 : 6 }];
    }
  }
  save(new Blob([zipSync(files)], { type: 'application/zip' }), 'lantern-results.zip');
}

/**
 * The object URLs each job's card shows or offers: they hold the results in memory until revoked,
 * which removing the card does.
 * @type {WeakMap<Element, string[]>}
 */
const objectUrls = new WeakMap();

/**
 * An object URL for `blob`, revoked when `card` goes.
 * @param {Element} card
 * @param {Blob} blob
 */
function objectUrl(card, blob) {
  const url = URL.createObjectURL(blob);
  objectUrls.set(card, [...(objectUrls.get(card) ?? []), url]);
  return url;
}

/**
 * Removes a settled job's card and frees what it held.
 * @param {Element} card
 */
function removeCard(card) {
  for (const url of objectUrls.get(card) ?? []) URL.revokeObjectURL(url);
  objectUrls.delete(card);
  resultFiles.delete(card);
  card.remove();
  // A photo is kept for "Run again" while a card of its tool shows it.
  for (const [tool, file] of lastPhoto) {
    if (!$$(`.job[data-tool="${tool}"]`).some((other) => cardPhotos.get(other) === file)) lastPhoto.delete(tool);
  }
  showRerun();
  showClearResults();
}

const SETTLED = ['done', 'error', 'cancelled'];

/** "Clear finished results" is there while there is one, and "Download all results" while one is done. */
function showClearResults() {
  $('#clear-results').hidden = !$$('.job').some((card) => SETTLED.includes(card.dataset.state ?? ''));
  $('#download-all').hidden = !$$('.job').some((card) => card.dataset.state === 'done');
}

/**
 * @param {QueuedJob} job
 * @param {ResultMessage} result
 * @param {string} name
 */
function showImage(job, result, name) {
  // The worker answers the image tools with `image`.
  if (!result.image) throw new Error('The engine sent no image.');
  const view = fromTemplate('#image-result-template');
  $('.before', HTMLImageElement, view).src = objectUrl(job.item, job.file);
  const link = $('.download', HTMLAnchorElement, view);
  download(job.item, link, result.image.bytes, result.image.mime, name);
  link.textContent = `Download ${name}`;
  $('.after', HTMLImageElement, view).src = link.href;
  const frame = $('.frame', HTMLElement, view);
  $('input[type=range]', HTMLInputElement, view).addEventListener('input', (e) =>
    frame.style.setProperty('--split', `${/** @type {HTMLInputElement} */ (e.target).value}%`));
  $('.result', HTMLElement, job.item).append(view);
}

const SVG = 'http://www.w3.org/2000/svg';

/**
 * Lines read with less confidence than this are marked unsure, on their box and in the list: lines
 * read right score above it with every recogniser here, and a misread is most often below.
 */
const UNSURE_BELOW = 0.9;

/**
 * The image with a box over each line, the lines beside it (each highlights its box), and downloads.
 * @param {QueuedJob} job
 * @param {ResultMessage} result
 */
function showText(job, result) {
  // The worker answers Image to text with `text`.
  const { text } = result;
  if (!text) throw new Error('The engine sent no text.');
  const view = fromTemplate('#text-result-template');
  const { lines } = /** @type {TextJson} */ (JSON.parse(text.json));
  $('img', HTMLImageElement, view).src = objectUrl(job.item, job.file);
  const boxes = $('.boxes', SVGSVGElement, view);
  boxes.setAttribute('viewBox', `0 0 ${result.width} ${result.height}`);
  const list = $('.lines', HTMLElement, view);
  /**
   * @param {number} i
   * @param {boolean} on
   */
  const highlight = (i, on) => {
    boxes.children[i]?.classList.toggle('active', on);
    list.children[i]?.classList.toggle('active', on);
  };
  lines.forEach((line, i) => {
    const polygon = document.createElementNS(SVG, 'polygon');
    polygon.setAttribute('points', line.polygon.map(([x, y]) => `${x},${y}`).join(' '));
    polygon.addEventListener('pointerenter', () => highlight(i, true));
    polygon.addEventListener('pointerleave', () => highlight(i, false));
    polygon.addEventListener('click', () => list.children[i]?.scrollIntoView({ block: 'nearest' }));
    boxes.append(polygon);
    // The list is one tab stop (index.html), not one a line: a page of text has hundreds.
    const entry = document.createElement('li');
    entry.textContent = line.text;
    // Each line sets its own direction: an Arabic line reads from the right.
    entry.dir = 'auto';
    const percent = Math.round(line.confidence * 100);
    entry.title = `Confidence ${percent}%`;
    if (line.confidence < UNSURE_BELOW) {
      polygon.classList.add('unsure');
      entry.classList.add('unsure');
      entry.append(Object.assign(document.createElement('span'), { className: 'unsure-note', textContent: ` (unsure: ${percent}%)` }));
    }
    for (const [type, on] of /** @type {const} */ ([['pointerenter', true], ['pointerleave', false]])) {
      entry.addEventListener(type, () => highlight(i, on));
    }
    list.append(entry);
  });
  if (lines.length === 0) list.append(Object.assign(document.createElement('li'), { textContent: 'No text found.' }));
  if (lines.some((line) => line.confidence < UNSURE_BELOW)) {
    const legend = $('.unsure-legend', HTMLElement, view);
    legend.textContent = `Lines marked unsure were read with less than ${UNSURE_BELOW * 100}% confidence: check them against the image.`;
    legend.hidden = false;
  }
  $('.plain', HTMLTextAreaElement, view).value = text.plain;
  const copy = $('.copy', HTMLElement, view);
  copy.addEventListener('click', async () => {
    await navigator.clipboard.writeText(text.plain);
    copy.textContent = 'Copied';
    setTimeout(() => (copy.textContent = 'Copy text'), 2000);
  });
  const name = baseName(job.file);
  download(job.item, $('.txt', HTMLAnchorElement, view), text.plain, 'text/plain;charset=utf-8', `${name}.txt`);
  download(job.item, $('.json', HTMLAnchorElement, view), text.json, 'application/json', `${name}.json`);
  /**
   * @param {ExportMessage['format']} format
   * @param {string} mime
   */
  const made = (format, mime) => async () => {
    const image = await job.file.arrayBuffer();
    const bytes = await engine.exportText({ format, image, json: text.json, title: job.file.name || 'pasted image' });
    return new Blob([bytes], { type: mime });
  };
  downloadMade(job.item, $('.hocr', HTMLButtonElement, view), `${name}.hocr`, made('hocr', 'application/xhtml+xml'));
  downloadMade(job.item, $('.pdf', HTMLButtonElement, view), `${name}.pdf`, made('pdf', 'application/pdf'));
  $('.result', HTMLElement, job.item).append(view);
}

/** @param {Tool} tool */
function selectTool(tool) {
  currentTool = tool;
  for (const tab of $$('[role=tab]')) {
    const selected = tab.dataset.tool === tool;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#${tab.getAttribute('aria-controls')}`).hidden = !selected;
  }
  showRerun();
}

async function loadModels() {
  const response = await fetch('models/index.json');
  index = await response.json();
  /** @param {number} bytes */
  const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;
  for (const m of index.models.filter((m) => m.tool === 'remove-background')) {
    $('#rb-model', HTMLSelectElement).append(new Option(`${m.title} · ${mb(m.size)} download, once`, m.id, m.default, m.default));
  }
  /** @param {string[]} ids */
  const size = (ids) => ids.reduce((sum, id) => sum + (index.models.find((m) => m.id === id)?.size ?? 0), 0);
  for (const choice of TEXT_MODELS) {
    if (choice.models.every((id) => index.models.some((m) => m.id === id))) {
      $('#tt-model', HTMLSelectElement).append(new Option(`${choice.label} · ${mb(size(choice.models))} download, once`, choice.id));
    }
  }
  const languages = languageModels().sort((a, b) => a.language.english.localeCompare(b.language.english, 'en'));
  for (const { language } of languages) $('#tt-language', HTMLSelectElement).append(new Option(languageName(language), language.code));
  const stored = embedded ? DEFAULT_LANGUAGE : storedLanguage();
  $('#tt-language', HTMLSelectElement).value = languages.some((m) => m.language.code === stored) ? stored : DEFAULT_LANGUAGE;
  showLanguage();
  const styleModels = index.models.filter((m) => m.tool === 'cartoonify');
  for (const m of styleModels) {
    $('#ct-model', HTMLSelectElement).append(new Option(`${m.title} · ${mb(m.size)} download, once`, m.id, m.default, m.default));
  }
  // Self-hosters may list more style networks; with one, there is nothing to choose.
  $('#ct-model-label').hidden = styleModels.length < 2;
  const styles = defaultModel('cartoonify')?.preprocess.style_weights ?? 0;
  const picker = $('#ct-styles .styles');
  for (let i = 0; i < styles; i++) {
    const number = String(i + 1).padStart(2, '0');
    const label = document.createElement('label');
    label.className = 'style';
    label.innerHTML = `<input type="radio" name="ct-style" value="${i}"${i === 0 ? ' checked' : ''}>`
      + `<img src="styles/style-${number}.jpg" alt="" width="72" height="72" loading="lazy"><span></span>`;
    $('span', HTMLElement, label).textContent = styleName(i);
    picker.append(label);
    $('#ct-second', HTMLSelectElement).append(new Option(styleName(i), String(i)));
  }
}

/**
 * Says what reads the chosen language and what it downloads, and offers the Model list only where
 * PP-OCR reads it (with the models that read it).
 */
function showLanguage() {
  const code = $('#tt-language', HTMLSelectElement).value;
  const language = languageModels().find((m) => m.language.code === code);
  const ppocr = ppocrReading(code);
  const models = $('#tt-model', HTMLSelectElement);
  for (const option of models.options) {
    const choice = TEXT_MODELS.find((c) => c.id === option.value);
    option.disabled = Boolean(ppocr && choice && !index.models.find((m) => m.id === choice.models[1])?.languages?.includes(code));
  }
  if (ppocr) models.value = ppocr.id;
  $('#tt-model-label').hidden = !ppocr && Boolean(language);
  const note = $('#tt-language-note');
  if (ppocr || !language) note.textContent = 'Read by PP-OCR, with the model below.';
  else {
    const size = (language.size / 1e6).toFixed(1);
    note.textContent = `Read by Tesseract's ${language.language.english} model: ${size} MB, downloaded once, the first time it is used.`;
  }
}

/**
 * Narrows the language list to the names (English or native) or codes holding `search`, accents
 * and case aside.
 * @param {string} search
 */
function filterLanguages(search) {
  /** @param {string} text */
  const plain = (text) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const wanted = plain(search.trim());
  const languages = new Map(languageModels().map((m) => [m.language.code, m.language]));
  for (const option of $('#tt-language', HTMLSelectElement).options) {
    const language = languages.get(option.value);
    const names = language ? [language.english, language.native, language.code] : [option.text];
    option.hidden = !names.some((name) => plain(name).includes(wanted));
  }
}

function wire() {
  // Apple keyboards paste with ⌘V.
  if (/Mac|iPhone|iPad/.test(navigator.platform)) $('.paste-key').textContent = '⌘V';
  const setting = $('#backend-setting', HTMLSelectElement);
  setting.value = engine.setting;
  setting.addEventListener('change', () => {
    const chosen = /** @type {BackendSetting} */ (setting.value);
    try {
      localStorage.setItem(BACKEND_SETTING, chosen);
    } catch {
      // Without storage the choice still holds until the page is closed.
    }
    engine.useBackend(chosen);
  });
  const tabs = $$('[role=tab]');
  for (const tab of tabs) {
    // Each tab's data-tool (index.html) names a tool.
    tab.addEventListener('click', () => selectTool(/** @type {Tool} */ (tab.dataset.tool)));
    tab.addEventListener('keydown', (e) => {
      const step = /** @type {Partial<Record<string, number>>} */ ({ ArrowRight: 1, ArrowLeft: -1 })[e.key];
      if (!step) return;
      const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
      selectTool(/** @type {Tool} */ (next.dataset.tool));
      next.focus();
    });
  }
  const drop = $('#drop');
  const picker = $('#files', HTMLInputElement);
  drop.addEventListener('click', () => picker.click());
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      picker.click();
    }
  });
  picker.addEventListener('change', () => {
    addFiles(picker.files ?? []);
    picker.value = '';
  });
  for (const type of ['dragenter', 'dragover']) {
    document.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
  }
  document.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget) drop.classList.remove('over');
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles(e.dataTransfer?.files ?? []);
  });
  document.addEventListener('paste', (e) => addFiles(e.clipboardData?.files ?? []));
  $('#rerun').addEventListener('click', () => {
    const file = lastPhoto.get(currentTool);
    if (file) addFiles([file]);
  });
  $('#download-all').addEventListener('click', () => {
    downloadAll().catch((e) => {
      $('#download-all').textContent = `Download all results (ZIP): failed, ${e.message}`;
    });
  });
  $('#clear-results').addEventListener('click', () => {
    for (const card of $$('.job').filter((card) => SETTLED.includes(card.dataset.state ?? ''))) removeCard(card);
  });
  // The colour shows where it is used: as the backdrop, or under a JPEG (which has no transparency).
  const showBackdropControls = () => {
    const backdrop = $('#rb-backdrop', HTMLSelectElement).value;
    const output = $('#rb-output', HTMLSelectElement).value;
    $('#rb-background-label').hidden = output === 'mask' || !(backdrop === 'colour' || (!backdrop && output === 'jpeg'));
    $('#rb-picture-label').hidden = output === 'mask' || backdrop !== 'picture';
  };
  const languages = $('#tt-language', HTMLSelectElement);
  languages.addEventListener('change', () => {
    showLanguage();
    if (embedded) return;
    try {
      localStorage.setItem(LANGUAGE_SETTING, languages.value);
    } catch {
      // Without storage the choice still holds until the page is closed.
    }
  });
  const search = $('#tt-language-search', HTMLInputElement);
  // 'change' too: putting the panels back as first shown (embedding) sets the search empty.
  for (const type of ['input', 'change']) search.addEventListener(type, () => filterLanguages(search.value));
  search.addEventListener('keydown', (e) => {
    // Enter takes the first language listed; the down arrow goes on into the list.
    const first = [...languages.options].find((option) => !option.hidden);
    if (e.key === 'Enter' && first) {
      e.preventDefault();
      languages.value = first.value;
      languages.dispatchEvent(new Event('change'));
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      languages.focus();
    }
  });
  $('#tt-model', HTMLSelectElement).addEventListener('change', showLanguage);
  $('#rb-output', HTMLSelectElement).addEventListener('change', showBackdropControls);
  $('#rb-backdrop', HTMLSelectElement).addEventListener('change', showBackdropControls);
  $('#rb-picture', HTMLInputElement).addEventListener('change', async (e) => {
    const [file] = /** @type {HTMLInputElement} */ (e.target).files ?? [];
    backdropPicture = file ? { name: file.name, bytes: await file.arrayBuffer() } : null;
    $('#rb-picture-status').textContent = backdropPicture ? `Using ${backdropPicture.name}.` : 'No picture chosen yet.';
  });
  /**
   * @param {HTMLInputElement} input
   * @param {HTMLElement} output
   */
  const percent = (input, output) => input.addEventListener('input', () => {
    output.textContent = `${input.value}%`;
  });
  percent($('#ct-mix', HTMLInputElement), $('#ct-mix-value'));
  percent($('#ct-strength', HTMLInputElement), $('#ct-strength-value'));
  // Every change of a style setting previews it on the last photo (listened for on the panel: the
  // style buttons come with the model list); slider moves are many, and only the latest waits
  // (pendingPreview).
  const panel = $('#panel-cartoonify');
  panel.addEventListener('change', (e) => {
    const control = /** @type {HTMLInputElement} */ (e.target);
    if (control.type !== 'range' && control.id !== 'ct-own-model') requestPreview();
  });
  panel.addEventListener('input', (e) => {
    if (/** @type {HTMLInputElement} */ (e.target).type === 'range') requestPreview();
  });
  $('#ct-second', HTMLSelectElement).addEventListener('change', (e) => {
    $('#ct-mix', HTMLInputElement).disabled = /** @type {HTMLSelectElement} */ (e.target).value === '';
  });
  const usesStyles = () =>
    !ownModel && Boolean(index.models.find((m) => m.id === $('#ct-model', HTMLSelectElement).value)?.preprocess.style_weights);
  const updateStylePicker = () => {
    $('#ct-styles', HTMLFieldSetElement).disabled = !usesStyles();
    $('#ct-second', HTMLSelectElement).disabled = !usesStyles();
    $('#ct-model', HTMLSelectElement).disabled = Boolean(ownModel);
  };
  $('#ct-model', HTMLSelectElement).addEventListener('change', updateStylePicker);
  $('#ct-own-model', HTMLInputElement).addEventListener('change', async (e) => {
    const [file] = /** @type {HTMLInputElement} */ (e.target).files ?? [];
    if (!file) return;
    if (file.size > OWN_MODEL_MAX_BYTES) {
      // Said before the file is read: reading it would take the memory the refusal protects.
      $('#ct-own-model', HTMLInputElement).value = '';
      $('#ct-own-model-status').textContent = `${file.name} is ${(file.size / 1e9).toFixed(1)} GB; a model must be under ${OWN_MODEL_MAX_BYTES / 1e9} GB to run in a browser tab beside the photo. ${ownModel ? `Still using ${ownModel.name}.` : 'Still using the bundled styles.'}`;
      return;
    }
    ownModel = { name: file.name, bytes: await file.arrayBuffer() };
    $('#ct-own-model-status').textContent = `Using ${file.name} (${(file.size / 1e6).toFixed(1)} MB) as an AnimeGANv2 model. It stays on this device.`;
    $('#ct-own-model-clear').hidden = false;
    updateStylePicker();
  });
  $('#ct-own-model-clear').addEventListener('click', () => {
    ownModel = null;
    $('#ct-own-model', HTMLInputElement).value = '';
    $('#ct-own-model-status').textContent = 'Using the bundled styles.';
    $('#ct-own-model-clear').hidden = true;
    updateStylePicker();
  });
}

/**
 * Asks the service worker (service-worker-register.js registers it) to keep the page and the wasm
 * build this browser runs for offline use, and says so once they are kept. Models are kept by the
 * engine as each is first used.
 */
async function keepForOffline() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', ({ data }) => {
    const message = /** @type {OfflineMessage} */ (data);
    if (message?.type !== 'offline') return;
    const note = $('#offline');
    note.textContent = message.ready ? 'Available offline' : `Not available offline (${message.error})`;
    note.title = message.ready ? 'The page and engine are kept on this device; each model is kept once it has run.' : '';
    note.hidden = false;
  });
  const { active } = await navigator.serviceWorker.ready;
  active?.postMessage(/** @satisfies {KeepBuildMessage} */ ({ type: 'keep-build', build: buildFor(crossOriginIsolated) }));
}

// --- Embedding: index.html?embed, driven by its embedder through postMessage (protocol.js) ---

const query = new URLSearchParams(location.search);
/** Whether this page is framed as an embed (index.html?embed): one tool, compact, with an API. */
const embedded = query.has('embed');

/** Each tool's options in the embedding API (EmbedOptions), in the order they are applied. */
const EMBED_OPTIONS = {
  'remove-background': ['model', 'output', 'background', 'backdrop'],
  cartoonify: ['model', 'style', 'blendWith', 'blend', 'strength', 'detail', 'output'],
  'image-to-text': ['model', 'upsideDown', 'language'],
};
/** Every control's value in each tool's panel as the page first showed it, to start each run from. */
/** @type {Map<HTMLInputElement | HTMLSelectElement, string | boolean>} */
const shownFirst = new Map();

/** Notes each panel's controls as they are now: the defaults, and the embed URL's presets. */
function keepFirstSettings() {
  for (const control of document.querySelectorAll('.options input, .options select')) {
    if (control instanceof HTMLInputElement) shownFirst.set(control, control.type === 'checkbox' || control.type === 'radio' ? control.checked : control.value);
    else if (control instanceof HTMLSelectElement) shownFirst.set(control, control.value);
  }
}

/** Puts every panel back as `keepFirstSettings` found it. */
function restoreFirstSettings() {
  for (const [control, value] of shownFirst) {
    if (typeof value === 'boolean' && control instanceof HTMLInputElement) control.checked = value;
    else control.value = String(value);
    control.dispatchEvent(new Event('change'));
  }
}

/**
 * Sets `tool`'s panel to `options` (EmbedOptions, from a run or the embed URL), as if the person
 * had; a run queued next uses them. Returns why they cannot be used, or null.
 * @param {Tool} tool
 * @param {Record<string, unknown>} options
 * @returns {string | null}
 */
function applyOptions(tool, options) {
  const known = /** @type {string[]} */ (EMBED_OPTIONS[tool]);
  const unknown = Object.keys(options).find((key) => !known.includes(key));
  if (unknown) return `${TOOLS[tool].label} takes no option “${unknown}” (it takes ${known.join(', ')}).`;
  /**
   * @param {string} selector
   * @param {unknown} value
   * @param {string} name
   */
  const choose = (selector, value, name) => {
    const select = $(selector, HTMLSelectElement);
    const values = [...select.options].map((option) => option.value).filter(Boolean);
    if (typeof value !== 'string' || !values.includes(value)) return `${name} must be one of ${values.join(', ')}, not ${JSON.stringify(value)}.`;
    select.value = value;
    select.dispatchEvent(new Event('change'));
    return null;
  };
  /**
   * @param {unknown} value
   * @param {number} least
   * @param {number} most
   * @param {string} name
   */
  const whole = (value, least, most, name) =>
    Number.isInteger(value) && /** @type {number} */ (value) >= least && /** @type {number} */ (value) <= most
      ? null : `${name} must be a whole number from ${least} to ${most}, not ${JSON.stringify(value)}.`;
  const styles = $$('input[name=ct-style]').length;
  for (const key of known.filter((key) => key in options)) {
    const value = options[key];
    let why = null;
    if (tool === 'remove-background') {
      if (key === 'model') why = choose('#rb-model', value, 'model');
      if (key === 'output') why = choose('#rb-output', value, 'output');
      if (key === 'backdrop') why = value === 'picture' ? 'backdrop "picture" is not offered to embedding pages yet.' : choose('#rb-backdrop', value, 'backdrop');
      if (key === 'background') {
        why = typeof value === 'string' && /^#[0-9a-f]{6}$/i.test(value) ? null : `background must be a colour as #rrggbb, not ${JSON.stringify(value)}.`;
        if (!why) $('#rb-background', HTMLInputElement).value = /** @type {string} */ (value);
      }
    } else if (tool === 'cartoonify') {
      if (key === 'model') why = choose('#ct-model', value, 'model');
      if (key === 'style') {
        why = whole(value, 1, styles, 'style');
        if (!why) $(`input[name=ct-style][value="${Number(value) - 1}"]`, HTMLInputElement).checked = true;
      }
      if (key === 'blendWith') why = whole(value, 1, styles, 'blendWith') ?? choose('#ct-second', String(Number(value) - 1), 'blendWith');
      if (key === 'blend' || key === 'strength') {
        why = whole(value, 0, 100, key);
        if (!why) $(key === 'blend' ? '#ct-mix' : '#ct-strength', HTMLInputElement).value = String(value);
      }
      if (key === 'detail') {
        why = value === 'fast' || value === 'full' ? null : `detail must be fast or full, not ${JSON.stringify(value)}.`;
        if (!why) $(`input[name=ct-detail][value=${value}]`, HTMLInputElement).checked = true;
      }
      if (key === 'output') why = choose('#ct-output', value, 'output');
    } else {
      if (key === 'model') why = choose('#tt-model', value, 'model');
      if (key === 'language') {
        const known = languageModels().some((m) => m.language.code === value);
        why = known ? choose('#tt-language', value, 'language') : `language must be a language code of models/index.json (such as eng, ukr, ara), not ${JSON.stringify(value)}.`;
      }
      if (key === 'upsideDown') {
        why = typeof value === 'boolean' ? null : `upsideDown must be true or false, not ${JSON.stringify(value)}.`;
        if (!why) $('#tt-orientation', HTMLInputElement).checked = /** @type {boolean} */ (value);
      }
    }
    if (why) return why;
  }
  return null;
}

/**
 * The embed URL's options for `tool` (`?embed&tool=cartoonify&style=3`), typed as a run's are.
 * @param {Tool} tool
 */
function queryOptions(tool) {
  /** @type {Record<string, unknown>} */
  const options = {};
  for (const [key, text] of query) {
    if (key === 'embed' || key === 'tool') continue;
    const number = ['style', 'blendWith', 'blend', 'strength'].includes(key) && text.trim() !== '' ? Number(text) : NaN;
    options[key] = key === 'upsideDown' ? text !== 'false' : Number.isNaN(number) ? text : number;
  }
  return /** @type {EmbedOptions} */ (options);
}

/**
 * The origins embed.json lets embed this copy (none: any). Read once, in embed mode; a copy
 * without the file lets any origin embed it, as before the file existed.
 * @returns {Promise<string[]>}
 */
async function allowedEmbedders() {
  const response = await fetch('embed.json', { cache: 'no-cache' });
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`embed.json: HTTP ${response.status}`);
  const { allow } = /** @type {EmbedAllowList} */ (await response.json());
  if (!Array.isArray(allow) || !allow.every((origin) => typeof origin === 'string')) {
    throw new Error('embed.json: "allow" must list origins, such as "https://example.com"');
  }
  return allow;
}

/** Runs the embedder asked for and has not had an answer to: their ids, with the job each is. */
/** @type {Map<string | number, QueuedJob>} */
const embedRuns = new Map();

/**
 * Answers the embedding page's `lantern:` messages (protocol.js), only to the origin that sent each.
 * @param {MessageEvent} event
 */
function receiveEmbedMessage(event) {
  if (event.source !== window.parent || window.parent === window) return;
  const request = /** @type {Partial<EmbedRequest> | null} */ (event.data);
  if (typeof request?.type !== 'string' || !request.type.startsWith('lantern:')) return;
  const embedder = /** @type {Window} */ (event.source);
  /**
   * @param {EmbedAnswer} answer
   * @param {Transferable[]} [transfer]
   */
  const answer = (answer, transfer = []) => embedder.postMessage(answer, { targetOrigin: event.origin, transfer });
  const id = 'id' in request && (typeof request.id === 'string' || typeof request.id === 'number') ? request.id : null;
  /**
   * @param {EmbedErrorCode} code
   * @param {string} message
   */
  const refuse = (code, message) => answer({ type: 'lantern:error', id, code, message });

  if (request.type === 'lantern:hello') {
    started.then((backend) => answer({ type: 'lantern:ready', version: EMBED_API_VERSION, backend, tools: /** @type {Tool[]} */ (Object.keys(TOOLS)) }));
  } else if (request.type === 'lantern:cancel') {
    const job = id === null ? undefined : embedRuns.get(id);
    if (!job) return refuse('bad-request', `No run ${JSON.stringify(id)} is waiting or running.`);
    cancel(job);
  } else if (request.type === 'lantern:run') {
    const run = /** @type {Partial<EmbedRun>} */ (request);
    if (id === null) return refuse('bad-request', 'A run needs an id, a string or number of your choice.');
    if (embedRuns.has(id)) return refuse('bad-request', `A run ${JSON.stringify(id)} is already waiting or running.`);
    if (typeof run.tool !== 'string') return refuse('bad-request', 'A run needs a tool.');
    if (!Object.hasOwn(TOOLS, run.tool)) return refuse('unknown-tool', `There is no tool ${JSON.stringify(run.tool)}; the tools are ${Object.keys(TOOLS).join(', ')}.`);
    const tool = /** @type {Tool} */ (run.tool);
    const image = run.image;
    if (!(image instanceof ArrayBuffer || image instanceof Blob)) return refuse('bad-request', 'A run needs its image as an ArrayBuffer or a Blob.');
    const bytes = image instanceof Blob ? image.size : image.byteLength;
    if (bytes > EMBED_MAX_BYTES) return refuse('too-large', `The image file is ${(bytes / 1e6).toFixed(0)} MB; a run takes up to ${EMBED_MAX_BYTES / 1e6} MB.`);
    if (run.options !== undefined && (typeof run.options !== 'object' || run.options === null || Array.isArray(run.options))) {
      return refuse('bad-request', 'A run\'s options must be an object.');
    }
    if (embedRuns.size >= EMBED_MAX_QUEUED) return refuse('busy', `${EMBED_MAX_QUEUED} runs are already waiting; send more as these finish.`);
    // Each run starts from the panel as the page first showed it, with the embed URL's presets.
    restoreFirstSettings();
    const why = applyOptions(tool, { ...run.options });
    if (why) {
      restoreFirstSettings();
      return refuse('bad-options', why);
    }
    selectTool(tool);
    const file = image instanceof File ? image : new File([image], 'embedded image', { type: image instanceof Blob ? image.type : '' });
    const before = queue.length;
    addJob(file, tool, {
      progress: (p) => answer({ type: 'lantern:progress', id, stage: p.stage, done: p.done, total: p.total }),
      result: async (result) => {
        embedRuns.delete(id);
        /** @type {EmbedResult} */
        const message = { type: 'lantern:result', id, tool, backend: result.backend, width: result.width, height: result.height };
        if (result.image) return answer({ ...message, image: result.image }, [result.image.bytes]);
        if (!result.text) return refuse('failed', 'The engine sent no result.');
        // The embedding page gets every format at once: hOCR and the PDF are made for it here.
        const { plain, json } = result.text;
        try {
          /** @param {ExportMessage['format']} format */
          const made = async (format) => engine.exportText({ format, image: await file.arrayBuffer(), json, title: file.name });
          const [hocr, pdf] = await Promise.all([made('hocr'), made('pdf')]);
          answer({ ...message, text: { plain, json, hocr: new TextDecoder().decode(hocr), pdf } }, [pdf]);
        } catch (e) {
          refuse('failed', e instanceof Error ? e.message : String(e));
        }
      },
      error: (code, message) => {
        embedRuns.delete(id);
        refuse(code, message);
      },
    });
    // A refused file settles at once (addJob says so through `error`); a queued one is tracked.
    if (queue.length > before) embedRuns.set(id, /** @type {QueuedJob} */ (queue.at(-1)));
    pump();
  } else {
    refuse('bad-request', `Unknown message type ${JSON.stringify(request.type)}.`);
  }
}

/** Embed mode: the tool and options the URL names, a compact page, and the API. */
function startEmbedded() {
  document.body.classList.add('embed');
  const tool = query.get('tool') ?? currentTool;
  if (Object.hasOwn(TOOLS, tool)) {
    selectTool(/** @type {Tool} */ (tool));
    const why = applyOptions(/** @type {Tool} */ (tool), queryOptions(/** @type {Tool} */ (tool)));
    if (why) console.warn(`Lantern: the embed URL's options are not used: ${why}`);
  } else {
    console.warn(`Lantern: the embed URL names no tool ${JSON.stringify(tool)}; the tools are ${Object.keys(TOOLS).join(', ')}`);
  }
  keepFirstSettings();
}

wire();
keepForOffline();
const modelsLoaded = loadModels().then(() => {
  if (embedded) startEmbedded();
});
modelsLoaded.catch((e) => {
  $('#backend').textContent = `unavailable: the model list could not be loaded (${e.message})`;
});
// The embedder's messages wait for the model list (options name its models) and for embed.json.
// An allow-list that cannot be read answers no one: the self-hoster meant to limit who embeds.
const embedders = embedded ? allowedEmbedders() : Promise.resolve([]);
embedders.catch((e) => console.warn(`Lantern: answering no embedding page, as ${e.message}`));
/** Origins already told, once, that they get no answer. */
const warnedEmbedders = new Set();
window.addEventListener('message', async (event) => {
  if (!embedded) return;
  const allowed = await embedders.catch(() => null);
  await modelsLoaded;
  if (allowed === null) return;
  if (allowed.length > 0 && !allowed.includes(event.origin)) {
    if (!warnedEmbedders.has(event.origin)) {
      warnedEmbedders.add(event.origin);
      console.warn(`Lantern: ${event.origin} may not embed this page (embed.json allows ${allowed.join(', ')}); it gets no answer.`);
    }
    return;
  }
  receiveEmbedMessage(event);
});

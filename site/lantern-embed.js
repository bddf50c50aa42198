// Lantern's embedding client: one ES module, no build step. Frame Lantern in your page and run its
// tools on your images; the images go to the frame only (postMessage, on this device) and never to
// a server. Copy this file beside your page, or import it from the Lantern you frame.
//
//     import { Lantern } from './lantern-embed.js';
//     const lantern = await Lantern.embed(document.querySelector('#lantern'), { src: 'https://lantern.example/' });
//     const { image } = await lantern.removeBackground(blob, { output: 'png' }, { signal, onProgress });
//
// docs/embedding.md documents the messages underneath (protocol.js types them).

/**
 * @import { Tool, EmbedOptions, EmbedRequest, EmbedAnswer, EmbedHello, EmbedProgress, EmbedResult,
 *           EmbedErrorCode, TextJson } from './protocol.js'
 */

/**
 * The API version this client speaks.
 * @type {EmbedHello['version']}
 */
const API_VERSION = 1;

/**
 * @typedef {{ src: string, tool?: Tool, options?: EmbedOptions, timeout?: number }} EmbedSettings
 *   `src`: the Lantern to frame (its index.html or folder). `tool` and `options` are what the frame
 *   shows first (each run sets its own). `timeout`: how long to wait for the frame, in ms (60 s).
 * @typedef {{ signal?: AbortSignal, onProgress?: (progress: EmbedProgress) => void }} RunControls
 *   `signal` cancels the run; `onProgress` hears its progress, as do 'progress' events on the Lantern.
 * @typedef {{ image: Blob, width: number, height: number, backend: string }} ImageOutput
 * @typedef {{ text: string, lines: TextJson['lines'], json: string, hocr: string, pdf: Blob, width: number,
 *             height: number, backend: string }} TextOutput
 * @typedef {{ resolve: (result: EmbedResult) => void, reject: (error: LanternError) => void,
 *             onProgress?: (progress: EmbedProgress) => void }} PendingRun
 */

/** A run Lantern refused or could not finish; `code` is stable (EmbedErrorCode), or 'no-answer'. */
export class LanternError extends Error {
  /**
   * @param {EmbedErrorCode | 'no-answer'} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'LanternError';
    this.code = code;
  }
}

/** A framed Lantern. Make one with `Lantern.embed`. */
export class Lantern extends EventTarget {
  /**
   * Frames Lantern in `container` and resolves once it is ready to run.
   * @param {HTMLElement} container
   * @param {EmbedSettings} settings
   * @returns {Promise<Lantern>}
   */
  static async embed(container, { src, tool, options = {}, timeout = 60_000 }) {
    const url = new URL(src, location.href);
    url.searchParams.set('embed', '');
    if (tool) url.searchParams.set('tool', tool);
    for (const [key, value] of Object.entries(options)) url.searchParams.set(key, String(value));
    const frame = document.createElement('iframe');
    frame.src = url.href;
    frame.title = 'Lantern';
    // Lets the frame be cross-origin isolated (threads) where this page is.
    frame.allow = 'cross-origin-isolated';
    frame.style.width = '100%';
    frame.style.height = '100%';
    frame.style.border = '0';
    container.append(frame);
    const lantern = new Lantern(frame, url.origin);
    try {
      await lantern.#handshake(timeout);
    } catch (error) {
      lantern.destroy();
      throw error;
    }
    return lantern;
  }

  /** @type {HTMLIFrameElement} */
  #frame;
  /** @type {string} */
  #origin;
  /** @type {Map<number, PendingRun>} */
  #runs = new Map();
  #nextId = 1;
  /** @type {(() => void) | null} */
  #ready = null;
  /** What runs the models in the frame, as Lantern shows it ("threads: 8", "WebGPU: …"). */
  backend = '';
  /** @type {Tool[]} */
  tools = [];

  /**
   * @param {HTMLIFrameElement} frame
   * @param {string} origin
   */
  constructor(frame, origin) {
    super();
    this.#frame = frame;
    this.#origin = origin;
    window.addEventListener('message', this.#receive);
  }

  /**
   * Asks until the frame answers: its page may not listen yet when the first ask arrives.
   * @param {number} timeout
   */
  #handshake(timeout) {
    return new Promise((resolve, reject) => {
      const ask = setInterval(() => this.#post({ type: 'lantern:hello', version: API_VERSION }), 250);
      const giveUp = setTimeout(() => {
        clearInterval(ask);
        reject(new LanternError('no-answer', `Lantern at ${this.#origin} did not answer in ${timeout / 1000} s (is it allowed to be framed here?).`));
      }, timeout);
      this.#ready = () => {
        clearInterval(ask);
        clearTimeout(giveUp);
        resolve(undefined);
      };
    });
  }

  /**
   * @param {EmbedRequest} message
   * @param {Transferable[]} [transfer]
   */
  #post(message, transfer = []) {
    this.#frame.contentWindow?.postMessage(message, { targetOrigin: this.#origin, transfer });
  }

  /** @param {MessageEvent} event */
  #receive = (event) => {
    if (event.origin !== this.#origin || event.source !== this.#frame.contentWindow) return;
    const answer = /** @type {EmbedAnswer} */ (event.data);
    if (answer?.type === 'lantern:ready') {
      this.backend = answer.backend;
      this.tools = answer.tools;
      this.#ready?.();
      this.#ready = null;
      return;
    }
    // This client numbers its runs: another id is not one of its runs.
    const id = typeof answer?.id === 'number' ? answer.id : -1;
    const run = this.#runs.get(id);
    if (answer?.type === 'lantern:progress') {
      run?.onProgress?.(answer);
      this.dispatchEvent(new CustomEvent('progress', { detail: answer }));
    } else if (answer?.type === 'lantern:result' && run) {
      this.#runs.delete(id);
      run.resolve(answer);
    } else if (answer?.type === 'lantern:error') {
      if (run) {
        this.#runs.delete(id);
        run.reject(new LanternError(answer.code, answer.message));
      } else {
        console.warn(`Lantern: ${answer.code}: ${answer.message}`);
      }
    }
  };

  /**
   * Runs `tool` on `image` in the frame. An ArrayBuffer is transferred (it is empty here after).
   * @param {Tool} tool
   * @param {Blob | ArrayBuffer} image
   * @param {EmbedOptions} [options]
   * @param {RunControls} [controls]
   * @returns {Promise<EmbedResult>}
   */
  run(tool, image, options = {}, { signal, onProgress } = {}) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new LanternError('cancelled', 'Cancelled before it was sent.'));
      const id = this.#nextId++;
      this.#runs.set(id, { resolve, reject, onProgress });
      signal?.addEventListener('abort', () => this.#post({ type: 'lantern:cancel', id }), { once: true });
      this.#post({ type: 'lantern:run', id, tool, image, options }, image instanceof ArrayBuffer ? [image] : []);
    });
  }

  /**
   * @param {Blob | ArrayBuffer} image
   * @param {EmbedOptions} [options] `model`, `output`, `background`
   * @param {RunControls} [controls]
   * @returns {Promise<ImageOutput>}
   */
  async removeBackground(image, options, controls) {
    return imageOutput(await this.run('remove-background', image, options, controls));
  }

  /**
   * @param {Blob | ArrayBuffer} image
   * @param {EmbedOptions} [options] `model`, `style`, `blendWith`, `blend`, `strength`, `detail`, `output`
   * @param {RunControls} [controls]
   * @returns {Promise<ImageOutput>}
   */
  async cartoonify(image, options, controls) {
    return imageOutput(await this.run('cartoonify', image, options, controls));
  }

  /**
   * @param {Blob | ArrayBuffer} image
   * @param {EmbedOptions} [options] `model`, `upsideDown`, `language`
   * @param {RunControls} [controls]
   * @returns {Promise<TextOutput>}
   */
  async imageToText(image, options, controls) {
    const { text, width, height, backend } = await this.run('image-to-text', image, options, controls);
    if (!text) throw new LanternError('failed', 'Lantern sent no text.');
    const { lines } = /** @type {TextJson} */ (JSON.parse(text.json));
    return { text: text.plain, lines, json: text.json, hocr: text.hocr, pdf: new Blob([text.pdf], { type: 'application/pdf' }), width, height, backend };
  }

  /** Removes the frame; runs not yet answered fail with 'cancelled'. */
  destroy() {
    window.removeEventListener('message', this.#receive);
    for (const run of this.#runs.values()) run.reject(new LanternError('cancelled', 'The Lantern frame was removed.'));
    this.#runs.clear();
    this.#frame.remove();
  }
}

/** @param {EmbedResult} result @returns {ImageOutput} */
function imageOutput({ image, width, height, backend }) {
  if (!image) throw new LanternError('failed', 'Lantern sent no image.');
  return { image: new Blob([image.bytes], { type: image.mime }), width, height, backend };
}

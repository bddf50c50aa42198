// The messages between the page and the engine worker: the one place both sides read.
// The page knows jobs and images; the worker knows models and the engine.

/**
 * Page → worker.
 * @typedef {'auto' | 'cpu' | 'gpu'} BackendSetting
 *   What the person chose to run the models on: 'auto' takes WebGPU where a hardware adapter passes
 *   the self-test, else the CPU; 'cpu' never opens the GPU; 'gpu' takes any adapter, a software one
 *   (SwiftShader) included, and falls back to the CPU only where none opens.
 * @typedef {{ type: 'start', backend: BackendSetting, panics: string, cancel?: SharedArrayBuffer }} StartMessage
 *   The first message to a new worker; it loads nothing before it. `cancel`, where the page is
 *   cross-origin isolated, holds one Int32 that the page sets to the id of the job to cancel: the
 *   engine reads it after every step, so a running job stops at once and the worker, with its
 *   models, stays (a worker running the engine reads no messages until the job ends). `panics` names the
 *   BroadcastChannel on which the engine tells a panic on any of its threads (the message is the
 *   panic's text): a panic stops its thread, and on a pool thread the job waiting for it would
 *   wait forever, so the page ends the job and starts a new worker. One name per worker.
 * @typedef {'remove-background' | 'cartoonify' | 'image-to-text'} Tool
 * @typedef {{ type: 'job', id: number, tool: Tool, models: string[], image: ArrayBuffer,
 *             options: RemoveBackgroundOptions | CartoonifyOptions | ImageToTextOptions,
 *             ownModel?: ArrayBuffer, debug?: 'panic' | 'out-of-memory' }} JobMessage
 *   `image` is the file's bytes, transferred (never copied, never sent anywhere else).
 *   `models` are ids from models/index.json: one for the image tools; detection, recognition and
 *   optionally orientation for Image to text, where the recognition may be a language's Tesseract
 *   model (a LanguageModel of the index's `assets`) in place of a recognition network. `ownModel` replaces them with a network the person
 *   picked from their own disk (Cartoonify), run by `options.preset`. `debug: 'panic'` makes the
 *   engine panic once the tool is ready (on a pool thread where there is a pool), and
 *   `'out-of-memory'` makes it exhaust its memory there: tests send them to check that such a job
 *   fails alone; the page never does.
 * @typedef {{ output: 'png' | 'webp' | 'jpeg' | 'mask', background?: string, quality?: number,
 *             backdrop?: 'colour' | 'blur' | 'picture', picture?: ArrayBuffer }} RemoveBackgroundOptions
 *   `background` is a CSS hex colour: the backdrop 'colour', and what JPEG output is flattened on
 *   without a backdrop (default white); `quality` is JPEG's (default 90). `backdrop` puts the subject
 *   on a new background, opaque: `background`, the photo's own blurred, or `picture` (a file's
 *   bytes, copied); without one the background is transparent.
 * @typedef {{ first: number, second: number, mix: number, strength: number, detail: 'fast' | 'full',
 *             output: 'png' | 'webp' | 'jpeg', quality?: number, preset?: 'animegan' }} CartoonifyOptions
 *   Styles `first` and `second` (0-based) mixed by `mix` (0 is all `first`); `strength` 0..1 blends
 *   with the original; `detail` 'fast' runs once at a working size, 'full' in tiles at full size.
 * @typedef {Record<string, never>} ImageToTextOptions
 *   None: Image to text's networks are the job's `models`.
 * @typedef {{ type: 'cancel', id: number }} CancelMessage
 * @typedef {{ type: 'export', id: number, format: 'hocr' | 'pdf', image: ArrayBuffer, json: string,
 *             title: string }} ExportMessage
 *   Builds one of Image to text's downloads when the person asks for it, from the image file
 *   (transferred) and the lines read (`TextResult.json`); `title` names the image inside hOCR.
 *   Answered by an ExportedMessage, or an ErrorMessage with this `id`. Needs no model: it runs
 *   between a job's steps.
 * @typedef {StartMessage | JobMessage | CancelMessage | ExportMessage} PageMessage
 *   Every message the page sends.
 * @typedef {{ 'remove-background': RemoveBackgroundOptions, cartoonify: CartoonifyOptions,
 *             'image-to-text': ImageToTextOptions }} ToolOptions
 *   Each tool's `options`: a job's `options` are always those of its `tool`.
 */

/**
 * Worker → page.
 * @typedef {{ type: 'ready', backend: string }} ReadyMessage
 *   `backend` says what runs the models: "WebGPU: <adapter>", or the CPU as "threads: 8" or
 *   "single-thread", followed by why WebGPU is not used where it was there but failed, e.g.
 *   "threads: 8 (WebGPU failed: …)". Sent once started, and again when a failing GPU hands over
 *   to the CPU.
 * @typedef {{ type: 'failed', message: string }} FailedMessage
 *   The worker could not start at all.
 * @typedef {{ type: 'progress', id: number, stage: Stage, done: number, total: number }} ProgressMessage
 *   For 'download' done/total are bytes, for 'recognise' lines; otherwise the stage's share done.
 *   'encode' comes once (1 of 1), when the networks are done and the tool writes its files.
 * @typedef {'download' | 'prepare' | 'run' | 'detect' | 'classify' | 'recognise' | 'encode'} Stage
 * @typedef {{ type: 'result', id: number, backend: string, width: number, height: number,
 *             milliseconds: number, memory: number, warning?: string, image?: ImageResult,
 *             text?: TextResult }} ResultMessage
 *   `backend` is what ran this job, as in ReadyMessage: a job the GPU failed reran on the CPU and
 *   says so, e.g. "threads: 8 (WebGPU failed: …)". `warning` is what the person should know about
 *   an image that did decode (a JPEG cut short), for the page to show beside the result. `memory`
 *   is the engine's wasm memory in bytes after the job: it never shrinks, so it is the most that
 *   any job on this worker has needed (the page keeps it on the job's card, for the memory bench).
 * @typedef {{ mime: string, bytes: ArrayBuffer }} ImageResult
 * @typedef {{ plain: string, json: string }} TextResult
 *   The text, and as `json` the lines with polygons and confidences; hOCR and the searchable PDF
 *   are built from them when asked for (ExportMessage).
 * @typedef {{ type: 'exported', id: number, bytes: ArrayBuffer }} ExportedMessage
 * @typedef {{ width: number, height: number, text: string, lines: TextLine[] }} TextJson
 *   What `TextResult.json` parses to.
 * @typedef {{ text: string, confidence: number, polygon: [number, number][], paragraph: number }} TextLine
 *   `polygon` is the corners top-left, top-right, bottom-right, bottom-left as read, in the image's
 *   pixels; `confidence` is 0..1; the lines of one paragraph share its number.
 * @typedef {{ type: 'error', id: number, message: string, broken?: true, input?: 'unreadable' | 'too-large' }} ErrorMessage
 *   `broken`: the engine trapped (a panic, memory exhausted) and its state can no longer be trusted;
 *   the page starts a new worker before the next job. `input`: the image itself was refused, as
 *   not an image the engine reads (or damaged) or as over its size limits.
 * @typedef {{ type: 'cancelled', id: number }} CancelledMessage
 * @typedef {ReadyMessage | FailedMessage | ProgressMessage | ResultMessage | ErrorMessage
 *            | CancelledMessage | ExportedMessage} WorkerMessage
 *   Every message the worker sends.
 */

/**
 * The embedding API: a page on another origin that frames index.html?embed (docs/embedding.md;
 * lantern-embed.js is its client). Every message's `type` starts with "lantern:".
 *
 * Embedder → frame.
 * @typedef {{ type: 'lantern:hello', version: 1 }} EmbedHello
 *   Asks for `lantern:ready`; the frame answers only a page that asked, and only its origin.
 * @typedef {{ type: 'lantern:run', id: string | number, tool: Tool, image: ArrayBuffer | Blob,
 *             options?: EmbedOptions }} EmbedRun
 *   Runs `tool` on `image` (transferred, or a Blob; never sent anywhere). `id` is the embedder's,
 *   echoed in every answer about this run.
 * @typedef {{ type: 'lantern:cancel', id: string | number }} EmbedCancel
 * @typedef {EmbedHello | EmbedRun | EmbedCancel} EmbedRequest
 * @typedef {{ model?: string, output?: 'png' | 'webp' | 'jpeg' | 'mask', background?: string, backdrop?: 'colour' | 'blur',
 *             style?: number, blendWith?: number, blend?: number, strength?: number,
 *             detail?: 'fast' | 'full', upsideDown?: boolean, language?: string }} EmbedOptions
 *   The options a run (or the embed URL's query) may set; a tool reads its own and refuses the
 *   rest. Remove background: `model` (an id from models/index.json), `output`, `background` (#rrggbb,
 *   the backdrop colour and what a JPEG is flattened on), `backdrop`. Cartoonify: `style` and `blendWith` (1-based, as the picker numbers them), `blend` and
 *   `strength` (0..100), `detail`, `output` (not 'mask'). Image to text: `model` ('fast' | 'accurate'),
 *   `upsideDown` (read upside-down lines; default true), `language` (a Language code, as listed in
 *   models/index.json; default 'eng').
 *
 * Frame → embedder.
 * @typedef {{ type: 'lantern:ready', version: 1, backend: string, tools: Tool[] }} EmbedReady
 * @typedef {{ type: 'lantern:progress', id: string | number, stage: Stage, done: number, total: number }} EmbedProgress
 * @typedef {{ type: 'lantern:result', id: string | number, tool: Tool, backend: string, width: number, height: number,
 *             image?: { mime: string, bytes: ArrayBuffer },
 *             text?: { plain: string, json: string, hocr: string, pdf: ArrayBuffer } }} EmbedResult
 *   The bytes are transferred. `text.json` parses to TextJson.
 * @typedef {{ type: 'lantern:error', id: string | number | null, code: EmbedErrorCode, message: string }} EmbedError
 *   `message` is worded for a person; `code` is stable. `id` is null where the request had none.
 * @typedef {'bad-request' | 'unknown-tool' | 'bad-options' | 'not-an-image' | 'too-large' | 'busy'
 *            | 'cancelled' | 'failed'} EmbedErrorCode
 *   'bad-request': a field missing or of the wrong type; 'unknown-tool'; 'bad-options': an option
 *   the tool does not take or a value out of range; 'not-an-image': not an image the engine reads,
 *   or damaged; 'too-large': over EMBED_MAX_BYTES or the engine's size limits; 'busy': more than
 *   EMBED_MAX_QUEUED runs waiting; 'cancelled'; 'failed': the engine could not finish it.
 * @typedef {EmbedReady | EmbedProgress | EmbedResult | EmbedError} EmbedAnswer
 */

/**
 * embed.json, beside index.html: the origins that may embed this copy of Lantern, as
 * "https://example.com"; none listed, any may. lantern-serve sends them as the CSP's
 * `frame-ancestors`, and server-headers/README.md shows each host config doing the same.
 * @typedef {{ allow: string[] }} EmbedAllowList
 */

/** The embedding API's version, in `lantern:hello` and `lantern:ready`. */
export const EMBED_API_VERSION = 1;
/** The largest image file a run takes: 40 megapixels as an uncompressed TIFF is 160 MB. */
export const EMBED_MAX_BYTES = 200e6;
/** The most runs waiting at once; one more is answered 'busy' and the rest still run. */
export const EMBED_MAX_QUEUED = 16;

/**
 * Page → service worker (service-worker.js), once it is active.
 * @typedef {{ type: 'keep-build', build: string }} KeepBuildMessage
 *   Keep the page's files and those of this wasm build (a folder under wasm/, builds.js) for offline use.
 *
 * Service worker → page.
 * @typedef {{ type: 'offline', ready: boolean, error?: string }} OfflineMessage
 *   Whether the page and its build are all kept, so the page works with the network off.
 *
 * offline.json, written by `just build` (site/build/offline-list.js) for the service worker: the
 * page's files, and each wasm build's files (a browser loads only one build).
 * @typedef {{ version: string, shell: string[], builds: Record<string, string[]> }} OfflineList
 */

/**
 * models/index.json (models/src/publish.rs), which both sides read: the page to offer the models,
 * the worker to fetch and verify them.
 * @typedef {{ models: IndexModel[], assets: IndexFile[] }} ModelIndex
 * @typedef {{ id: string, file: string, sha256: string, size: number, language?: Language }} IndexFile
 * @typedef {IndexFile & { tool: Tool, title: string, default: boolean,
 *             role?: 'detect' | 'recognise' | 'orientation', dictionary?: string, styles?: string[],
 *             languages?: string[], preprocess: { style_weights?: number } }} IndexModel
 *   `styles` names a multi-style network's styles, in the order of its `style_weights`.
 *   `languages`: the Language codes a recognition network reads whole; the page reads those with
 *   it rather than with their Tesseract models.
 * @typedef {{ code: string, english: string, native: string }} Language
 *   `code` is Tesseract's (`ukr`, `chi_sim`); `native` is the language's name in itself.
 * @typedef {IndexFile & { language: Language }} LanguageModel
 *   A Tesseract `.traineddata` line recogniser: an asset that reads one language's lines.
 *   `preprocess` holds more than this; these are the fields the page reads.
 */

export const STAGES = /** @type {const} */ ({
  download: 'Downloading model',
  prepare: 'Preparing',
  run: 'Running the network',
  detect: 'Finding text',
  classify: 'Checking orientation',
  recognise: 'Reading lines',
  encode: 'Saving',
});

export const OUTPUT_TYPES = /** @type {const} */ ({
  png: 'image/png',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  mask: 'image/png',
});

/**
 * What a job that the engine failed on says, and the page after a panic: `why` is the panic's
 * message and place, or the trap's own words.
 * @param {string} why
 */
export const engineFailure = (why) => `Something went wrong inside the engine (${why}). It has been restarted; other images are not affected.`;

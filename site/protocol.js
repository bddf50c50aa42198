// The messages between the page and the engine worker: the one place both sides read.
// The page knows jobs and images; the worker knows models and the engine.

/**
 * Page → worker.
 * @typedef {{ type: 'job', id: number, tool: 'remove-background', model: string,
 *             image: ArrayBuffer, options: RemoveBackgroundOptions }} JobMessage
 *   `image` is the file's bytes, transferred (never copied, never sent anywhere else).
 * @typedef {{ output: 'png' | 'webp' | 'jpeg' | 'mask', background?: string, quality?: number }} RemoveBackgroundOptions
 *   `background` is a CSS hex colour for JPEG output.
 * @typedef {{ type: 'cancel', id: number }} CancelMessage
 */

/**
 * Worker → page.
 * @typedef {{ type: 'ready', backend: string }} ReadyMessage
 *   `backend` says what runs the models, e.g. "threads: 8" or "single-thread".
 * @typedef {{ type: 'failed', message: string }} FailedMessage
 *   The worker could not start at all.
 * @typedef {{ type: 'progress', id: number, stage: Stage, done: number, total: number }} ProgressMessage
 *   For 'download' done/total are bytes; for 'run' they are network steps.
 * @typedef {'download' | 'prepare' | 'run' | 'encode'} Stage
 * @typedef {{ type: 'result', id: number, backend: string, mime: string, bytes: ArrayBuffer,
 *             width: number, height: number, milliseconds: number }} ResultMessage
 * @typedef {{ type: 'error', id: number, message: string }} ErrorMessage
 * @typedef {{ type: 'cancelled', id: number }} CancelledMessage
 */

export const STAGES = /** @type {const} */ ({
  download: 'Downloading model',
  prepare: 'Preparing',
  run: 'Running the network',
  encode: 'Saving',
});

export const OUTPUT_TYPES = /** @type {const} */ ({
  png: 'image/png',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  mask: 'image/png',
});

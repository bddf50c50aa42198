// Loads one wasm build and reads lines with its LineReader on request: the model and the line PNGs
// come from the cache (mounted at /cache), where the native side rendered them.

import { answerRequests, fetchBytes, loadBuild } from './worker-requests.js';

const engine = loadBuild(import.meta.url);

const plain = ({ text, confidence, inverted }) => ({ text, confidence, inverted });

async function environment() {
  const wasm = await engine;
  return { backend: wasm.backend(), crossOriginIsolated: self.crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency };
}

/** Each line read from its PNG file, one at a time, as Tesseract's CLI reads it. */
async function readLines({ model, pngs }) {
  const wasm = await engine;
  const reader = new wasm.LineReader(await fetchBytes(model));
  try {
    const files = await Promise.all(pngs.map(fetchBytes));
    return { inputHeight: reader.inputHeight, lines: files.map((file) => plain(reader.readImage(file))) };
  } finally {
    reader.free();
  }
}

/**
 * The same lines read the other ways: all at once (on the pool in the threaded build), and from
 * grey pixels decoded in the page (each PNG drawn to a canvas: the files are grey, so red is grey).
 */
async function readOther({ model, pngs }) {
  const wasm = await engine;
  const reader = new wasm.LineReader(await fetchBytes(model));
  try {
    const files = await Promise.all(pngs.map(fetchBytes));
    const together = reader.readImages(files).map(plain);
    const fromPixels = [];
    for (const file of files) {
      const bitmap = await createImageBitmap(new Blob([file], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const context = canvas.getContext('2d');
      context.drawImage(bitmap, 0, 0);
      const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
      const grey = new Uint8Array(bitmap.width * bitmap.height).map((_, i) => rgba[4 * i]);
      fromPixels.push(plain(reader.readGrey(bitmap.width, bitmap.height, grey)));
    }
    return { together, fromPixels };
  } finally {
    reader.free();
  }
}

/** What each mistake says: not a model, pixels that do not fill the line, not an image, a misspelt option. */
async function refusals({ model }) {
  const wasm = await engine;
  const said = (call) => {
    try {
      call();
      return null;
    } catch (error) {
      return `${error.name}: ${error.message}`;
    }
  };
  const reader = new wasm.LineReader(await fetchBytes(model));
  try {
    return {
      notAModel: said(() => new wasm.LineReader(new TextEncoder().encode('not a traineddata file'))),
      shortPixels: said(() => reader.readGrey(10, 4, new Uint8Array(30))),
      notAnImage: said(() => reader.readImage(new Uint8Array([1, 2, 3]))),
      misspeltOption: said(() => reader.readGrey(10, 4, new Uint8Array(40), { fitMargins: true })),
    };
  } finally {
    reader.free();
  }
}

answerRequests({ environment, readLines, readOther, refusals });

// Loads one wasm build, then runs parity cases on request: the model and onnxruntime's inputs and
// outputs come from the cache that `just references` writes, mounted at /cache.

import { unzipSync } from '/node_modules/fflate/esm/browser.js';
import { parse as parseNpy } from '/node_modules/npyjs/dist/index.js';

const build = new URL(import.meta.url).searchParams.get('build');

const engine = (async () => {
  const wasm = await import(`/wasm/${build}/lantern_wasm.js`);
  await wasm.default();
  if (build.startsWith('threads')) await wasm.initThreadPool(navigator.hardwareConcurrency);
  return wasm;
})();

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

async function fetchBytes(url) {
  return new Uint8Array(await (await fetchOk(url)).arrayBuffer());
}

/** The arrays of an .npz (a zip of .npy files) by name, without the .npy suffix. */
function readNpz(bytes) {
  const arrays = new Map();
  for (const [file, content] of Object.entries(unzipSync(bytes))) {
    const buffer = content.buffer.slice(content.byteOffset, content.byteOffset + content.byteLength);
    const { data, shape } = parseNpy(buffer);
    arrays.set(file.replace(/\.npy$/, ''), { data, shape });
  }
  return arrays;
}

function maxAbsError(got, want) {
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst;
}

async function runCase({ name }) {
  const cases = await (await fetchOk('/cache/references/references.json')).json();
  const spec = cases.find((c) => c.case === name);
  if (!spec) throw new Error(`case '${name}' is not in references.json`);
  const [model, npz] = await Promise.all([
    fetchBytes(`/cache/models/${spec.model}.onnx`),
    fetchBytes(`/cache/references/${name}.npz`),
  ]);
  const arrays = readNpz(npz);
  const array = (key) => {
    if (!arrays.has(key)) throw new Error(`${key} is missing from ${name}.npz`);
    return arrays.get(key);
  };
  const inputs = spec.inputs.map((input) => array(`in.${input}`));
  const wasm = await engine;
  const runner = new wasm.ModelRunner(model);
  try {
    let started = performance.now();
    runner.plan(spec.inputs, inputs.map((a) => a.shape), spec.outputs);
    const planMs = performance.now() - started;
    started = performance.now();
    const outputs = runner.run(spec.inputs, inputs.map((a) => Float32Array.from(a.data)));
    const runMs = performance.now() - started;
    const compared = outputs.map(({ name: output, shape, data }) => {
      const want = array(`out.${output}`);
      if (shape.join() !== want.shape.join()) {
        throw new Error(`output ${output} has shape [${shape}], onnxruntime's is [${want.shape}]`);
      }
      return { name: output, maxAbsError: maxAbsError(data, want.data) };
    });
    return { backend: wasm.backend(), planMs, runMs, outputs: compared };
  } finally {
    runner.free();
  }
}

/** Plans a model for the given shapes and names its inputs and outputs; for checking errors. */
async function plan({ model, shapes }) {
  const wasm = await engine;
  const runner = new wasm.ModelRunner(await fetchBytes(`/cache/models/${model}.onnx`));
  try {
    runner.plan(runner.inputNames, shapes);
    return { inputNames: runner.inputNames, outputNames: runner.outputNames };
  } finally {
    runner.free();
  }
}

async function environment() {
  const wasm = await engine;
  return {
    backend: wasm.backend(),
    crossOriginIsolated: self.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
  };
}

const handlers = { environment, plan, runCase };

self.onmessage = async ({ data: { id, kind, args } }) => {
  try {
    self.postMessage({ id, result: await handlers[kind](args) });
  } catch (error) {
    self.postMessage({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
};

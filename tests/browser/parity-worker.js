// Loads one wasm build, then runs parity cases on request: the model and onnxruntime's inputs and
// outputs come from the cache that `just references` writes, mounted at /cache. With a GPU open,
// it also runs a case's network on the GPU and the CPU side by side, at a smaller input.

import { unzipSync } from '/node_modules/fflate/esm/browser.js';
import { parse as parseNpy } from '/node_modules/npyjs/dist/index.js';
import { answerRequests, fetchBytes, fetchOk, loadBuild } from './worker-requests.js';

const engine = loadBuild(import.meta.url);

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

/** A case's spec from references.json, its model's bytes and its arrays by name. */
async function loadCase(name) {
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
  return { spec, model, array };
}

async function runCase({ name }) {
  const { spec, model, array } = await loadCase(name);
  const inputs = spec.inputs.map((input) => array(`in.${input}`));
  const wasm = await engine;
  const runner = new wasm.ModelRunner(model, { backend: 'cpu' });
  try {
    let started = performance.now();
    runner.plan(spec.inputs, inputs.map((a) => a.shape), spec.outputs);
    const planMs = performance.now() - started;
    started = performance.now();
    const outputs = await runner.run(spec.inputs, inputs.map((a) => Float32Array.from(a.data)));
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
  const runner = new wasm.ModelRunner(await fetchBytes(`/cache/models/${model}.onnx`), { backend: 'cpu' });
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

/**
 * Opens the GPU as the site's "GPU" setting does (software adapters allowed, after the engine's
 * self-test), and says which adapter the browser gave: wgpu's name for it, and the browser's own
 * adapter info, which names SwiftShader even where the description is hidden.
 */
async function openGpu() {
  const wasm = await engine;
  const opened = await wasm.openGpu({ allowSoftware: true });
  const adapter = opened.adapter;
  opened.free();
  const { vendor, architecture, description, isFallbackAdapter } = (await navigator.gpu.requestAdapter()).info;
  return { adapter, info: { vendor, architecture, description, isFallbackAdapter } };
}

/**
 * A case's network on the GPU and on the CPU, on the top-left corner of onnxruntime's input cut to
 * `shape` (SwiftShader runs a full-size u2netp for minutes): the largest difference per output.
 * `resizeInput` first declares the network's input at `shape`, for networks declared at one size.
 */
async function runGpuCase({ name, shape, resizeInput }) {
  const { spec, model, array } = await loadCase(name);
  if (spec.inputs.length !== 1) throw new Error(`${name} has ${spec.inputs.length} inputs; the GPU cases take one`);
  const [input] = spec.inputs;
  const data = cropped(array(`in.${input}`), shape);
  const bytes = resizeInput ? withInputShape(model, input, shape) : model;
  const wasm = await engine;
  const results = {};
  for (const backend of ['cpu', 'gpu']) {
    const runner = new wasm.ModelRunner(bytes, { backend });
    try {
      runner.plan([input], [shape], spec.outputs);
      const started = performance.now();
      const outputs = await runner.run([input], [data]);
      results[backend] = { ms: performance.now() - started, outputs };
    } finally {
      runner.free();
    }
  }
  const outputs = results.gpu.outputs.map((gpu, i) => {
    const cpu = results.cpu.outputs[i];
    if (gpu.shape.join() !== cpu.shape.join()) throw new Error(`output ${gpu.name}: GPU [${gpu.shape}], CPU [${cpu.shape}]`);
    return { name: gpu.name, shape: gpu.shape, maxAbsError: maxAbsError(gpu.data, cpu.data) };
  });
  return { cpuMs: results.cpu.ms, gpuMs: results.gpu.ms, outputs };
}

/** The leading corner of an array of shape `from.shape`, cut to `shape` (same rank, no larger). */
function cropped(from, shape) {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const strides = from.shape.map((_, axis) => from.shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  out.forEach((_, i) => {
    let rest = i;
    let source = 0;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      source += (rest % shape[axis]) * strides[axis];
      rest = Math.floor(rest / shape[axis]);
    }
    out[i] = from.data[source];
  });
  return out;
}

// A minimal protobuf rewriter: enough to change the declared shape of one graph input of an ONNX
// model (ModelProto.graph 7 → GraphProto.input 11 → ValueInfoProto.type 2 → TypeProto.tensor_type 1
// → shape 2 → dim 1 → dim_value 1). u2netp declares its input 320×320 though every op in it takes
// any size that halves five times.

function readVarint(bytes, at) {
  let value = 0;
  let scale = 1;
  let byte;
  do {
    byte = bytes[at++];
    value += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte & 0x80);
  return [value, at];
}

function varint(value) {
  const out = [];
  while (value >= 0x80) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** A message's fields in order, each with its raw bytes and, if length-delimited, its contents. */
function fields(bytes) {
  const out = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    let key;
    [key, at] = readVarint(bytes, at);
    const wire = key % 8;
    let contents = null;
    if (wire === 0) [, at] = readVarint(bytes, at);
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      let length;
      [length, at] = readVarint(bytes, at);
      contents = bytes.subarray(at, at + length);
      at += length;
    } else throw new Error(`protobuf wire type ${wire} is not read here`);
    out.push({ field: Math.floor(key / 8), contents, raw: bytes.subarray(start, at) });
  }
  return out;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function lengthDelimited(field, contents) {
  return concat([Uint8Array.from([...varint(field * 8 + 2), ...varint(contents.length)]), contents]);
}

/** `bytes` with every length-delimited field numbered `field` replaced by `edit(contents)`. */
function editField(bytes, field, edit) {
  return concat(fields(bytes).map((f) => (f.field === field && f.contents ? lengthDelimited(field, edit(f.contents)) : f.raw)));
}

function withInputShape(model, name, shape) {
  const dims = concat(shape.map((d) => lengthDelimited(1, Uint8Array.from([0x08, ...varint(d)]))));
  return editField(model, 7, (graph) =>
    editField(graph, 11, (input) => {
      const inputName = new TextDecoder().decode(fields(input).find((f) => f.field === 1).contents);
      if (inputName !== name) return input;
      return editField(input, 2, (type) => editField(type, 1, (tensor) => editField(tensor, 2, () => dims)));
    }));
}

answerRequests({ environment, plan, runCase, openGpu, runGpuCase });

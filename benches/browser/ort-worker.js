// onnxruntime-web in a module worker, like Lantern: ?backend=wasm or ?backend=webgpu, and
// ?threads=N for its wasm thread pool (onnxruntime-web's default without it).

import { benchInput } from './cases.js';
import { modelBytes, serve, timed } from './worker-common.js';

const params = new URL(import.meta.url).searchParams;
const backend = params.get('backend');
const threads = params.has('threads') ? Number(params.get('threads')) : undefined;

// onnxruntime-web does not hand out its wasm Memory: record every Memory created in this worker.
const memories = [];
WebAssembly.Memory = class TrackedMemory extends WebAssembly.Memory {
  constructor(descriptor) {
    super(descriptor);
    memories.push(this);
  }
};

let ort;
let session;
let feeds;
let fetches;
let lastOutputs;

async function start() {
  const module = await timed(async () => {
    ort = await import(backend === 'webgpu' ? '/ort/ort.webgpu.min.mjs' : '/ort/ort.wasm.min.mjs');
  });
  ort.env.logLevel = 'error';
  if (threads !== undefined) ort.env.wasm.numThreads = threads;
  return { phases: { moduleMs: module.ms } };
}

async function load({ model, inputs: specs, outputs }) {
  const bytes = await timed(() => modelBytes(model));
  feeds = Object.fromEntries(specs.map((input) => [input.name, new ort.Tensor('float32', benchInput(input.name, input.shape), input.shape)]));
  fetches = outputs;
  // The first session also compiles the wasm module and starts its thread pool.
  const created = await timed(() =>
    ort.InferenceSession.create(bytes.result.bytes, { executionProviders: [backend], graphOptimizationLevel: 'all' }),
  );
  session = created.result;
  return {
    // The thread count is settled once the first session has started the runtime.
    backend: `onnxruntime-web ${ort.env.versions.web} ${backend}, ${ort.env.wasm.numThreads} thread(s)`,
    cached: bytes.result.cached,
    phases: { modelBytesMs: bytes.ms, sessionMs: created.ms },
  };
}

async function run() {
  const { ms, result } = await timed(() => session.run(feeds, fetches));
  lastOutputs = fetches.map((name) => ({ name, shape: result[name].dims, data: result[name].data }));
  return { ms };
}

function memory() {
  return { wasmMemoryBytes: Math.max(0, ...memories.map((m) => m.buffer.byteLength)) };
}

serve({ start, load, run, outputs: () => lastOutputs, memory });

// One Lantern wasm build (?build=threads or ?build=single) in a module worker: the threaded build's
// pool blocks on atomics, which the page's own thread may not do.

import { benchInput } from './cases.js';
import { modelBytes, serve, timed } from './worker-common.js';

const build = new URL(import.meta.url).searchParams.get('build');

let wasm;
let instance;
let runner;
let inputNames;
let inputs;
let lastOutputs;

async function start() {
  const module = await timed(async () => {
    wasm = await import(`/wasm/${build}/lantern_wasm.js`);
    instance = await wasm.default();
  });
  const pool = await timed(() => (build === 'threads' ? wasm.initThreadPool(navigator.hardwareConcurrency) : undefined));
  return { backend: wasm.backend(), phases: { moduleMs: module.ms, poolMs: pool.ms } };
}

async function load({ model, inputs: specs, outputs }) {
  const bytes = await timed(() => modelBytes(model));
  inputNames = specs.map((input) => input.name);
  inputs = specs.map((input) => benchInput(input.name, input.shape));
  const session = await timed(() => {
    runner = new wasm.ModelRunner(bytes.result.bytes);
    runner.plan(inputNames, specs.map((input) => input.shape), outputs);
  });
  return { cached: bytes.result.cached, phases: { modelBytesMs: bytes.ms, sessionMs: session.ms } };
}

async function run() {
  const { ms, result } = await timed(() => runner.run(inputNames, inputs));
  lastOutputs = result;
  return { ms };
}

/** The wasm Memory's size: it never shrinks, so after the runs it is the peak. */
function memory() {
  return { wasmMemoryBytes: instance.memory.buffer.byteLength };
}

serve({ start, load, run, outputs: () => lastOutputs, memory });

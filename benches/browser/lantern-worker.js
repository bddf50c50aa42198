// One Lantern wasm build in a module worker (the threaded build's pool blocks on atomics, which the
// page's own thread may not do): ?build=threads or single, and the relaxed SIMD variant where the
// browser runs it, as the site picks, unless ?simd=baseline.

import { buildFor } from '/wasm/builds.js';

import { benchInput } from './cases.js';
import { modelBytes, serve, timed } from './worker-common.js';

const params = new URL(import.meta.url).searchParams;
const threaded = params.get('build') === 'threads';
const build = params.get('simd') === 'baseline' ? buildFor(threaded, false) : buildFor(threaded);

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
  const pool = await timed(() => (threaded ? wasm.initThreadPool(navigator.hardwareConcurrency) : undefined));
  return { backend: wasm.backend(), phases: { moduleMs: module.ms, poolMs: pool.ms } };
}

async function load({ model, inputs: specs, outputs }) {
  const bytes = await timed(() => modelBytes(model));
  inputNames = specs.map((input) => input.name);
  inputs = specs.map((input) => benchInput(input.name, input.shape));
  const session = await timed(() => {
    runner = new wasm.ModelRunner(bytes.result.bytes, { backend: 'cpu' });
    runner.plan(inputNames, specs.map((input) => input.shape), outputs);
  });
  return { cached: bytes.result.cached, phases: { modelBytesMs: bytes.ms, sessionMs: session.ms } };
}

async function run() {
  const { ms, result } = await timed(() => runner.run(inputNames, inputs));
  lastOutputs = result;
  return { ms };
}

/**
 * One more run, timed step by step: milliseconds per op kind, largest first. Where the time goes,
 * not a timing to compare (the callbacks cost a little).
 */
async function profile() {
  const ops = runner.stepOps;
  const totals = new Map();
  let last = performance.now();
  await runner.run(inputNames, inputs, (done) => {
    const now = performance.now();
    totals.set(ops[done - 1], (totals.get(ops[done - 1]) ?? 0) + now - last);
    last = now;
    return true;
  });
  return [...totals].map(([op, ms]) => ({ op, ms })).sort((a, b) => b.ms - a.ms);
}

/** The wasm Memory's size: it never shrinks, so after the runs it is the peak. */
function memory() {
  return { wasmMemoryBytes: instance.memory.buffer.byteLength };
}

serve({ start, load, run, outputs: () => lastOutputs, memory, profile });

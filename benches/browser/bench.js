// The benchmark page: every engine runs in its own module worker, and the page alternates runs
// between them. Driven by run.js through window.bench; with ?cold=SIDE&model=ID&limit=MS it instead
// measures one cold start, from page load to the first result, into window.coldStart.

import { CASES } from './cases.js';

const threads = navigator.hardwareConcurrency;
const params = new URLSearchParams(location.search);
const simd = params.get('simd') ?? 'auto';

/** Each engine configuration the bench can run, by name: its worker's URL. */
const SIDES = {
  'lantern-threads': `lantern-worker.js?build=threads&simd=${simd}`,
  'lantern-single': `lantern-worker.js?build=single&simd=${simd}`,
  'ort-wasm-threads': `ort-worker.js?backend=wasm&threads=${threads}`,
  'ort-wasm-single': 'ort-worker.js?backend=wasm&threads=1',
  // onnxruntime-web's own default thread count: WebGPU does not run its kernels on them.
  'ort-webgpu': 'ort-worker.js?backend=webgpu',
};

/** A request that ran past the time limit; its worker is terminated. */
class TimedOut extends Error {}

class EngineWorker {
  constructor(side) {
    if (!SIDES[side]) throw new Error(`unknown side '${side}'`);
    this.side = side;
    this.pending = new Map();
    this.nextId = 0;
    this.worker = new Worker(SIDES[side], { type: 'module' });
    this.worker.onmessage = ({ data: { id, result, error } }) => {
      const { resolve, reject } = this.pending.get(id);
      this.pending.delete(id);
      if (error === undefined) resolve(result);
      else reject(new Error(`${side}: ${error}`));
    };
    // A worker that fails to load or throws outside a request fails every request in flight.
    this.worker.onerror = (event) => {
      const error = new Error(`${side} worker failed: ${event.message ?? 'the module did not load'}`);
      for (const { reject } of this.pending.values()) reject(error);
      this.pending.clear();
    };
  }

  /** Resolves with the worker's answer; past `limitMs` the worker is terminated instead. */
  request(kind, args, limitMs = Infinity) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = Number.isFinite(limitMs)
        ? setTimeout(() => {
            this.pending.delete(id);
            this.terminate();
            reject(new TimedOut(`${this.side}: ${kind} ran past ${limitMs / 1000} s`));
          }, limitMs)
        : undefined;
      const settle = (settler) => (value) => {
        clearTimeout(timer);
        settler(value);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.worker.postMessage({ id, kind, args });
    });
  }

  terminate() {
    this.worker.terminate();
  }
}

function caseOf(model) {
  const spec = CASES.find((c) => c.model === model);
  if (!spec) throw new Error(`no bench case for model '${model}'`);
  return spec;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The largest |value| over all outputs: the scale a difference is read against. */
function maxAbs(outputs) {
  let largest = 0;
  for (const { data } of outputs) for (const value of data) largest = Math.max(largest, Math.abs(value));
  return largest;
}

/** The largest |a - b| over all outputs; NaN if either side produced one. */
function maxAbsDiff(a, b) {
  let worst = 0;
  for (const output of a) {
    const other = b.find((o) => o.name === output.name);
    if (!other) throw new Error(`output ${output.name} is missing from one side`);
    if (output.shape.join() !== other.shape.join()) {
      throw new Error(`output ${output.name} has shapes [${output.shape}] and [${other.shape}]`);
    }
    for (let i = 0; i < output.data.length; i++) {
      const diff = Math.abs(output.data[i] - other.data[i]);
      if (Number.isNaN(diff)) return NaN;
      if (diff > worst) worst = diff;
    }
  }
  return worst;
}

/** The first Lantern output per model: what a side measured alone is compared with. */
const referenceOutputs = new Map();

/**
 * Loads each side in its own worker, warms each up, then times `runs` rounds that alternate
 * between the sides (ABBA, so drift in the machine's load falls on both alike). A side whose
 * load or run takes longer than `limitMs` is stopped and reported as over the limit.
 */
async function compare({ model, sides, warmup, runs, gapMs, limitMs }) {
  const spec = caseOf(model);
  const states = sides.map((side) => ({ side, worker: new EngineWorker(side), times: [], overLimit: null }));
  const live = () => states.filter((state) => state.overLimit === null);
  /** One request to one side; a time-out stops that side and answers undefined. */
  async function ask(state, kind, args) {
    try {
      return await state.worker.request(kind, args, limitMs);
    } catch (error) {
      if (!(error instanceof TimedOut)) throw error;
      state.overLimit = `${kind} over ${limitMs / 1000} s`;
      return undefined;
    }
  }
  try {
    for (const state of states) {
      const started = await ask(state, 'start');
      const loaded = started && (await ask(state, 'load', spec));
      if (loaded) Object.assign(state, { backend: loaded.backend ?? started.backend, phases: { ...started.phases, ...loaded.phases } });
    }
    for (let i = 0; i < warmup; i++) {
      for (const state of live()) {
        await ask(state, 'run');
        await pause(gapMs);
      }
    }
    for (let round = 0; round < runs; round++) {
      const order = round % 2 === 0 ? live() : live().reverse();
      for (const state of order) {
        const run = await ask(state, 'run');
        if (run) state.times.push(run.ms);
        // Lets the side that just ran park its pool threads before the other side starts.
        await pause(gapMs);
      }
    }
    for (const state of live()) {
      state.outputs = await ask(state, 'outputs');
      state.wasmMemoryBytes = (await ask(state, 'memory'))?.wasmMemoryBytes;
      if (state.side.startsWith('lantern')) state.profile = await ask(state, 'profile');
    }
    const [first, last] = [states[0], states[states.length - 1]];
    if (first.side.startsWith('lantern') && first.outputs && !referenceOutputs.has(model)) referenceOutputs.set(model, first.outputs);
    const reference = states.length > 1 ? first.outputs : referenceOutputs.get(model);
    const compared = reference && last.outputs && reference !== last.outputs;
    return {
      sides: states.map(({ side, backend, phases, times, wasmMemoryBytes, overLimit, profile }) => ({ side, backend, phases, times, wasmMemoryBytes, overLimit, profile })),
      maxAbsDiff: compared ? maxAbsDiff(reference, last.outputs) : null,
      referenceMaxAbs: compared ? maxAbs(reference) : null,
    };
  } finally {
    for (const state of states) state.worker.terminate();
  }
}

async function environment() {
  const adapter = await navigator.gpu?.requestAdapter();
  return {
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated: self.crossOriginIsolated,
    webgpu: adapter
      ? { vendor: adapter.info.vendor, architecture: adapter.info.architecture, description: adapter.info.description, fallback: adapter.info.isFallbackAdapter }
      : null,
  };
}

/** Page load to first result for one side: module, pool, model bytes, session and first run. */
async function coldStart(side, model, limitMs) {
  const worker = new EngineWorker(side);
  try {
    const started = await worker.request('start', undefined, limitMs);
    const loaded = await worker.request('load', caseOf(model), limitMs);
    const firstRun = await worker.request('run', undefined, limitMs);
    return {
      // performance.now() counts from the navigation's start.
      totalMs: performance.now(),
      modelCached: loaded.cached,
      phases: { ...started.phases, ...loaded.phases, firstRunMs: firstRun.ms },
    };
  } finally {
    worker.terminate();
  }
}

if (params.has('cold')) {
  coldStart(params.get('cold'), params.get('model'), Number(params.get('limit'))).then(
    (result) => (window.coldStart = result),
    (error) => (window.coldStart = { error: error.message }),
  );
}

window.bench = { compare, environment };

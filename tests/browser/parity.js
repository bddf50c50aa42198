// Runs one engine build (?build=threads or ?build=single) in a module worker: the threaded
// build's pool blocks on atomics, which the page's own thread may not do.

const build = new URLSearchParams(location.search).get('build');
const worker = new Worker(`parity-worker.js?build=${build}`, { type: 'module' });
const pending = new Map();
let nextId = 0;

worker.onmessage = ({ data: { id, result, error } }) => {
  const { resolve, reject } = pending.get(id);
  pending.delete(id);
  if (error === undefined) resolve(result);
  else reject(new Error(error));
};

// A worker that fails to load or throws outside a request fails every request in flight.
worker.onerror = (event) => {
  const error = new Error(`parity worker failed: ${event.message ?? 'the module did not load'}`);
  for (const { reject } of pending.values()) reject(error);
  pending.clear();
};

function request(kind, args) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, kind, args });
  });
}

window.parity = {
  build,
  crossOriginIsolated: self.crossOriginIsolated,
  environment: () => request('environment'),
  plan: (model, shapes) => request('plan', { model, shapes }),
  runCase: (name) => request('runCase', { name }),
  openGpu: () => request('openGpu'),
  runGpuCase: (args) => request('runGpuCase', args),
};

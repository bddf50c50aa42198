// The Tesseract line benchmark's page: one module worker per build (threads, single), each
// answering requests in turn. Driven by tesseract.js through window.lines.

const workers = {};

/** Resolves with `kind(args)` as the `build` worker answers it. */
function request(build, kind, args) {
  workers[build] ??= startWorker(build);
  const { worker, pending } = workers[build];
  return new Promise((resolve, reject) => {
    const id = workers[build].nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, kind, args });
  });
}

function startWorker(build) {
  const worker = new Worker(`tesseract-worker.js?build=${build}`, { type: 'module' });
  const pending = new Map();
  worker.onmessage = ({ data: { id, result, error } }) => {
    const { resolve, reject } = pending.get(id);
    pending.delete(id);
    if (error === undefined) resolve(result);
    else reject(new Error(`${build}: ${error}`));
  };
  worker.onerror = (event) => {
    const error = new Error(`${build} worker failed: ${event.message ?? 'the module did not load'}`);
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  return { worker, pending, nextId: 0 };
}

window.lines = { request, crossOriginIsolated: self.crossOriginIsolated };

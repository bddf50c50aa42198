// The two ends of a test page's calls into its module worker, where one wasm build of the engine
// runs: the threaded builds' pool blocks on atomics, which the page's own thread may not do. Each
// request is { id, kind, args }, each answer { id, result } or { id, error }.

/**
 * Page side: a `request(kind, args)` that resolves with the worker's result. A worker that fails to
 * load, or throws outside a request, fails every request in flight.
 * @param {string} url the worker module, with its `?build=`
 * @param {string} name what the errors call the worker
 */
export function workerRequests(url, name) {
  const worker = new Worker(url, { type: 'module' });
  const pending = new Map();
  let nextId = 0;
  worker.onmessage = ({ data: { id, result, error } }) => {
    const { resolve, reject } = pending.get(id);
    pending.delete(id);
    if (error === undefined) resolve(result);
    else reject(new Error(error));
  };
  worker.onerror = (event) => {
    const error = new Error(`${name} worker failed: ${event.message ?? 'the module did not load'}`);
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  return (kind, args) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, kind, args });
    });
}

/**
 * Worker side: the wasm build the worker's own URL names (`?build=threads…`), loaded once, its
 * thread pool started where it has one.
 * @param {string} moduleUrl the worker's `import.meta.url`
 */
export function loadBuild(moduleUrl) {
  const build = new URL(moduleUrl).searchParams.get('build');
  return (async () => {
    const wasm = await import(`/wasm/${build}/lantern_wasm.js`);
    await wasm.default();
    if (build.startsWith('threads')) await wasm.initThreadPool(navigator.hardwareConcurrency);
    return wasm;
  })();
}

/**
 * Worker side: answers each request with `handlers[kind](args)`.
 * @param {Record<string, (args: any) => unknown>} handlers
 */
export function answerRequests(handlers) {
  self.onmessage = async ({ data: { id, kind, args } }) => {
    try {
      self.postMessage({ id, result: await handlers[kind](args) });
    } catch (error) {
      self.postMessage({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  };
}

/** The response for `url`, or an error naming it and its HTTP status. */
export async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

export async function fetchBytes(url) {
  return new Uint8Array(await (await fetchOk(url)).arrayBuffer());
}

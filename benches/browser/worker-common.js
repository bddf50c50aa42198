// What both engine workers share: the model loader and the request loop the page talks to.

const MODEL_CACHE = 'lantern-bench-models';

/**
 * The model's bytes from the Cache API, downloading and storing them on a miss, as the site does;
 * `cached` says which happened.
 */
export async function modelBytes(model) {
  const url = new URL(`/models/${model}.onnx`, self.location.href).href;
  const cache = await caches.open(MODEL_CACHE);
  const hit = await cache.match(url);
  if (hit) return { bytes: new Uint8Array(await hit.arrayBuffer()), cached: true };
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  await cache.put(url, new Response(bytes, { headers: { 'Content-Type': 'application/octet-stream' } }));
  return { bytes, cached: false };
}

/** Milliseconds that `work` took, with its result. */
export async function timed(work) {
  const started = performance.now();
  const result = await work();
  return { ms: performance.now() - started, result };
}

/** Answers the page's requests ({ id, kind, args }) with `handlers[kind](args)`. */
export function serve(handlers) {
  self.onmessage = async ({ data: { id, kind, args } }) => {
    try {
      self.postMessage({ id, result: await handlers[kind](args) });
    } catch (error) {
      self.postMessage({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  };
}

// Lantern's service worker, on every host: the page works with the network off after one visit,
// and where the host cannot send response headers (GitHub Pages, say) it adds the cross-origin
// isolation headers, so the page gets SharedArrayBuffer and with it the threaded wasm build.
// service-worker-register.js registers it; it must lie beside index.html, as a service worker
// controls only its own folder.
//
// The page's files are served from the network while there is one, so a new deployment shows on
// the next visit, and kept in a cache of this build, which answers when the network fails.
// `just build` lists the build's files in offline.json and writes their hash as VERSION below
// (site/build/offline-list.js): a changed file changes this script, the browser installs it as
// an update, and the update deletes the old build's cache. Models are not kept here: the engine
// keeps them in its own cache, verified by SHA-256, as it first uses each.

/** @import { OfflineList, KeepBuildMessage, OfflineMessage } from './protocol.js' */

// The service worker's global: lib.webworker types `self` as any worker's, without the events and
// methods only a service worker has.
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

const VERSION = 'unbuilt';
const CACHE = `lantern-shell-${VERSION}`;
const CACHE_PREFIX = 'lantern-shell-';

/** @returns {Promise<OfflineList>} */
async function offlineList() {
  const response = await fetch('offline.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`offline.json: HTTP ${response.status}`);
  return response.json();
}

sw.addEventListener('install', (event) => {
  // Without its list (a site copied without offline.json) the page is not kept, but the worker
  // still isolates it.
  const keepShell = offlineList().then(async ({ shell }) => (await caches.open(CACHE)).addAll(shell));
  // An update takes over at once instead of waiting for every tab of the site to close: the
  // files it serves come from the network first, so an open tab gets nothing it did not ask for.
  event.waitUntil(keepShell.catch((e) => console.warn(`Lantern: the page is not kept for offline use (${e})`)).then(() => sw.skipWaiting()));
});

sw.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await sw.clients.claim();
  })());
});

sw.addEventListener('message', (event) => {
  const message = /** @type {KeepBuildMessage} */ (event.data);
  if (message?.type !== 'keep-build') return;
  const client = /** @type {Client | null} */ (event.source);
  event.waitUntil(keepBuild(message.build).then(
    () => client?.postMessage(/** @satisfies {OfflineMessage} */ ({ type: 'offline', ready: true })),
    (e) => client?.postMessage(/** @satisfies {OfflineMessage} */ ({ type: 'offline', ready: false, error: String(e?.message ?? e) })),
  ));
});

/**
 * Keeps the page's files and those of wasm build `build`, fetching only what the cache lacks.
 * @param {string} build
 */
async function keepBuild(build) {
  const { shell, builds } = await offlineList();
  if (!builds[build]) throw new Error(`offline.json lists no build ${build}`);
  const cache = await caches.open(CACHE);
  const missing = [];
  for (const path of [...shell, ...builds[build]]) {
    if (!(await cache.match(path))) missing.push(path);
  }
  await cache.addAll(missing);
}

sw.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  // Another origin's response cannot be given these headers, and the site loads nothing from one.
  if (url.origin !== self.location.origin || request.method !== 'GET') return;
  // fetch() refuses to replay these (DevTools sends them), so the browser keeps them.
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  const scope = new URL(sw.registration.scope);
  // Model files are the engine's to keep (verified by SHA-256); only their list is kept here.
  const model = url.pathname.startsWith(`${scope.pathname}models/`) && !url.pathname.endsWith('/index.json');
  event.respondWith((model ? fetch(request) : networkFirst(request)).then(withIsolationHeaders));
});

/**
 * The network's answer, kept for later; the kept copy where the network fails.
 * @param {Request} request
 * @returns {Promise<Response>}
 */
async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.status === 200 && !response.headers.has('Content-Range')) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(request, copy)).catch(() => {
        // A full disk or an evicted cache costs only the offline copy of this file.
      });
    }
    return response;
  } catch (error) {
    // A query string (a cache buster) does not change the file.
    const kept = await caches.match(request, { ignoreSearch: true, cacheName: CACHE });
    if (kept) return kept;
    throw error;
  }
}

/**
 * Copies a response with COOP, COEP and CORP set, as a correctly configured server sends them;
 * a host that sends its own isolation headers keeps them as they are.
 * @param {Response} response
 * @returns {Response}
 */
function withIsolationHeaders(response) {
  // An opaque redirect (status 0) has nothing to copy and must reach the page as it is.
  if (response.status === 0 || response.headers.has('Cross-Origin-Embedder-Policy')) return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

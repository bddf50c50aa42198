// Lantern's fallback for hosts that cannot send response headers, such as GitHub Pages. This
// service worker re-serves the site's own responses with the cross-origin isolation headers, so
// a page it controls gets SharedArrayBuffer and with it the threaded wasm build. coi-register.js
// registers it. Keep both files beside index.html: a service worker only controls its own folder.

// The service worker's global: lib.webworker types `self` as any worker's, without the events and
// methods only a service worker has.
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

// An updated copy takes over at once instead of waiting for every tab of the site to close.
sw.addEventListener('install', () => sw.skipWaiting());

sw.addEventListener('fetch', (event) => {
  const { request } = event;
  // Another origin's response cannot be given these headers, and the site loads nothing from one.
  if (new URL(request.url).origin !== self.location.origin) return;
  // fetch() refuses to replay these (DevTools sends them), so the browser keeps them.
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  event.respondWith(fetch(request).then(withIsolationHeaders));
});

/**
 * Copies a response with COOP, COEP and CORP set, as a correctly configured server sends it.
 * @param {Response} response
 * @returns {Response}
 */
function withIsolationHeaders(response) {
  // An opaque redirect (status 0) has nothing to copy and must reach the page as it is.
  if (response.status === 0) return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

// Makes the page cross-origin isolated on hosts that send no isolation headers: registers
// coi-serviceworker.js and reloads once, so the page comes back through it. Load it first:
//     <script type="module" src="coi-register.js"></script>
// Where it cannot help, the page stays as it is and Lantern runs its single-thread build.

// Set just before the reload, so a page that is still not isolated afterwards never reloads again.
const reloadedKey = 'lantern-coi-reloaded';

// Isolation needs a browser that knows it, a top-level page (a frame is isolated only through its
// embedder's headers) and a secure context, where service workers exist.
const workerCanIsolate =
  'crossOriginIsolated' in window && window.self === window.top && window.isSecureContext && 'serviceWorker' in navigator;

if (window.crossOriginIsolated) {
  sessionStorage.removeItem(reloadedKey);
} else if (workerCanIsolate) {
  await isolateThroughServiceWorker();
}

async function isolateThroughServiceWorker() {
  if (sessionStorage.getItem(reloadedKey) !== null) {
    console.warn('Lantern: not cross-origin isolated even through coi-serviceworker.js; running single-thread');
    return;
  }
  try {
    await navigator.serviceWorker.register(new URL('coi-serviceworker.js', import.meta.url));
  } catch (error) {
    console.warn(`Lantern: cannot register coi-serviceworker.js (${error}); running single-thread`);
    return;
  }
  await navigator.serviceWorker.ready;
  sessionStorage.setItem(reloadedKey, '1');
  window.location.reload();
}

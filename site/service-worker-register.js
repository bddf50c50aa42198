// Registers service-worker.js, which keeps the page for offline use on every host and makes it
// cross-origin isolated on hosts that send no isolation headers: there it reloads the page once,
// so the page comes back through the worker. Load it first:
//     <script type="module" src="service-worker-register.js"></script>
// Where the worker cannot isolate the page, it stays as it is and Lantern runs its single-thread build.

// Set just before the reload, so a page that is still not isolated afterwards never reloads again.
const reloadedKey = 'lantern-coi-reloaded';

// Service workers exist only in secure contexts (https, or localhost).
const canRegister = window.isSecureContext && 'serviceWorker' in navigator;
// Isolation needs a browser that knows it and a top-level page (a frame is isolated only through
// its embedder's headers).
const workerCanIsolate = canRegister && 'crossOriginIsolated' in window && window.self === window.top;

if (window.crossOriginIsolated) sessionStorage.removeItem(reloadedKey);

if (!window.crossOriginIsolated && workerCanIsolate) {
  await isolateThroughServiceWorker();
} else if (canRegister) {
  register().catch((error) => console.warn(`Lantern: cannot register service-worker.js (${error}); the page is not kept for offline use`));
}

function register() {
  return navigator.serviceWorker.register(new URL('service-worker.js', import.meta.url));
}

async function isolateThroughServiceWorker() {
  if (sessionStorage.getItem(reloadedKey) !== null) {
    console.warn('Lantern: not cross-origin isolated even through service-worker.js; running single-thread');
    return;
  }
  try {
    await register();
  } catch (error) {
    console.warn(`Lantern: cannot register service-worker.js (${error}); running single-thread`);
    return;
  }
  await navigator.serviceWorker.ready;
  sessionStorage.setItem(reloadedKey, '1');
  window.location.reload();
}

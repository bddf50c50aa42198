// Runs one engine build (?build=threads or ?build=single) in a module worker: the threaded
// build's pool blocks on atomics, which the page's own thread may not do.

import { workerRequests } from './worker-requests.js';

const build = new URLSearchParams(location.search).get('build');
const request = workerRequests(`parity-worker.js?build=${build}`, 'parity');

window.parity = {
  build,
  crossOriginIsolated: self.crossOriginIsolated,
  environment: () => request('environment'),
  plan: (model, shapes) => request('plan', { model, shapes }),
  runCase: (name) => request('runCase', { name }),
  openGpu: () => request('openGpu'),
  runGpuCase: (args) => request('runGpuCase', args),
};

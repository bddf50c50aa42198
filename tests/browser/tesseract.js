// Runs one engine build (?build=threads…, ?build=single…) in a module worker, as parity.js does,
// for the Tesseract line reader's parity test.

import { workerRequests } from './worker-requests.js';

const build = new URLSearchParams(location.search).get('build');
const request = workerRequests(`tesseract-worker.js?build=${build}`, 'tesseract');

window.tesseract = {
  environment: () => request('environment'),
  readLines: (args) => request('readLines', args),
  readOther: (args) => request('readOther', args),
  refusals: (args) => request('refusals', args),
};

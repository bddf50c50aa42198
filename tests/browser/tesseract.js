// Runs one engine build (?build=threads…, ?build=single…) in a module worker, as parity.js does,
// for the Tesseract line reader's parity test.

const build = new URLSearchParams(location.search).get('build');
const worker = new Worker(`tesseract-worker.js?build=${build}`, { type: 'module' });
const pending = new Map();
let nextId = 0;

worker.onmessage = ({ data: { id, result, error } }) => {
  const { resolve, reject } = pending.get(id);
  pending.delete(id);
  if (error === undefined) resolve(result);
  else reject(new Error(error));
};

worker.onerror = (event) => {
  const error = new Error(`tesseract worker failed: ${event.message ?? 'the module did not load'}`);
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

window.tesseract = {
  environment: () => request('environment'),
  readLines: (args) => request('readLines', args),
  readOther: (args) => request('readOther', args),
  refusals: (args) => request('refusals', args),
};

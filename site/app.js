// The page: files in, results out. It knows jobs and images, never tensors; the engine worker
// does the rest (see protocol.js for every message).
import { STAGES } from './protocol.js';

/** How long a cancel may wait for the worker before it is stopped outright. */
const CANCEL_GRACE_MS = 300;

/** The engine worker behind a promise per job; a worker that dies or will not stop is replaced. */
class Engine {
  constructor(onBackend) {
    this.onBackend = onBackend;
    this.nextId = 1;
    this.current = null;
    this.start();
  }

  start() {
    this.worker = new Worker('worker.js', { type: 'module' });
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.replace('The engine stopped unexpectedly (perhaps out of memory). It has been restarted; try again.');
    };
  }

  receive(message) {
    if (message.type === 'ready') return this.onBackend(message.backend);
    if (message.type === 'failed') {
      this.onBackend('unavailable');
      this.startError = message.message;
      return this.current?.reject(new Error(message.message));
    }
    const job = this.current;
    if (!job || message.id !== job.id) return;
    if (message.type === 'progress') job.onProgress(message);
    else if (message.type === 'result') this.settle((j) => j.resolve(message));
    else if (message.type === 'error') this.settle((j) => j.reject(new Error(message.message)));
    else if (message.type === 'cancelled') this.settle((j) => j.reject(new CancelledError()));
  }

  settle(action) {
    const job = this.current;
    this.current = null;
    clearTimeout(job.stopTimer);
    action(job);
  }

  /** Throws away the worker and the job in it; the next job gets a fresh one. */
  replace(message, error = new Error(message)) {
    this.worker.terminate();
    const job = this.current;
    this.current = null;
    this.onBackend('restarting…');
    this.start();
    if (job) {
      clearTimeout(job.stopTimer);
      job.reject(error);
    }
  }

  run(tool, model, image, options, onProgress) {
    if (this.startError) return Promise.reject(new Error(this.startError));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.current = { id, resolve, reject, onProgress };
      this.worker.postMessage({ type: 'job', id, tool, model, image, options }, [image]);
    });
  }

  cancel() {
    const job = this.current;
    if (!job) return;
    this.worker.postMessage({ type: 'cancel', id: job.id });
    // A network mid-run cannot read messages: stop the worker if it does not answer soon.
    job.stopTimer = setTimeout(() => {
      if (this.current === job) this.replace('', new CancelledError());
    }, CANCEL_GRACE_MS);
  }
}

class CancelledError extends Error {}

const $ = (selector, root = document) => root.querySelector(selector);
const queue = [];
let running = false;
let models = [];

const engine = new Engine((backend) => {
  $('#backend').textContent = backend;
  document.body.dataset.backend = backend;
});

function outputName(file, output) {
  const base = file.name.replace(/\.[^.]+$/, '') || 'image';
  const extension = { png: 'png', webp: 'webp', jpeg: 'jpg', mask: 'png' }[output];
  return `${base}-${output === 'mask' ? 'mask' : 'cutout'}.${extension}`;
}

function addFiles(files) {
  for (const file of files) {
    if (!file.type.startsWith('image/') && file.type !== '') continue;
    const item = $('#job-template').content.firstElementChild.cloneNode(true);
    $('.name', item).textContent = file.name || 'pasted image';
    $('.status', item).textContent = 'Waiting';
    const job = {
      file, item,
      model: $('#model').value,
      options: { output: $('#output').value, background: $('#background').value, quality: 92 },
    };
    $('.cancel', item).addEventListener('click', () => cancel(job));
    $('#queue').append(item);
    queue.push(job);
  }
  pump();
}

function cancel(job) {
  const index = queue.indexOf(job);
  if (index >= 0) {
    queue.splice(index, 1);
    setState(job, 'cancelled', 'Cancelled');
  } else if (job.item.dataset.state === 'running') {
    engine.cancel();
  }
}

function setState(job, state, status) {
  job.item.dataset.state = state;
  $('.status', job.item).textContent = status;
}

async function pump() {
  if (running || queue.length === 0) return;
  running = true;
  const job = queue.shift();
  setState(job, 'running', 'Starting');
  const progress = $('progress', job.item);
  try {
    const image = await job.file.arrayBuffer();
    const result = await engine.run('remove-background', job.model, image, job.options, (p) => {
      const fraction = p.total ? p.done / p.total : 0;
      progress.value = fraction;
      const detail = p.stage === 'download'
        ? `${(p.done / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB`
        : `${Math.round(fraction * 100)}%`;
      $('.status', job.item).textContent = `${STAGES[p.stage]} ${detail}`;
    });
    show(job, result);
  } catch (e) {
    if (e instanceof CancelledError) setState(job, 'cancelled', 'Cancelled');
    else {
      setState(job, 'error', 'Failed');
      const error = $('.error', job.item);
      error.textContent = e.message;
      error.hidden = false;
    }
  } finally {
    running = false;
    pump();
  }
}

function show(job, result) {
  const { item } = job;
  const blob = new Blob([result.bytes], { type: result.mime });
  const before = URL.createObjectURL(job.file);
  const after = URL.createObjectURL(blob);
  $('.before', item).src = before;
  $('.after', item).src = after;
  const link = $('.download', item);
  link.href = after;
  link.download = outputName(job.file, job.options.output);
  link.textContent = `Download ${link.download}`;
  const frame = $('.frame', item);
  $('input[type=range]', item).addEventListener('input', (e) => frame.style.setProperty('--split', `${e.target.value}%`));
  $('.compare', item).hidden = false;
  const seconds = (result.milliseconds / 1000).toFixed(1);
  setState(job, 'done', `Done in ${seconds} s on ${result.backend} · ${result.width}×${result.height}`);
  item.dataset.backend = result.backend;
}

async function loadModels() {
  const response = await fetch('models/index.json');
  models = (await response.json()).models.filter((m) => m.tool === 'remove-background');
  const select = $('#model');
  for (const m of models) {
    const mb = (m.size / 1e6).toFixed(0);
    select.append(new Option(`${m.title} · ${mb} MB download, once`, m.id, m.default, m.default));
  }
}

function wire() {
  const drop = $('#drop');
  const picker = $('#files');
  drop.addEventListener('click', () => picker.click());
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      picker.click();
    }
  });
  picker.addEventListener('change', () => {
    addFiles(picker.files);
    picker.value = '';
  });
  for (const type of ['dragenter', 'dragover']) {
    document.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
  }
  document.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget) drop.classList.remove('over');
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles(e.dataTransfer.files);
  });
  document.addEventListener('paste', (e) => addFiles(e.clipboardData.files));
  $('#output').addEventListener('change', (e) => {
    $('#background-label').hidden = e.target.value !== 'jpeg';
  });
}

wire();
loadModels().catch((e) => {
  $('#backend').textContent = `unavailable: the model list could not be loaded (${e.message})`;
});

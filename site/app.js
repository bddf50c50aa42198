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

  /** Runs one job; `image` is transferred, `ownModel` (if any) copied so it can be used again. */
  run({ tool, models, image, options, ownModel }, onProgress) {
    if (this.startError) return Promise.reject(new Error(this.startError));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.current = { id, resolve, reject, onProgress };
      this.worker.postMessage({ type: 'job', id, tool, models, image, options, ownModel }, [image]);
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
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
const queue = [];
let running = false;
let index = { models: [], assets: [] };
let currentTool = 'remove-background';
/** A style network the person picked from disk: { name, bytes }; it never leaves the page and worker. */
let ownModel = null;

/** Image to text's choices: a detector and recogniser pair, each listed in models/index.json. */
const TEXT_MODELS = [
  { id: 'fast', label: 'Fast (PP-OCRv6 tiny)', models: ['ppocrv6-tiny-det', 'ppocrv6-tiny-rec'] },
  { id: 'accurate', label: 'Accurate / multilingual (PP-OCRv6 small)', models: ['ppocrv6-small-det', 'ppocrv6-small-rec'] },
];
const ORIENTATION_MODEL = 'ppocr-cls';

const engine = new Engine((backend) => {
  $('#backend').textContent = backend;
  document.body.dataset.backend = backend;
});

const baseName = (file) => file.name.replace(/\.[^.]+$/, '') || 'image';
const extension = (output) => ({ png: 'png', webp: 'webp', jpeg: 'jpg', mask: 'png' })[output];

/** Per tool: the job for a file with the options shown now, and how its result is shown. */
const TOOLS = {
  'remove-background': {
    label: 'Remove background',
    job() {
      return {
        models: [$('#rb-model').value],
        options: { output: $('#rb-output').value, background: $('#rb-background').value, quality: 92 },
      };
    },
    show: (job, result) => showImage(job, result,
      `${baseName(job.file)}-${job.options.output === 'mask' ? 'mask' : 'cutout'}.${extension(job.options.output)}`),
  },
  cartoonify: {
    label: 'Cartoonify',
    job() {
      const first = Number($('input[name=ct-style]:checked')?.value ?? 0);
      const second = $('#ct-second').value === '' ? first : Number($('#ct-second').value);
      const options = {
        first, second,
        mix: second === first ? 0 : Number($('#ct-mix').value) / 100,
        strength: Number($('#ct-strength').value) / 100,
        detail: $('input[name=ct-detail]:checked').value,
        output: $('#ct-output').value,
        quality: 92,
      };
      if (ownModel) return { models: [], options: { ...options, preset: 'animegan' }, ownModel: ownModel.bytes };
      return { models: [$('#ct-model').value], options };
    },
    show: (job, result) => showImage(job, result, `${baseName(job.file)}-cartoon.${extension(job.options.output)}`),
  },
  'image-to-text': {
    label: 'Image to text',
    job(file) {
      const choice = TEXT_MODELS.find((c) => c.id === $('#tt-model').value) ?? TEXT_MODELS[0];
      const models = $('#tt-orientation').checked ? [...choice.models, ORIENTATION_MODEL] : choice.models;
      return { models, options: { title: file.name || 'pasted image' } };
    },
    show: showText,
  },
};

function defaultModel(tool) {
  return index.models.find((m) => m.tool === tool && m.default) ?? index.models.find((m) => m.tool === tool);
}

function addFiles(files) {
  for (const file of files) {
    if (!file.type.startsWith('image/') && file.type !== '') continue;
    const item = $('#job-template').content.firstElementChild.cloneNode(true);
    const tool = TOOLS[currentTool];
    $('.tool-name', item).textContent = tool.label;
    $('.name', item).textContent = file.name || 'pasted image';
    $('.status', item).textContent = 'Waiting';
    item.dataset.tool = currentTool;
    const job = { file, item, tool: currentTool, ...tool.job(file) };
    $('.cancel', item).addEventListener('click', () => cancel(job));
    $('#queue').append(item);
    queue.push(job);
  }
  pump();
}

function cancel(job) {
  const position = queue.indexOf(job);
  if (position >= 0) {
    queue.splice(position, 1);
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
    const request = { tool: job.tool, models: job.models, image, options: job.options, ownModel: job.ownModel };
    const result = await engine.run(request, (p) => {
      const fraction = p.total ? p.done / p.total : 0;
      progress.value = fraction;
      const detail = {
        download: () => `${(p.done / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB`,
        recognise: () => `${p.done} of ${p.total}`,
      }[p.stage]?.() ?? `${Math.round(fraction * 100)}%`;
      $('.status', job.item).textContent = `${STAGES[p.stage]} ${detail}`;
    });
    TOOLS[job.tool].show(job, result);
    const seconds = (result.milliseconds / 1000).toFixed(1);
    setState(job, 'done', `Done in ${seconds} s on ${result.backend} · ${result.width}×${result.height}`);
    job.item.dataset.backend = result.backend;
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

function download(link, bytes, mime, name) {
  link.href = URL.createObjectURL(new Blob([bytes], { type: mime }));
  link.download = name;
}

function showImage(job, result, name) {
  const view = $('#image-result-template').content.firstElementChild.cloneNode(true);
  $('.before', view).src = URL.createObjectURL(job.file);
  const link = $('.download', view);
  download(link, result.image.bytes, result.image.mime, name);
  link.textContent = `Download ${name}`;
  $('.after', view).src = link.href;
  const frame = $('.frame', view);
  $('input[type=range]', view).addEventListener('input', (e) => frame.style.setProperty('--split', `${e.target.value}%`));
  $('.result', job.item).append(view);
}

const SVG = 'http://www.w3.org/2000/svg';

/** The image with a box over each line, the lines beside it (each highlights its box), and downloads. */
function showText(job, result) {
  const view = $('#text-result-template').content.firstElementChild.cloneNode(true);
  const { lines } = JSON.parse(result.text.json);
  $('img', view).src = URL.createObjectURL(job.file);
  const boxes = $('.boxes', view);
  boxes.setAttribute('viewBox', `0 0 ${result.width} ${result.height}`);
  const list = $('.lines', view);
  const highlight = (i, on) => {
    boxes.children[i]?.classList.toggle('active', on);
    list.children[i]?.classList.toggle('active', on);
  };
  lines.forEach((line, i) => {
    const polygon = document.createElementNS(SVG, 'polygon');
    polygon.setAttribute('points', line.polygon.map(([x, y]) => `${x},${y}`).join(' '));
    polygon.addEventListener('pointerenter', () => highlight(i, true));
    polygon.addEventListener('pointerleave', () => highlight(i, false));
    polygon.addEventListener('click', () => list.children[i].focus());
    boxes.append(polygon);
    const entry = document.createElement('li');
    entry.tabIndex = 0;
    entry.textContent = line.text;
    entry.title = `Confidence ${Math.round(line.confidence * 100)}%`;
    for (const [type, on] of [['pointerenter', true], ['pointerleave', false], ['focus', true], ['blur', false]]) {
      entry.addEventListener(type, () => highlight(i, on));
    }
    list.append(entry);
  });
  if (lines.length === 0) list.append(Object.assign(document.createElement('li'), { textContent: 'No text found.' }));
  $('.plain', view).value = result.text.plain;
  const copy = $('.copy', view);
  copy.addEventListener('click', async () => {
    await navigator.clipboard.writeText(result.text.plain);
    copy.textContent = 'Copied';
  });
  const name = baseName(job.file);
  download($('.txt', view), result.text.plain, 'text/plain;charset=utf-8', `${name}.txt`);
  download($('.json', view), result.text.json, 'application/json', `${name}.json`);
  download($('.hocr', view), result.text.hocr, 'application/xhtml+xml', `${name}.hocr`);
  download($('.pdf', view), result.text.pdf, 'application/pdf', `${name}.pdf`);
  $('.result', job.item).append(view);
}

function selectTool(tool) {
  currentTool = tool;
  for (const tab of $$('[role=tab]')) {
    const selected = tab.dataset.tool === tool;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#${tab.getAttribute('aria-controls')}`).hidden = !selected;
  }
}

async function loadModels() {
  const response = await fetch('models/index.json');
  index = await response.json();
  const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;
  for (const m of index.models.filter((m) => m.tool === 'remove-background')) {
    $('#rb-model').append(new Option(`${m.title} · ${mb(m.size)} download, once`, m.id, m.default, m.default));
  }
  const size = (ids) => ids.reduce((sum, id) => sum + (index.models.find((m) => m.id === id)?.size ?? 0), 0);
  for (const choice of TEXT_MODELS) {
    if (choice.models.every((id) => index.models.some((m) => m.id === id))) {
      $('#tt-model').append(new Option(`${choice.label} · ${mb(size(choice.models))} download, once`, choice.id));
    }
  }
  const styleModels = index.models.filter((m) => m.tool === 'cartoonify');
  for (const m of styleModels) {
    $('#ct-model').append(new Option(`${m.title} · ${mb(m.size)} download, once`, m.id, m.default, m.default));
  }
  // Self-hosters may list more style networks; with one, there is nothing to choose.
  $('#ct-model-label').hidden = styleModels.length < 2;
  const styles = defaultModel('cartoonify')?.preprocess.style_weights ?? 0;
  const picker = $('#ct-styles .styles');
  for (let i = 0; i < styles; i++) {
    const number = String(i + 1).padStart(2, '0');
    const label = document.createElement('label');
    label.className = 'style';
    label.innerHTML = `<input type="radio" name="ct-style" value="${i}"${i === 0 ? ' checked' : ''}>`
      + `<img src="styles/style-${number}.jpg" alt="" width="72" height="72" loading="lazy"><span>Style ${i + 1}</span>`;
    picker.append(label);
    $('#ct-second').append(new Option(`Style ${i + 1}`, String(i)));
  }
}

function wire() {
  const tabs = $$('[role=tab]');
  for (const tab of tabs) {
    tab.addEventListener('click', () => selectTool(tab.dataset.tool));
    tab.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (!step) return;
      const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
      selectTool(next.dataset.tool);
      next.focus();
    });
  }
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
  $('#rb-output').addEventListener('change', (e) => {
    $('#rb-background-label').hidden = e.target.value !== 'jpeg';
  });
  const percent = (input, output) => input.addEventListener('input', () => {
    output.textContent = `${input.value}%`;
  });
  percent($('#ct-mix'), $('#ct-mix-value'));
  percent($('#ct-strength'), $('#ct-strength-value'));
  $('#ct-second').addEventListener('change', (e) => {
    $('#ct-mix').disabled = e.target.value === '';
  });
  const usesStyles = () => !ownModel && Boolean(index.models.find((m) => m.id === $('#ct-model').value)?.preprocess.style_weights);
  const updateStylePicker = () => {
    $('#ct-styles').disabled = !usesStyles();
    $('#ct-second').disabled = !usesStyles();
    $('#ct-model').disabled = Boolean(ownModel);
  };
  $('#ct-model').addEventListener('change', updateStylePicker);
  $('#ct-own-model').addEventListener('change', async (e) => {
    const [file] = e.target.files;
    if (!file) return;
    ownModel = { name: file.name, bytes: await file.arrayBuffer() };
    $('#ct-own-model-status').textContent = `Using ${file.name} (${(file.size / 1e6).toFixed(1)} MB) as an AnimeGANv2 model. It stays on this device.`;
    $('#ct-own-model-clear').hidden = false;
    updateStylePicker();
  });
  $('#ct-own-model-clear').addEventListener('click', () => {
    ownModel = null;
    $('#ct-own-model').value = '';
    $('#ct-own-model-status').textContent = 'Using the bundled styles.';
    $('#ct-own-model-clear').hidden = true;
    updateStylePicker();
  });
}

wire();
loadModels().catch((e) => {
  $('#backend').textContent = `unavailable: the model list could not be loaded (${e.message})`;
});

// The embed demo: a page on another origin than Lantern's, framing it through lantern-embed.js.
// Serve dist/ twice (`just embed-demo`) and open this page from the second origin; `?lantern=`
// names the Lantern to frame (this page's own folder when left out).
import { Lantern, LanternError } from './lantern-embed.js';

/** @import { Tool } from './protocol.js' */

/**
 * @template {HTMLElement} T
 * @param {string} selector
 * @param {abstract new () => T} type
 * @returns {T}
 */
const $ = (selector, type) => {
  const found = document.querySelector(selector);
  if (!(found instanceof type)) throw new Error(`The demo has no ${type.name} matching ${selector}.`);
  return found;
};

const status = $('#status', HTMLElement);
const progress = $('#progress', HTMLProgressElement);
const src = new URLSearchParams(location.search).get('lantern') ?? new URL('./', location.href).href;
const lantern = await Lantern.embed($('#lantern', HTMLElement), { src, tool: 'remove-background' });
status.textContent = `Lantern is ready (${lantern.backend}).`;
document.body.dataset.ready = 'true';

/** @type {AbortController | null} */
let running = null;

$('#image', HTMLInputElement).addEventListener('change', async (event) => {
  const [file] = /** @type {HTMLInputElement} */ (event.target).files ?? [];
  if (!file) return;
  const tool = /** @type {Tool} */ ($('#tool', HTMLSelectElement).value);
  running = new AbortController();
  $('#cancel', HTMLButtonElement).disabled = false;
  status.textContent = `Running ${tool} on ${file.name}…`;
  /** @param {{ done: number, total: number }} p */
  const onProgress = (p) => {
    progress.value = p.total ? p.done / p.total : 0;
  };
  const controls = { signal: running.signal, onProgress };
  try {
    if (tool === 'image-to-text') {
      const { text } = await lantern.imageToText(file, {}, controls);
      $('#text', HTMLElement).textContent = text;
      $('#result', HTMLImageElement).hidden = true;
    } else {
      const { image } = tool === 'cartoonify' ? await lantern.cartoonify(file, {}, controls) : await lantern.removeBackground(file, {}, controls);
      const result = $('#result', HTMLImageElement);
      URL.revokeObjectURL(result.src);
      result.src = URL.createObjectURL(image);
      result.hidden = false;
      $('#text', HTMLElement).textContent = '';
    }
    status.textContent = `Done on ${lantern.backend}.`;
  } catch (e) {
    status.textContent = e instanceof LanternError ? `${e.code}: ${e.message}` : String(e);
  } finally {
    running = null;
    $('#cancel', HTMLButtonElement).disabled = true;
  }
});

$('#cancel', HTMLButtonElement).addEventListener('click', () => running?.abort());

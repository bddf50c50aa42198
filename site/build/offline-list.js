// Lists a built site's files for its service worker and stamps the build's version into it:
//     node site/build/offline-list.js dist
// writes dist/offline.json ({ version, shell, builds }: the page's files, and each wasm build's
// files under wasm/<build>/) and sets VERSION in dist/service-worker.js to a hash of every listed
// file, so any changed file makes the browser install the worker again (site/service-worker.js).
// Model files are left out: the engine keeps them itself. `just build` runs this last.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const root = process.argv[2];
if (!root) throw new Error('usage: node site/build/offline-list.js <built site folder>');

/** @param {string} dir @returns {string[]} every file under `dir`, as paths relative to `root` with `/` */
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
  const path = join(dir, entry.name);
  return entry.isDirectory() ? walk(path) : [relative(root, path).split(sep).join('/')];
});

const WORKER = 'service-worker.js';
const LIST = 'offline.json';
const files = walk(root)
  .filter((path) => !path.endsWith('.d.ts') && path !== WORKER && path !== LIST)
  .filter((path) => !path.startsWith('models/') || path === 'models/index.json')
  .sort();

const shell = ['./'];
/** @type {Record<string, string[]>} */
const builds = {};
for (const path of files) {
  const build = /^wasm\/([^/]+)\//.exec(path)?.[1];
  if (build) (builds[build] ??= []).push(path);
  else shell.push(path);
}

const hash = createHash('sha256');
for (const path of files) hash.update(path).update('\0').update(readFileSync(join(root, path)));
const version = hash.digest('hex').slice(0, 16);

writeFileSync(join(root, LIST), `${JSON.stringify({ version, shell, builds }, null, 1)}\n`);
const worker = readFileSync(join(root, WORKER), 'utf8');
const stamped = worker.replace(/^const VERSION = '[^']*';$/m, `const VERSION = '${version}';`);
if (stamped === worker && !worker.includes(`const VERSION = '${version}';`)) throw new Error(`${WORKER} has no VERSION line to stamp`);
writeFileSync(join(root, WORKER), stamped);
console.log(`offline.json: ${shell.length} page files, builds ${Object.keys(builds).join(', ')}; version ${version}`);

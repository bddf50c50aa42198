// What the browser tests share: lantern-serve and a plain static server on free ports, and how
// Chromium is launched.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../..', import.meta.url));

/** Debian's Chromium, headless, with nothing reaching out to the network on its own. */
export const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: ['--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

/**
 * Starts lantern-serve on `port` (a free one when left out); resolves with its process and base URL.
 * `frameSources` are origins its pages may frame (an embedder's).
 */
export function startServer({ root, mounts = [], isolated, port = 0, frameSources = [] }) {
  const args = ['--root', root, '--port', String(port)];
  for (const mount of mounts) args.push('--mount', mount);
  for (const origin of frameSources) args.push('--frame-src', origin);
  if (!isolated) args.push('--no-isolation');
  const server = spawn(join(repo, 'target/debug/lantern-serve'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    server.stderr.on('data', (chunk) => (stderr += chunk));
    server.stdout.on('data', (chunk) => {
      stdout += chunk;
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout)?.[0];
      if (url) resolve({ server, url });
    });
    server.on('error', reject);
    server.on('exit', (code) => reject(new Error(`lantern-serve exited with ${code}: ${stderr}`)));
  });
}

/**
 * Records every Content-Security-Policy violation in `context`'s pages: their
 * `securitypolicyviolation` events, and what Chromium logs of one (workers included). The site's
 * tests run under lantern-serve's policy and assert the list stays empty.
 * @param {import('playwright-core').BrowserContext} context
 * @returns {Promise<string[]>}
 */
export async function watchCsp(context) {
  const violations = [];
  await context.exposeBinding('reportCspViolation', (_source, violation) => violations.push(violation));
  await context.addInitScript(() => {
    addEventListener('securitypolicyviolation', (e) => {
      globalThis.reportCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  context.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

/** A port free on 127.0.0.1 now, for a server whose address others must know before it starts. */
export function freePort() {
  const probe = createServer();
  return new Promise((resolve, reject) => {
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const contentTypes = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * A test-only static server on 127.0.0.1 that sends `headers` with every file under `root` and
 * nothing else: a host as plain as they come, or an embedder's page.
 */
export async function startStaticServer(root, headers) {
  const server = createHttpServer(async (request, response) => {
    try {
      const path = decodeURIComponent(new URL(request.url, 'http://host').pathname);
      const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
      if (!file.startsWith(root + sep)) throw new Error(`${path} is outside the served folder`);
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream', ...headers });
      response.end(body);
    } catch {
      response.writeHead(404, headers);
      response.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

export async function stopServer(server) {
  if (!server?.listening) return;
  server.closeAllConnections();
  await new Promise((resolveClose) => server.close(resolveClose));
}

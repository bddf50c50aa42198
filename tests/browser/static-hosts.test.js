// The static-host configs of server-headers/, served for real and checked in headless Chromium:
// Debian's nginx with server-headers/nginx.conf, an isolated and a plain page on another origin
// framing it, and a server that sends no isolation headers, where service-worker.js must
// isolate the page after one reload. The service worker is registered on every host (it keeps
// the page for offline use), so each case also checks that it is.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { freePort, startServer, startStaticServer, stopServer } from './serve.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const nginxBinary = '/usr/sbin/nginx';
const apacheBinary = '/usr/sbin/apache2';
const caddyBinary = '/usr/bin/caddy';

const isolationHeaders = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

// A dist/-like site: every kind of file Lantern serves, some of them in folders.
const site = {
  'index.html':
    '<!doctype html>\n<meta charset="utf-8">\n<title>Lantern</title>\n<script type="module" src="service-worker-register.js"></script>\n',
  'engine.mjs': 'export const answer = 42;\n',
  'style.css': 'body { margin: 0; }\n',
  'isolation-worker.js': 'postMessage(self.crossOriginIsolated);\n',
  // The smallest valid module: the magic number and version 1.
  'wasm/engine.wasm': Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
  'models/model.onnx': Buffer.from([0x08, 0x07, 0x12, 0x04, 0x74, 0x65, 0x73, 0x74]),
  'ocr/dict.txt': 'a\nb\né\n',
  'manifest.json': '{"models": []}\n',
};

/** lantern-serve's Content-Security-Policy, which every host config must send as it is. */
const contentSecurityPolicy = /const CONTENT_SECURITY_POLICY: &str = "([^"]+)";/.exec(
  readFileSync(join(repo, 'server-headers/src/main.rs'), 'utf8'),
)[1];

const assetResponse = { corp: 'same-origin', cache: 'max-age=300' };
const documentResponse = { type: 'text/html; charset=utf-8', corp: 'cross-origin', cache: 'no-cache' };
const expectedResponses = [
  { path: '/', ...documentResponse },
  { path: '/index.html', ...documentResponse },
  { path: '/engine.mjs', type: 'text/javascript', ...assetResponse },
  { path: '/isolation-worker.js', type: 'text/javascript', ...assetResponse },
  { path: '/style.css', type: 'text/css', ...assetResponse },
  { path: '/service-worker-register.js', type: 'text/javascript', ...assetResponse },
  { path: '/wasm/engine.wasm', type: 'application/wasm', ...assetResponse },
  { path: '/models/model.onnx', type: 'application/octet-stream', ...assetResponse },
  { path: '/ocr/dict.txt', type: 'text/plain; charset=utf-8', ...assetResponse },
  { path: '/manifest.json', type: 'application/json', ...assetResponse },
];

/** Writes the site into `dir`, with the service-worker fallback beside index.html as deployed. */
async function writeSite(dir) {
  for (const [path, contents] of Object.entries(site)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), contents);
  }
  for (const name of ['service-worker-register.js', 'service-worker.js']) {
    await copyFile(join(repo, 'site', name), join(dir, name));
  }
}

/** Starts Debian's nginx on a free port with `siteConfig` (server-headers/nginx.conf) serving `root`. */
async function startNginx(prefix, root, siteConfig = join(repo, 'server-headers/nginx.conf')) {
  const port = await freePort();
  const config = join(prefix, 'nginx.conf');
  // Everything nginx writes stays under the prefix, so no root privileges are needed.
  await writeFile(
    config,
    `daemon off;
worker_processes 1;
pid "${join(prefix, 'nginx.pid')}";
error_log stderr warn;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path "${join(prefix, 'client_body')}";
    proxy_temp_path "${join(prefix, 'proxy')}";
    fastcgi_temp_path "${join(prefix, 'fastcgi')}";
    uwsgi_temp_path "${join(prefix, 'uwsgi')}";
    scgi_temp_path "${join(prefix, 'scgi')}";
    server {
        listen 127.0.0.1:${port};
        root "${root}";
        include "${siteConfig}";
    }
}
`,
  );
  return startHost('nginx', spawn(nginxBinary, ['-p', prefix, '-c', config, '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'pipe'] }), port);
}

/**
 * Waits until the server `name` that `child` runs answers on `port`; `log` is what it wrote to
 * stderr, `stop` ends it.
 */
async function startHost(name, child, port) {
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${name} exited with ${code} before serving:\n${stderr}`);
  });
  const url = `http://127.0.0.1:${port}/`;
  const stop = () => stopProcess(child);
  try {
    await Promise.race([exited, waitUntilServing(url)]);
  } catch (error) {
    await stop();
    throw error;
  }
  exited.catch(() => {});
  return { url, log: () => stderr, stop };
}

/**
 * Starts Debian's Apache 2.4 on a free port serving `root` with its .htaccess (server-headers/),
 * in the foreground, with the modules the README names and `AllowOverride All`.
 */
async function startApache(prefix, root) {
  const port = await freePort();
  const config = join(prefix, 'apache2.conf');
  const modules = ['mpm_prefork', 'authz_core', 'mime', 'headers', 'dir'];
  await writeFile(
    config,
    `ServerRoot /usr/lib/apache2
${modules.map((m) => `LoadModule ${m}_module modules/mod_${m}.so`).join('\n')}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
# One process (-X) serves one connection at a time: a kept-alive one would hold the next request
# for the keep-alive timeout.
KeepAlive Off
PidFile "${join(prefix, 'apache2.pid')}"
Mutex file:${prefix} default
ErrorLog "${join(prefix, 'error.log')}"
LogLevel warn
User nobody
Group nogroup
TypesConfig /etc/mime.types
DocumentRoot "${root}"
DirectoryIndex index.html
<Directory "${root}">
    AllowOverride All
    Require all granted
</Directory>
`,
  );
  await copyFile(join(repo, 'server-headers/.htaccess'), join(root, '.htaccess'));
  const host = await startHost('Apache', spawn(apacheBinary, ['-X', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] }), port);
  return { ...host, log: () => host.log() + readFileSync(join(prefix, 'error.log'), 'utf8') };
}

/**
 * Starts Debian's Caddy 2.6 with server-headers/Caddyfile, its site address and root put in as
 * its header comment says, on a free port over plain HTTP, with no admin endpoint.
 */
async function startCaddy(prefix, root) {
  const port = await freePort();
  const original = readFileSync(join(repo, 'server-headers/Caddyfile'), 'utf8');
  const config = `{\n\tadmin off\n}\n\n${original}`
    .replace('lantern.example.com {', `http://127.0.0.1:${port} {`)
    .replace('root * /srv/lantern/dist', `root * ${root}`);
  assert.notEqual(config.indexOf(`root * ${root}`), -1, 'the Caddyfile names its root as `root * /srv/lantern/dist`');
  const file = join(prefix, 'Caddyfile');
  await writeFile(file, config);
  const child = spawn(caddyBinary, ['run', '--config', file, '--adapter', 'caddyfile'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: prefix, XDG_DATA_HOME: prefix, XDG_CONFIG_HOME: prefix },
  });
  const host = await startHost('Caddy', child, port);
  // Caddy logs JSON lines at info level; only warnings and errors say something is wrong, but for
  // the one about the admin endpoint, which this test turns off.
  const wrong = (line) => /"level":"(warn|error)"/.test(line) && !line.includes('"admin endpoint disabled"');
  return { ...host, log: () => host.log().split('\n').filter(wrong).join('\n') };
}

async function waitUntilServing(url) {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`nothing answers at ${url}`);
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** What Lantern needs from a page: isolation, streaming wasm compilation, modules and workers. */
async function probeCapabilities() {
  const wasm = await WebAssembly.compileStreaming(fetch('wasm/engine.wasm'));
  const { answer } = await import('./engine.mjs');
  const worker = new Worker('isolation-worker.js');
  const workerIsolated = await new Promise((resolveMessage, reject) => {
    worker.onmessage = (event) => resolveMessage(event.data);
    worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
  });
  worker.terminate();
  return {
    crossOriginIsolated: window.crossOriginIsolated,
    sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
    wasmIsModule: wasm instanceof WebAssembly.Module,
    moduleAnswer: answer,
    workerIsolated,
    // Registered once the page has run its register script: waited for, not counted at once.
    serviceWorker: await Promise.race([
      navigator.serviceWorker.ready.then(() => true),
      new Promise((resolveLate) => setTimeout(() => resolveLate(false), 10_000)),
    ]),
  };
}

async function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('every host config and lantern-serve send the same Content-Security-Policy', async () => {
  for (const config of ['nginx.conf', '.htaccess', 'Caddyfile', '_headers', 'vercel.json']) {
    const text = readFileSync(join(repo, 'server-headers', config), 'utf8');
    assert.ok(text.includes(contentSecurityPolicy), `server-headers/${config} lacks the policy`);
  }
  const { server, url } = await startServer({ root: join(repo, 'server-headers'), isolated: false });
  try {
    const response = await fetch(url);
    assert.equal(response.headers.get('content-security-policy'), contentSecurityPolicy);
  } finally {
    server.kill();
  }
});

test('_headers (Netlify, Cloudflare Pages) gives each file its type, resource policy and caching, each header from one rule', () => {
  /** @type {{ pattern: string, headers: [string, string][] }[]} */
  const rules = [];
  for (const line of readFileSync(join(repo, 'server-headers/_headers'), 'utf8').split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    if (line.startsWith('/')) rules.push({ pattern: line.trim(), headers: [] });
    else {
      const [name, ...value] = line.trim().split(':');
      rules.at(-1).headers.push([name.toLowerCase(), value.join(':').trim()]);
    }
  }
  // A rule's `*` matches any run of characters, slashes included; the rest matches itself.
  const escape = (text) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  const matches = (pattern, path) => new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`).test(path);
  for (const expected of expectedResponses) {
    const headers = rules.filter((rule) => matches(rule.pattern, expected.path)).flatMap((rule) => rule.headers);
    const names = headers.map(([name]) => name);
    assert.deepEqual(names.filter((name, i) => names.indexOf(name) !== i), [], `${expected.path}: set by two rules`);
    const header = (name) => headers.find(([n]) => n === name)?.[1];
    // Documents keep the host's own type for HTML.
    const type = header('content-type') ?? (expected === expectedResponses[0] || expected.path.endsWith('.html') ? expected.type : undefined);
    assert.deepEqual(
      { path: expected.path, type, corp: header('cross-origin-resource-policy'), cache: header('cache-control') },
      { path: expected.path, type: expected.type, corp: expected.corp, cache: expected.cache },
    );
  }
});

describe('static hosting', { timeout: 120_000 }, () => {
  let work;
  let browser;

  before(async () => {
    for (const [binary, debian] of [[nginxBinary, 'nginx-light'], [apacheBinary, 'apache2-bin'], [caddyBinary, 'caddy']]) {
      assert.ok(existsSync(binary), `${binary} is missing: \`just setup\` installs it (Debian package ${debian})`);
    }
    work = await mkdtemp(join(tmpdir(), 'lantern-static-hosts-'));
    // nginx's and Apache's workers run as nobody when they start as root: they must read the site.
    await chmod(work, 0o755);
    await writeSite(join(work, 'dist'));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Opens a fresh context's page, recording what it logs for failure messages. */
  async function openPage() {
    const context = await browser.newContext();
    const page = await context.newPage();
    const logs = [];
    page.on('console', (message) => logs.push(`[${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => logs.push(`[pageerror] ${error.stack ?? error.message}`));
    const describeLogs = () => (logs.length ? logs.join('\n') : '(the page logged nothing)');
    return { context, page, describeLogs };
  }

  for (const host of [
    { name: 'nginx with server-headers/nginx.conf', start: startNginx },
    { name: 'Apache 2.4 with server-headers/.htaccess', start: startApache },
    { name: 'Caddy 2.6 with server-headers/Caddyfile', start: startCaddy },
  ]) describe(host.name, () => {
    const server = host.name.split(' ')[0];
    let running;
    let siteUrl;
    const embedders = {};

    before(async () => {
      const prefix = join(work, server);
      await mkdir(prefix);
      // Each host serves its own copy of the site: Apache's gets the .htaccess beside it.
      const root = join(work, `${server}-dist`);
      await writeSite(root);
      running = await host.start(prefix, root);
      siteUrl = running.url;
      const embedderRoot = join(work, `${server}-embedder`);
      await mkdir(embedderRoot);
      await writeFile(
        join(embedderRoot, 'index.html'),
        `<!doctype html>\n<meta charset="utf-8">\n<iframe src="${siteUrl}" allow="cross-origin-isolated"></iframe>\n`,
      );
      embedders.isolated = await startStaticServer(embedderRoot, isolationHeaders);
      embedders.plain = await startStaticServer(embedderRoot, {});
    });

    after(async () => {
      for (const embedder of Object.values(embedders)) await stopServer(embedder.server);
      await running?.stop();
    });

    test(`${server} takes the config without a warning`, () => {
      assert.equal(running.log(), '');
    });

    test('serves every file with its type, isolation headers and caching', async () => {
      for (const expected of expectedResponses) {
        const response = await fetch(new URL(expected.path, siteUrl));
        await response.arrayBuffer();
        const actual = {
          path: expected.path,
          status: response.status,
          type: response.headers.get('content-type'),
          coop: response.headers.get('cross-origin-opener-policy'),
          coep: response.headers.get('cross-origin-embedder-policy'),
          corp: response.headers.get('cross-origin-resource-policy'),
          cache: response.headers.get('cache-control'),
          csp: response.headers.get('content-security-policy'),
        };
        assert.deepEqual(actual, { ...expected, status: 200, coop: 'same-origin', coep: 'require-corp', csp: contentSecurityPolicy });
      }
    });

    test('the page is cross-origin isolated and compiles streamed wasm', async () => {
      const { context, page, describeLogs } = await openPage();
      try {
        await page.goto(siteUrl);
        const capabilities = await page.evaluate(probeCapabilities);
        assert.deepEqual(
          capabilities,
          { crossOriginIsolated: true, sharedArrayBuffer: true, wasmIsModule: true, moduleAnswer: 42, workerIsolated: true, serviceWorker: true },
          `page console:\n${describeLogs()}`,
        );
      } finally {
        await context.close();
      }
    });

    for (const { embedder, isolated, name } of [
      { embedder: 'isolated', isolated: true, name: 'an isolated page on another origin frames it and the frame is isolated' },
      { embedder: 'plain', isolated: false, name: 'a plain page on another origin frames it and the frame runs single-thread' },
    ]) {
      test(name, async () => {
        const { context, page, describeLogs } = await openPage();
        try {
          await page.goto(embedders[embedder].url);
          const frame = page.frames().find((candidate) => candidate.url().startsWith(siteUrl));
          const frameUrls = page.frames().map((candidate) => candidate.url());
          assert.ok(frame, `the frame did not load the site (frames: ${frameUrls.join(', ')})\n${describeLogs()}`);
          const capabilities = await frame.evaluate(probeCapabilities);
          assert.deepEqual(
            capabilities,
            { crossOriginIsolated: isolated, sharedArrayBuffer: isolated, wasmIsModule: true, moduleAnswer: 42, workerIsolated: isolated, serviceWorker: true },
            `console:\n${describeLogs()}`,
          );
        } finally {
          await context.close();
        }
      });
    }
  });

  describe('nginx with an embed allow-list appended to its policy, as server-headers/README.md says', () => {
    let nginx;
    let siteUrl;
    const embedders = {};

    before(async () => {
      // An embedder that frames the address its query names.
      const root = join(work, 'allow-embedder');
      await mkdir(root);
      await writeFile(
        join(root, 'index.html'),
        '<!doctype html>\n<meta charset="utf-8">\n<script>const frame = document.createElement("iframe"); frame.src = new URLSearchParams(location.search).get("src"); document.documentElement.append(frame);</script>\n',
      );
      embedders.listed = await startStaticServer(root, {});
      embedders.other = await startStaticServer(root, {});
      const original = readFileSync(join(repo, 'server-headers/nginx.conf'), 'utf8');
      const config = original.replace(`form-action 'none'"`, `form-action 'none'; frame-ancestors 'self' ${new URL(embedders.listed.url).origin}"`);
      assert.notEqual(config, original, 'nginx.conf has the policy line the README says to extend');
      const prefix = join(work, 'nginx-allow');
      await mkdir(prefix);
      await writeFile(join(prefix, 'site.conf'), config);
      nginx = await startNginx(prefix, join(work, 'dist'), join(prefix, 'site.conf'));
      siteUrl = nginx.url;
    });

    after(async () => {
      for (const { server } of Object.values(embedders)) await stopServer(server);
      await nginx?.stop();
    });

    test('nginx sends the listed origin as frame-ancestors, and the browser lets only it frame the site', async () => {
      const policy = (await fetch(siteUrl)).headers.get('content-security-policy');
      assert.equal(policy, `${contentSecurityPolicy}; frame-ancestors 'self' ${new URL(embedders.listed.url).origin}`);
      for (const [name, allowed] of [['listed', true], ['other', false]]) {
        const { context, page, describeLogs } = await openPage();
        try {
          await page.goto(`${embedders[name].url}?src=${encodeURIComponent(siteUrl)}`);
          await page.waitForFunction(() => document.querySelector('iframe') !== null);
          await page.waitForLoadState('load');
          const frame = page.frames().find((candidate) => candidate !== page.mainFrame());
          const title = await frame?.evaluate(() => document.title).catch(() => null);
          assert.equal(title === 'Lantern', allowed, `${name}: the frame ${allowed ? 'did not load' : 'loaded'}\n${describeLogs()}`);
        } finally {
          await context.close();
        }
      }
    });
  });

  describe('a host without isolation headers, through service-worker.js', () => {
    let plain;

    before(async () => {
      plain = await startStaticServer(join(work, 'dist'), {});
    });

    after(async () => {
      await stopServer(plain?.server);
    });

    test('the page reloads once and comes back cross-origin isolated', async () => {
      const { context, page, describeLogs } = await openPage();
      try {
        // Counted at commit: the reload may start before the first load event.
        let navigations = 0;
        const reloaded = new Promise((resolveReload) => {
          page.on('framenavigated', (frame) => {
            if (frame !== page.mainFrame()) return;
            navigations += 1;
            if (navigations === 2) resolveReload();
          });
        });
        await page.goto(plain.url, { waitUntil: 'commit' });
        await withTimeout(reloaded, 20_000, `the page never reloaded itself\n${describeLogs()}`);
        await page.waitForLoadState('load');
        const capabilities = await page.evaluate(probeCapabilities);
        assert.deepEqual(
          capabilities,
          { crossOriginIsolated: true, sharedArrayBuffer: true, wasmIsModule: true, moduleAnswer: 42, workerIsolated: true, serviceWorker: true },
          `page console:\n${describeLogs()}`,
        );
        // A reload loop would show within a second: the worker is active and answers at once.
        await sleep(1_000);
        assert.equal(navigations, 2, `the page loaded ${navigations} times\n${describeLogs()}`);
      } finally {
        await context.close();
      }
    });
  });
});

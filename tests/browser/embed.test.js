// Embedding: Lantern served on one origin, framed by a page on another through lantern-embed.js,
// as site/embed-demo.html does. An isolated embedder gets threads in the frame, a plain one the
// single-thread build; each tool's result equals the site's for the same image; bad messages get
// a stable error code and break nothing. Needs `just build` (dist/); `just test-browser` runs it.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { CHROMIUM, freePort, repo, startServer, startStaticServer, stopServer, watchCsp } from './serve.js';
import { download, evalDir, photo, runJobs } from './site-page.js';

const dist = join(repo, 'dist');
const INPUTS = {
  'remove-background': photo('horse.png'),
  cartoonify: photo('chelsea.png'),
  'image-to-text': join(evalDir, 'ocr/page.png'),
};

/**
 * Opens `embedder` (a server's base URL) and frames the Lantern at `lantern` with lantern-embed.js;
 * `window.lantern` is the client once it resolves.
 */
async function openEmbedder(browser, embedder, lantern, { timeout } = {}) {
  const context = await browser.newContext();
  const cspViolations = await watchCsp(context);
  const page = await context.newPage();
  const logs = [];
  page.on('console', (message) => logs.push(message.text()));
  await page.goto(`${embedder}embed-demo.html?lantern=${encodeURIComponent(lantern)}`);
  if (!timeout) await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
  // The demo's own client stays (where it may embed); the tests drive one of their own.
  const refused = await page.evaluate(async ([src, timeout]) => {
    const { Lantern } = await import('./lantern-embed.js');
    const container = document.createElement('div');
    document.body.append(container);
    try {
      window.lantern = await Lantern.embed(container, { src, timeout });
      return null;
    } catch (e) {
      return e.code;
    }
  }, [lantern, timeout]);
  return { context, page, cspViolations, logs, refused };
}

/** Runs `tool` on the file at `path` through the client; the result as plain data. */
function runThroughClient(page, tool, path, options = {}) {
  return page.evaluate(async ([tool, bytes, options]) => {
    const image = new Blob([new Uint8Array(bytes)], { type: 'image/png' });
    try {
      if (tool === 'image-to-text') {
        const { text, backend } = await window.lantern.imageToText(image, options);
        return { text, backend };
      }
      const method = tool === 'cartoonify' ? 'cartoonify' : 'removeBackground';
      const { image: result, backend } = await window.lantern[method](image, options);
      return { bytes: Array.from(new Uint8Array(await result.arrayBuffer())), backend };
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  }, [tool, Array.from(readFileSync(path)), options]);
}

describe('Embedding Lantern in another origin\'s page', { timeout: 600_000 }, () => {
  let browser;
  const servers = {};

  before(async () => {
    browser = await chromium.launch(CHROMIUM);
    servers.lantern = await startServer({ root: dist, isolated: true });
    const lanternOrigin = new URL(servers.lantern.url).origin;
    const embedderArgs = { root: dist, frameSources: [lanternOrigin] };
    servers.isolated = await startServer({ ...embedderArgs, isolated: true });
    servers.plain = await startServer({ ...embedderArgs, isolated: false });
  });

  after(async () => {
    await browser?.close();
    for (const { server } of Object.values(servers)) server.kill();
  });

  test('lantern-serve lets other origins frame its documents, and only its documents', async () => {
    const corp = async (path) => (await fetch(new URL(path, servers.lantern.url))).headers.get('cross-origin-resource-policy');
    assert.equal(await corp('/'), 'cross-origin');
    assert.equal(await corp('/app.js'), 'same-origin');
    assert.equal(await corp('/models/index.json'), 'same-origin');
  });

  describe('an isolated embedder', () => {
    let embedder;
    before(async () => {
      embedder = await openEmbedder(browser, servers.isolated.url, servers.lantern.url);
    });
    after(async () => embedder?.context.close());

    test('the frame is cross-origin isolated and runs threads', async () => {
      const backend = await embedder.page.evaluate(() => window.lantern.backend);
      assert.match(backend, /^threads/);
    });

    test('each tool gives what the site gives for the same image', async () => {
      // The site itself, on Lantern's own origin, with its default settings.
      const context = await browser.newContext();
      const site = await context.newPage();
      await site.goto(servers.lantern.url);
      try {
        for (const [tool, path] of Object.entries(INPUTS)) {
          const framed = await runThroughClient(embedder.page, tool, path);
          assert.equal(framed.code, undefined, `${tool}: ${framed.message}`);
          await site.locator(`#tab-${tool}`).click();
          const job = await runJobs(site, [path]);
          if (tool === 'image-to-text') {
            assert.equal(framed.text, await job.locator('.plain').inputValue(), tool);
            assert.ok(framed.text.length > 10, framed.text);
          } else {
            const { bytes } = await download(job.locator('.download'));
            assert.ok(Buffer.from(framed.bytes).equals(bytes), `${tool}: the framed result differs from the site's`);
          }
        }
      } finally {
        await context.close();
      }
    });

    test('options in a run set what the tool does, and bad ones are refused by name', async () => {
      const mask = await runThroughClient(embedder.page, 'remove-background', INPUTS['remove-background'], { output: 'jpeg', background: '#00ff00' });
      assert.deepEqual(mask.bytes.slice(0, 3), [0xff, 0xd8, 0xff], 'a JPEG');
      const refused = await runThroughClient(embedder.page, 'remove-background', INPUTS['remove-background'], { style: 3 });
      assert.equal(refused.code, 'bad-options');
      assert.match(refused.message, /Remove background takes no option “style”/);
      const outOfRange = await runThroughClient(embedder.page, 'cartoonify', INPUTS.cartoonify, { strength: 140 });
      assert.deepEqual([outOfRange.code, outOfRange.message], ['bad-options', 'strength must be a whole number from 0 to 100, not 140.']);
      const unknownLanguage = await runThroughClient(embedder.page, 'image-to-text', INPUTS['image-to-text'], { language: 'klingon' });
      assert.deepEqual([unknownLanguage.code, unknownLanguage.message], ['bad-options', 'language must be a language code of models/index.json (such as eng, ukr, ara), not "klingon".']);
    });

    test('bad messages get a stable error code each, and the frame goes on running', async () => {
      const answers = await embedder.page.evaluate(async () => {
        const frame = document.querySelectorAll('iframe')[1];
        const origin = new URL(frame.src).origin;
        const replies = [];
        const listener = (event) => {
          if (event.source === frame.contentWindow && event.data?.type === 'lantern:error') replies.push(event.data);
        };
        window.addEventListener('message', listener);
        const png = await (await fetch('favicon.svg')).arrayBuffer();
        const sends = [
          { type: 'lantern:run', tool: 'remove-background', image: png },
          { type: 'lantern:run', id: 'b', tool: 'sharpen', image: png },
          { type: 'lantern:run', id: 'c', tool: 'remove-background', image: 'not bytes' },
          { type: 'lantern:run', id: 'd', tool: 'remove-background', image: new Blob(['hello'], { type: 'text/plain' }) },
          { type: 'lantern:run', id: 'e', tool: 'remove-background', image: new TextEncoder().encode('not an image at all').buffer },
          { type: 'lantern:run', id: 'f', tool: 'remove-background', image: png, options: 'fast' },
          { type: 'lantern:dance', id: 'g' },
        ];
        for (const message of sends) frame.contentWindow.postMessage(message, origin);
        const deadline = Date.now() + 60_000;
        while (replies.length < sends.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        window.removeEventListener('message', listener);
        return replies.map(({ id, code }) => ({ id, code }));
      });
      const byId = Object.fromEntries(answers.map(({ id, code }) => [String(id), code]));
      assert.deepEqual(byId, {
        null: 'bad-request',
        b: 'unknown-tool',
        c: 'bad-request',
        d: 'not-an-image',
        e: 'not-an-image',
        f: 'bad-request',
        g: 'bad-request',
      });
      const after = await runThroughClient(embedder.page, 'remove-background', INPUTS['remove-background']);
      assert.equal(after.code, undefined, after.message);
    });

    test('a flood of runs: those past the queue\'s limit are refused as busy, and the rest all finish', async () => {
      const outcomes = await embedder.page.evaluate(async (bytes) => {
        const runs = Array.from({ length: 20 }, () =>
          window.lantern.removeBackground(new Blob([new Uint8Array(bytes)], { type: 'image/png' }), { output: 'mask' }).then(() => 'done', (e) => e.code));
        return Promise.all(runs);
      }, Array.from(readFileSync(INPUTS['remove-background'])));
      const count = (what) => outcomes.filter((outcome) => outcome === what).length;
      assert.equal(count('done') + count('busy'), 20, outcomes.join(' '));
      assert.ok(count('busy') >= 4 && count('done') >= 16, outcomes.join(' '));
    });

    test('an AbortSignal cancels a run in the frame', async () => {
      const outcome = await embedder.page.evaluate(async (bytes) => {
        const controller = new AbortController();
        const image = new Blob([new Uint8Array(bytes)], { type: 'image/png' });
        const run = window.lantern.cartoonify(image, { detail: 'full' }, {
          signal: controller.signal,
          onProgress: () => controller.abort(),
        });
        return run.then(() => 'done', (e) => e.code);
      }, Array.from(readFileSync(INPUTS.cartoonify)));
      assert.equal(outcome, 'cancelled');
    });

    test('nothing breaks either page\'s Content-Security-Policy', () => {
      assert.deepEqual(embedder.cspViolations, []);
    });
  });

  test('a plain embedder\'s frame runs the single-thread build', async () => {
    const embedder = await openEmbedder(browser, servers.plain.url, servers.lantern.url);
    try {
      assert.match(await embedder.page.evaluate(() => window.lantern.backend), /^single/);
      const result = await runThroughClient(embedder.page, 'remove-background', INPUTS['remove-background']);
      assert.equal(result.code, undefined, result.message);
    } finally {
      await embedder.context.close();
    }
  });
});

describe('embed.json: who may embed a copy', { timeout: 600_000 }, () => {
  let browser;
  let site;
  const servers = {};
  let headerless;

  before(async () => {
    browser = await chromium.launch(CHROMIUM);
    // dist/ as a self-hoster deploys it, with an embed.json of their own listing one origin.
    site = mkdtempSync(join(tmpdir(), 'lantern-embed-json-'));
    for (const entry of readdirSync(dist)) {
      if (entry !== 'embed.json') symlinkSync(join(dist, entry), join(site, entry));
    }
    const [lanternPort, listedPort] = [await freePort(), await freePort()];
    const lanternOrigin = `http://127.0.0.1:${lanternPort}`;
    writeFileSync(join(site, 'embed.json'), JSON.stringify({ allow: [`http://127.0.0.1:${listedPort}`] }));
    servers.lantern = await startServer({ root: site, isolated: true, port: lanternPort });
    servers.listed = await startServer({ root: dist, isolated: false, port: listedPort, frameSources: [lanternOrigin] });
    // A host that sends no headers at all, as some static hosts: only the page itself can refuse.
    headerless = await startStaticServer(site, {});
    servers.other = await startServer({ root: dist, isolated: false, frameSources: [lanternOrigin, new URL(headerless.url).origin] });
  });

  after(async () => {
    await browser?.close();
    for (const { server } of Object.values(servers)) server.kill();
    await stopServer(headerless?.server);
    if (site) rmSync(site, { recursive: true, force: true });
  });

  test('lantern-serve sends the listed origins as frame-ancestors', async () => {
    const policy = (await fetch(servers.lantern.url)).headers.get('content-security-policy');
    assert.match(policy, new RegExp(`; frame-ancestors 'self' ${new URL(servers.listed.url).origin}$`));
  });

  test('the listed origin embeds it and runs a tool', async () => {
    const embedder = await openEmbedder(browser, servers.listed.url, servers.lantern.url);
    try {
      assert.equal(embedder.refused, null);
      const result = await runThroughClient(embedder.page, 'remove-background', INPUTS['remove-background']);
      assert.equal(result.code, undefined, result.message);
    } finally {
      await embedder.context.close();
    }
  });

  test('another origin is refused the frame by the browser', async () => {
    const embedder = await openEmbedder(browser, servers.other.url, servers.lantern.url, { timeout: 5_000 });
    try {
      assert.equal(embedder.refused, 'no-answer');
    } finally {
      await embedder.context.close();
    }
  });

  test('on a host that sends no headers, another origin gets no answer and a warning saying why', async () => {
    const lantern = headerless.url;
    const embedder = await openEmbedder(browser, servers.other.url, lantern, { timeout: 5_000 });
    try {
      assert.equal(embedder.refused, 'no-answer');
      const warning = embedder.logs.find((log) => log.includes('may not embed this page'));
      assert.equal(
        warning,
        `Lantern: ${new URL(servers.other.url).origin} may not embed this page (embed.json allows ${new URL(servers.listed.url).origin}); it gets no answer.`,
      );
    } finally {
      await embedder.context.close();
    }
  });
});

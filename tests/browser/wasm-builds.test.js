// The build chooser that ships beside the wasm builds: its relaxed SIMD probe must validate exactly
// where the engine has relaxed SIMD. Node 20's V8 has it behind a flag, so both answers are seen.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

import { repo } from './serve.js';

const chooser = join(repo, 'worker/wasm/builds.js');

function probe(v8Flag) {
  const script = `import(${JSON.stringify(chooser)}).then((m) => console.log(JSON.stringify([m.relaxedSimd, m.buildFor(true), m.buildFor(false)])))`;
  return JSON.parse(execFileSync(process.execPath, [v8Flag, '--input-type=module', '-e', script], { encoding: 'utf8' }));
}

test('engines with relaxed SIMD get the -relaxed builds', () => {
  assert.deepEqual(probe('--experimental-wasm-relaxed-simd'), [true, 'threads-relaxed', 'single-relaxed']);
});

test('engines without it get the simd128 builds', () => {
  assert.deepEqual(probe('--no-experimental-wasm-relaxed-simd'), [false, 'threads', 'single']);
});

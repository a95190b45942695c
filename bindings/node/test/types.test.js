'use strict';
// index.d.ts is complete and right: tsc --noEmit checks test/types/*.ts and the examples against it.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const PACKAGE_DIR = path.join(__dirname, '..');

test('tsc --noEmit accepts the declarations, the types test and the examples', { timeout: 120000 }, () => {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [PACKAGE_DIR] });
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(PACKAGE_DIR, 'tsconfig.json')], {
    cwd: PACKAGE_DIR,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});

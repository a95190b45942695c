#!/usr/bin/env node
'use strict';
// `npm install` runs this. With a prebuilt addon for this platform that loads here, there is
// nothing to do (no compiler needed); otherwise the addon is compiled from the package's sources
// (scripts/build-native.js). `node scripts/install.js --build` always compiles.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PACKAGE_DIR = path.resolve(__dirname, '..');
const prebuilt = path.join(PACKAGE_DIR, 'prebuilds', `${process.platform}-${process.arch}`, 'twinlink.node');

function loads(file) {
  const result = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { encoding: 'utf8' });
  return { ok: result.status === 0, why: (result.stderr || '').split('\n').find((line) => line.trim()) || '' };
}

const forceBuild = process.argv.includes('--build') || process.env.TWINLINK_BUILD_FROM_SOURCE === '1';
if (!forceBuild && fs.existsSync(prebuilt)) {
  const { ok, why } = loads(prebuilt);
  if (ok) {
    process.stderr.write(`twinlink: using the prebuilt addon for ${process.platform}-${process.arch}\n`);
    process.exit(0);
  }
  process.stderr.write(`twinlink: the prebuilt addon does not load here (${why}); compiling from source\n`);
}
require('./build-native.js');

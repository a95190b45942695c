'use strict';
// The examples run: the sensor follows a desire that the backend makes, and both exit cleanly.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { useCloud } = require('./helpers/fixture');
const { uniqueId, waitFor, tempDir, REPO_ROOT } = require('./helpers/cloud');

const env = useCloud();
const EXAMPLES = path.join(REPO_ROOT, 'examples', 'node');

// The examples require('twinlink') as an installed package would be found.
function nodePath() {
  const dir = path.join(tempDir('examples'), 'node_modules');
  fs.mkdirSync(dir);
  fs.symlinkSync(path.join(__dirname, '..'), path.join(dir, 'twinlink'), 'dir');
  return dir;
}

function run(file, args, extraEnv = {}) {
  const child = spawn(process.execPath, [path.join(EXAMPLES, file), ...args], {
    env: { ...process.env, NODE_PATH: env.nodePath, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { text: '' };
  child.stdout.on('data', (chunk) => (output.text += chunk));
  child.stderr.on('data', (chunk) => (output.text += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, output, exited };
}

test('sensor.js follows the LED that backend.js asks for', { timeout: 60000 }, async () => {
  env.nodePath = nodePath();
  const id = uniqueId('example-sensor');
  const sensor = run('sensor.js', [id, env.broker.uri], { DURATION_MS: '6000' });
  try {
    await waitFor(() => sensor.output.text.includes('connected to'), { timeout: 15000, what: 'the sensor to connect' });
    const backend = run('backend.js', [id, env.broker.uri, 'on']);
    assert.equal(await backend.exited, 0, backend.output.text);
    assert.match(backend.output.text, /reported led=on/);
    assert.match(sensor.output.text, /LED on/);
    assert.equal(await sensor.exited, 0, sensor.output.text);
    assert.match(sensor.output.text, /closed \(\d+ points delivered/);
  } finally {
    sensor.child.kill();
  }
});

'use strict';
// Lifetimes, each in a process of its own: a connected device keeps the process alive, close()
// or unref() lets it end, a device collected without close() is freed, and a listener's exception
// nobody handles is the process's uncaught exception.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const mqtt = require('mqtt');
const { useCloud } = require('./helpers/fixture');
const { uniqueId, waitFor, sleep } = require('./helpers/cloud');

const env = useCloud({ cloud: false });
const PROGRAM = path.join(__dirname, 'programs', 'lifetime.js');

function runProgram(scenario, id, nodeFlags = []) {
  const child = spawn(process.execPath, [...nodeFlags, PROGRAM, scenario, env.broker.uri, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => (output.stdout += chunk));
  child.stderr.on('data', (chunk) => (output.stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output, exited };
}

async function exitWithin(run, ms) {
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, ms, 'timeout')));
  const result = await Promise.race([run.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    run.child.kill('SIGKILL');
    await run.exited;
    assert.fail(`still running after ${ms} ms\n${run.output.stdout}${run.output.stderr}`);
  }
  return result;
}

test('after close() the process exits on its own', async () => {
  const run = runProgram('close', uniqueId('life-close'));
  const { code } = await exitWithin(run, 20000);
  assert.equal(code, 0, run.output.stderr);
  assert.match(run.output.stdout, /ready/);
});

test('a connected device keeps the process alive; unref() lets it exit', async () => {
  const alive = runProgram('connected', uniqueId('life-alive'));
  await waitFor(() => alive.output.stdout.includes('ready'), { timeout: 15000, what: 'ready' });
  await sleep(1500);
  assert.equal(alive.child.exitCode, null, 'the process ended while its device was connected');
  alive.child.kill('SIGTERM');
  await alive.exited;

  const unrefed = runProgram('unref', uniqueId('life-unref'));
  const { code, signal } = await exitWithin(unrefed, 20000);
  assert.equal(signal, null, unrefed.output.stderr);
  assert.equal(code, 0, unrefed.output.stderr);
});

test('a device collected without close() is freed: the broker sees it go', async () => {
  const id = uniqueId('life-gc');
  const watcher = await mqtt.connectAsync(env.broker.uri);
  const statuses = [];
  watcher.on('message', (_topic, payload) => statuses.push(payload.toString()));
  await watcher.subscribeAsync(`tl/${id}/status`, { qos: 1 });
  try {
    const run = runProgram('gc', id, ['--expose-gc']);
    await waitFor(() => statuses.includes('online'), { timeout: 15000, what: 'online presence' });
    await waitFor(() => statuses.at(-1) === 'offline', { timeout: 15000, what: 'offline presence after GC' });
    const { code, signal } = await exitWithin(run, 20000);
    assert.equal(signal, null, run.output.stderr);
    assert.equal(code, 0, run.output.stderr);
    assert.match(run.output.stdout, /collected/);
  } finally {
    await watcher.endAsync();
  }
});

test("a listener's exception with no 'error' listener is the process's uncaught exception", async () => {
  const run = runProgram('uncaught', uniqueId('life-uncaught'));
  const { code } = await exitWithin(run, 20000);
  assert.equal(code, 0, run.output.stderr);
  assert.match(run.output.stdout, /uncaught: listener failed/);
});

'use strict';
// Worker threads: each environment has its own devices; a worker that ends with its device still
// open does not take the process down.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { once } = require('node:events');
const { Device } = require('..');
const { useCloud } = require('./helpers/fixture');
const { uniqueId } = require('./helpers/cloud');

const env = useCloud();
const PROGRAM = path.join(__dirname, 'programs', 'worker.js');

function startWorker(close) {
  return new Worker(PROGRAM, { workerData: { broker: env.broker.uri, id: uniqueId('worker'), close } });
}

test('two workers and the main thread each run a device at once', { timeout: 60000 }, async () => {
  const main = await Device.connect(uniqueId('main'), { broker: env.broker.uri });
  try {
    const workers = [startWorker(true), startWorker(true)];
    const exited = workers.map(async (w) => (await once(w, 'exit'))[0]);
    main.datapoints.record('m', 1);
    const results = await Promise.all(workers.map(async (w) => (await once(w, 'message'))[0]));
    for (const result of results) assert.deepEqual(result, { confirmed: 1000 });
    const exits = await Promise.all(exited);
    assert.deepEqual(exits, [0, 0]);
    await main.datapoints.flush();
    assert.equal(main.datapoints.stats().confirmedPoints, 1);
  } finally {
    await main.close();
  }
});

test('a worker terminated with its device connected ends cleanly', { timeout: 60000 }, async () => {
  const worker = startWorker(false);
  const [result] = await once(worker, 'message');
  assert.deepEqual(result, { confirmed: 1000 });
  // The device is still connected: terminate() ends the worker; the addon closes what it left.
  const [code] = await Promise.all([once(worker, 'exit').then(([c]) => c), worker.terminate()]);
  assert.equal(code, 1);
});

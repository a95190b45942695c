'use strict';
// A worker thread with a device of its own (worker.test.js).
const { parentPort, workerData } = require('node:worker_threads');
const { Device } = require('../..');

(async () => {
  const dev = await Device.connect(workerData.id, { broker: workerData.broker });
  await dev.shadow.report({ from: 'worker' });
  for (let i = 0; i < 1000; i++) dev.datapoints.record('w', i);
  await dev.datapoints.flush();
  const confirmed = dev.datapoints.stats().confirmedPoints;
  if (workerData.close) await dev.close();
  parentPort.postMessage({ confirmed });
})().catch((error) => parentPort.postMessage({ error: error.message }));

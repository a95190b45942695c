'use strict';
// A hundred devices in one process, connecting at once: the addon's own threads wait for the
// broker, so libuv's pool (fs, dns) stays free meanwhile.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs/promises');
const { Device } = require('..');
const { useCloud } = require('./helpers/fixture');
const { uniqueId } = require('./helpers/cloud');

const env = useCloud();
const COUNT = 100;

test(`${COUNT} devices connect at once, report, record and close`, { timeout: 180000 }, async () => {
  const started = Date.now();
  let fsCalls = 0;
  let connecting = true;
  // Meanwhile, fs work on libuv's pool must go on.
  const fsLoop = (async () => {
    while (connecting) {
      await fs.stat(__filename);
      fsCalls += 1;
    }
  })();
  const devices = await Promise.all(
    Array.from({ length: COUNT }, (_, i) => Device.connect(uniqueId(`fleet-${i}`), { broker: env.broker.uri, timeout: 60000 })),
  );
  connecting = false;
  await fsLoop;
  const connectSeconds = (Date.now() - started) / 1000;
  try {
    assert.ok(devices.every((d) => d.connected));
    // Were the connects queued on libuv's pool (4 threads), the one fs call queued behind them
    // would complete only once most devices had connected: one or two calls in all. The count
    // itself depends on how fast the connects are (75 in 0.5 s on a loaded machine), so the bar
    // is set well below it and well above that.
    assert.ok(fsCalls > 10, `only ${fsCalls} fs calls completed while ${COUNT} devices connected`);
    await Promise.all(devices.map((d, i) => d.shadow.report({ index: i })));
    for (const d of devices) for (let i = 0; i < 100; i++) d.datapoints.record('t', i);
    await Promise.all(devices.map((d) => d.datapoints.flush({ timeout: 30000 })));
    assert.equal(devices.reduce((n, d) => n + d.datapoints.stats().confirmedPoints, 0), COUNT * 100);
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
  process.stdout.write(`# ${COUNT} devices connected in ${connectSeconds.toFixed(1)} s, ${fsCalls} fs calls meanwhile\n`);
});

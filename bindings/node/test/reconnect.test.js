'use strict';
// The broker restarts: the device sees it go, reconnects on its own, and what it reported and
// recorded meanwhile arrives.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mqtt = require('mqtt');
const { Device } = require('..');
const { Broker, uniqueId, waitFor, sleep } = require('./helpers/cloud');

test('a device reconnects after the broker restarts, and its offline data follows', { timeout: 60000 }, async () => {
  const broker = await new Broker().start();
  const id = uniqueId('reconnect');
  const dev = await Device.connect(id, {
    broker: broker.uri,
    reconnectBackoff: [100, 500],
    delivery: 'broker',
    batchLinger: 50,
  });
  const states = [];
  dev.on('connection', (event) => states.push(event.state));
  try {
    await broker.stop();
    await waitFor(() => states.includes('reconnecting'), { timeout: 10000, what: 'the reconnecting event' });
    assert.equal(dev.connected, false);
    for (let i = 0; i < 100; i++) dev.datapoints.record('offline', i);
    dev.shadow.reportNoWait({ seen: 'offline' });
    await sleep(200);
    await broker.start();
    await waitFor(() => dev.connected, { timeout: 15000, what: 'the reconnect' });
    // A subscriber that only comes now still gets the batches: they were kept, not sent into the void.
    const subscriber = await mqtt.connectAsync(broker.uri);
    try {
      await dev.datapoints.flush({ timeout: 10000 });
      const stats = dev.stats();
      assert.equal(stats.datapoints.ackedPoints, 100);
      assert.ok(stats.client.reconnects >= 1);
      assert.ok(states.lastIndexOf('connected') > states.indexOf('reconnecting'));
    } finally {
      await subscriber.endAsync();
    }
  } finally {
    await dev.close();
    await broker.stop();
  }
});

'use strict';
// Datapoints: every value type, arrays read in place, delivery confirmed by the sink's receipts
// (twinlink serve) or by the broker, and the points as the cloud stored them.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mqtt = require('mqtt');
const { Device, Client } = require('..');
const { useCloud } = require('./helpers/fixture');
const { uniqueId, waitFor } = require('./helpers/cloud');

const env = useCloud();

function storedPoints(device, series) {
  const text = env.cloud.cli('dp', 'query', device, series, '--db', env.cloud.db);
  return text.split('\n').filter(Boolean);
}

test('record() and recordMany() reach the sink, confirmed by its receipts', async () => {
  const dev = await Device.connect(uniqueId('dp'), { broker: env.broker.uri, encoding: 'cbor' });
  try {
    const t0 = Date.now() - 60000;
    dev.datapoints.record('temp', 21.5, t0);
    dev.datapoints.record('count', 7n, t0 + 1);
    dev.datapoints.record('on', true, t0 + 2);
    dev.datapoints.record('mode', 'eco', t0 + 3);
    dev.datapoints.record('pos', { lat: 48.1, lon: 11.5 }, new Date(t0 + 4));
    const values = Float64Array.from({ length: 1000 }, (_, i) => i / 10);
    const times = BigInt64Array.from({ length: 1000 }, (_, i) => BigInt(t0 + i));
    dev.datapoints.recordMany('vib', values, times);
    dev.datapoints.recordMany('ticks', BigInt64Array.from([1n, 2n, 3n]));
    dev.datapoints.recordMany('list', [1, 2, 3], [t0, t0 + 1, t0 + 2]);
    await dev.datapoints.flush();
    const stats = dev.datapoints.stats();
    assert.equal(stats.recorded, 1011);
    assert.equal(stats.confirmedPoints, 1011);
    assert.equal(stats.droppedPoints, 0);
    assert.equal(storedPoints(dev.id, 'vib').length, 1000);
    assert.match(storedPoints(dev.id, 'temp')[0], /21\.5/);
    assert.match(storedPoints(dev.id, 'mode')[0], /"eco"/);
    assert.match(storedPoints(dev.id, 'pos')[0], /"lat":48\.1/);
    assert.match(storedPoints(dev.id, 'count')[0], /\b7\b/);
  } finally {
    await dev.close();
  }
});

test("encoding 'compact' batches reach the sink", async () => {
  const dev = await Device.connect(uniqueId('dp-compact'), { broker: env.broker.uri, encoding: 'compact' });
  try {
    const t0 = Date.now() - 60000;
    const values = Float64Array.from({ length: 500 }, (_, i) => 20 + i / 100);
    const times = BigInt64Array.from({ length: 500 }, (_, i) => BigInt(t0 + i * 1000));
    dev.datapoints.recordMany('temp', values, times);
    dev.datapoints.record('on', true, t0);
    dev.datapoints.record('mode', 'eco', t0 + 1);
    await dev.datapoints.flush();
    const stats = dev.datapoints.stats();
    assert.equal(stats.confirmedPoints, 502);
    assert.equal(storedPoints(dev.id, 'temp').length, 500);
    assert.match(storedPoints(dev.id, 'mode')[0], /"eco"/);
  } finally {
    await dev.close();
  }
});

test("delivery 'broker' counts a batch delivered at the PUBACK, for a plain MQTT subscriber", async () => {
  const id = uniqueId('dp-broker');
  const subscriber = await mqtt.connectAsync(env.broker.uri, { clean: true });
  const batches = [];
  subscriber.on('message', (_topic, payload) => batches.push(JSON.parse(payload.toString())));
  await subscriber.subscribeAsync(`tl/${id}/dp`, { qos: 1 });
  const dev = await Device.connect(id, { broker: env.broker.uri, delivery: 'broker', batchLinger: 50 });
  try {
    for (let i = 0; i < 20; i++) dev.datapoints.record('temp', i);
    await dev.datapoints.flush();
    assert.equal(dev.datapoints.stats().ackedPoints, 20);
    await waitFor(() => batches.length > 0, { what: 'the batch at the subscriber' });
    assert.equal(batches[0].device, id);
    assert.equal(typeof batches[0].seq, 'number');
  } finally {
    await dev.close();
    await subscriber.endAsync();
  }
});

test('a pipeline on a plain client, for a gateway that sends for another device', async () => {
  const app = await Client.connect(env.broker.uri);
  try {
    const id = uniqueId('gw');
    const dp = await app.datapoints(id, { batchMaxPoints: 10 });
    for (let i = 0; i < 25; i++) dp.record('t', i);
    await dp.flush();
    assert.equal(dp.stats().confirmedPoints, 25);
    assert.equal(storedPoints(id, 't').length, 25);
    await dp.close();
    assert.equal(dp.closed, true);
  } finally {
    await app.close();
  }
});

test('bad values are TypeErrors or RangeErrors that name the argument', async () => {
  const dev = await Device.create(uniqueId('dp-args'), { broker: env.broker.uri });
  try {
    const dp = dev.datapoints;
    assert.throws(() => dp.record(42, 1), { name: 'TypeError', message: /"name"/ });
    assert.throws(() => dp.record('x', Symbol('s')), { name: 'TypeError', message: /"value"/ });
    assert.throws(() => dp.record('x', [1, 2]), { name: 'TypeError', message: /"value"/ });
    assert.throws(() => dp.record('x', 1, 'yesterday'), { name: 'TypeError', message: /"timestamp"/ });
    assert.throws(() => dp.record('x', 1, Infinity), { name: 'RangeError', message: /"timestamp"/ });
    assert.throws(() => dp.recordMany('x', new Float32Array(3)), { name: 'TypeError', message: /"values"/ });
    assert.throws(() => dp.recordMany('x', new Float64Array(3), new BigInt64Array(2)), { name: 'RangeError', message: /"timestamps"/ });
    assert.throws(() => dp.record('a/b', 1), { name: 'InvalidArgumentError', code: 'invalid argument' });
    assert.equal(dp.stats().recorded, 0);
  } finally {
    await dev.close();
  }
});

test('record() of numbers: buffered for the tick, counted at once, in order, and every point stored', async () => {
  const dev = await Device.connect(uniqueId('dp-staged'), { broker: env.broker.uri });
  try {
    const dp = dev.datapoints;
    const t0 = Date.now() - 60000;
    // More than one buffer's worth (1024), two series interleaved, other kinds in between.
    for (let i = 0; i < 3000; i++) dp.record(i % 2 ? 'odd' : 'even', i, t0 + i);
    dp.record('mixed', 1, t0);
    dp.record('mixed', 'two', t0 + 1);
    dp.record('mixed', 3, new Date(t0 + 2));
    dp.record('mixed', 4n, t0 + 3);
    dp.record('now', 0.5);
    assert.equal(dp.stats().recorded, 3005); // stats() counts what is still buffered
    // Errors are thrown by the call that causes them, buffered or not.
    assert.throws(() => dp.record('bad/name', 1), { name: 'InvalidArgumentError' });
    assert.throws(() => dp.record('odd', NaN), { name: 'InvalidArgumentError' });
    assert.throws(() => dp.record('odd', 1, 1.5e16), { name: 'RangeError', message: /"timestamp"/ });
    assert.equal(dp.stats().recorded, 3005);
    await dp.flush();
    assert.equal(dp.stats().confirmedPoints, 3005);
    const odd = storedPoints(dev.id, 'odd');
    assert.equal(odd.length, 1500);
    assert.equal(storedPoints(dev.id, 'even').length, 1500);
    const mixed = storedPoints(dev.id, 'mixed');
    assert.equal(mixed.length, 4);
    assert.match(mixed.join('\n'), /"two"/);
    assert.equal(storedPoints(dev.id, 'now').length, 1);
  } finally {
    await dev.close();
  }
  // After close, record() throws at once, as it did before the buffer existed.
  assert.throws(() => dev.datapoints.record('odd', 1), { name: 'StateError' });
});

test('a tick that ends with points buffered hands them over without a flush', async () => {
  const dev = await Device.connect(uniqueId('dp-tick'), { broker: env.broker.uri, delivery: 'broker', batchLinger: 20 });
  try {
    dev.datapoints.record('t', 1);
    dev.datapoints.record('t', 2);
    await waitFor(() => dev.datapoints.stats().ackedPoints === 2, { what: 'the points acknowledged without flush()' });
  } finally {
    await dev.close();
  }
});

test("backpressure 'drop-newest' goes to the pipeline on every call, so record() throws QueueFullError itself", async () => {
  // Offline, with a backlog of two small batches and a one-batch pending cap: the third batch's
  // points are refused at once.
  const dev = await Device.create(uniqueId('dp-newest'), {
    broker: env.broker.uri, backpressure: 'drop-newest', batchMaxPoints: 10, batchMaxBytes: 1024,
    backlogMaxBytes: 2048, maxPendingPoints: 10, batchLinger: 5,
  });
  try {
    let refused = null;
    for (let i = 0; i < 10000 && !refused; i++) {
      try {
        dev.datapoints.record('t', i);
      } catch (error) {
        refused = error;
      }
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(refused, 'record() threw');
    assert.equal(refused.name, 'QueueFullError');
    assert.ok(dev.datapoints.stats().rejectedPoints >= 1);
  } finally {
    await dev.close();
  }
});

'use strict';
// Devices and clients sharing one Runtime: they connect and receive on its threads, it counts
// them, and closing it before them is harmless (the devices hold references of their own).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Device, Client, Runtime, StateError } = require('..');
const { useCloud } = require('./helpers/fixture');
const { uniqueId, waitFor } = require('./helpers/cloud');

const env = useCloud({ cloud: false });
const COUNT = 20;

test('Runtime checks its options', () => {
  assert.throws(() => new Runtime({ threads: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new Runtime({ threads: 257 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new Runtime({ threads: '2' }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new Runtime({ thread: 2 }), { code: 'ERR_INVALID_ARG_VALUE' });
  const runtime = new Runtime({ threads: 3 });
  assert.equal(runtime.threads, 3);
  assert.equal(runtime.clients, 0);
  assert.equal(new Runtime().threads, 2);
  runtime.close();
  runtime.close();
  assert.equal(runtime.closed, true);
  assert.throws(() => runtime.clients, StateError);
});

test('the runtime option takes a Runtime, and not a closed one', async () => {
  await assert.rejects(Device.create(uniqueId('rt-bad'), { broker: env.broker.uri, runtime: 'shared' }), {
    code: 'ERR_INVALID_ARG_TYPE',
  });
  const runtime = new Runtime({ threads: 1 });
  runtime.close();
  await assert.rejects(Device.create(uniqueId('rt-closed'), { broker: env.broker.uri, runtime }), StateError);
});

test(`${COUNT} devices on one runtime connect and receive`, { timeout: 120000 }, async () => {
  const runtime = new Runtime({ threads: 4 });
  const id = uniqueId('rt');
  const devices = await Promise.all(
    Array.from({ length: COUNT }, (_, i) => Device.connect(`${id}-${i}`, { broker: env.broker.uri, runtime, timeout: 30000 })),
  );
  const publisher = await Client.connect({ broker: env.broker.uri, runtime });
  try {
    assert.equal(runtime.clients, COUNT + 1);
    const received = new Map();
    await Promise.all(
      devices.map((d, i) => d.client.subscribe(`${id}/in/${i}`, (message) => received.set(i, message.payload.toString()))),
    );
    for (let i = 0; i < COUNT; i++) await publisher.publish(`${id}/in/${i}`, `m${i}`, { qos: 1 });
    await waitFor(() => received.size === COUNT, { what: 'a message for every device' });
    for (let i = 0; i < COUNT; i++) assert.equal(received.get(i), `m${i}`);
  } finally {
    await Promise.all(devices.map((d) => d.close()));
    await publisher.close();
  }
  await waitFor(() => runtime.clients === 0, { what: 'the runtime to count no clients' });
  runtime.close();
});

test('closing the runtime before its devices is safe', { timeout: 60000 }, async () => {
  const runtime = new Runtime({ threads: 1 });
  const id = uniqueId('rt-early');
  const devices = await Promise.all(
    Array.from({ length: 3 }, (_, i) => Device.connect(`${id}-${i}`, { broker: env.broker.uri, runtime })),
  );
  assert.equal(runtime.clients, 3);
  runtime.close();
  try {
    let got = null;
    await devices[0].client.subscribe(`${id}/x`, (message) => {
      got = message.payload.toString();
    });
    await devices[1].client.publish(`${id}/x`, 'hello', { qos: 1 });
    await waitFor(() => got !== null, { what: 'the message' });
    assert.equal(got, 'hello');
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
});

'use strict';
// Callbacks: a listener that throws goes to the 'error' event and the next events still come;
// close() from inside a listener works.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Device, Client } = require('..');
const { useCloud } = require('./helpers/fixture');
const { uniqueId, waitFor } = require('./helpers/cloud');

const env = useCloud();

test("a throwing delta listener goes to the device's 'error' event, and deltas keep coming", async () => {
  const dev = await Device.connect(uniqueId('throw'), { broker: env.broker.uri });
  const app = await Client.connect(env.broker.uri);
  try {
    const errors = [];
    const versions = [];
    dev.on('error', (error) => errors.push(error));
    dev.shadow.on('delta', (delta, version) => {
      versions.push(version);
      throw new Error(`failed on ${JSON.stringify(delta)}`);
    });
    const shadow = await app.shadow(dev.id);
    await shadow.desire({ a: 1 });
    await shadow.desire({ a: 2 });
    await waitFor(() => errors.length >= 2, { what: 'two errors' });
    assert.match(errors[0].message, /failed on \{"a":1\}/);
    assert.equal(versions.length, 2);
  } finally {
    await app.close();
    await dev.close();
  }
});

test("a throwing message listener goes to the client's 'error' event", async () => {
  const client = await Client.connect(env.broker.uri);
  try {
    const failed = new Promise((resolve) => client.once('error', resolve));
    await client.subscribe('test/throw', () => {
      throw new Error('message listener failed');
    });
    await client.publish('test/throw', 'x');
    assert.match((await failed).message, /message listener failed/);
  } finally {
    await client.close();
  }
});

test('close() inside a delta listener', async () => {
  const dev = await Device.connect(uniqueId('close-in-delta'), { broker: env.broker.uri });
  const app = await Client.connect(env.broker.uri);
  try {
    const closed = new Promise((resolve) => {
      dev.shadow.on('delta', () => {
        dev.close().then(resolve);
      });
    });
    await (await app.shadow(dev.id)).desire({ stop: true });
    await closed;
    assert.equal(dev.closed, true);
  } finally {
    await app.close();
    await dev.close();
  }
});

test('close() inside a connection listener', async () => {
  const dev = await Device.create(uniqueId('close-in-connection'), { broker: env.broker.uri });
  const closed = new Promise((resolve) => {
    dev.on('connection', (event) => {
      if (event.state === 'connected') dev.close().then(resolve);
    });
  });
  await dev.connect();
  await closed;
  assert.equal(dev.closed, true);
});

test('a report from inside a delta listener is accepted (the usual pattern)', async () => {
  const dev = await Device.connect(uniqueId('follow'), { broker: env.broker.uri });
  const app = await Client.connect(env.broker.uri);
  try {
    dev.shadow.on('delta', (delta) => dev.shadow.report(delta));
    const shadow = await app.shadow(dev.id);
    await shadow.desire({ led: 'green' });
    await waitFor(async () => (await shadow.get()).state.reported?.led === 'green', { what: 'the reported led' });
  } finally {
    await app.close();
    await dev.close();
  }
});

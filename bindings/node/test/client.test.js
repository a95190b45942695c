'use strict';
// Publish and subscribe: Promises that resolve on the acknowledgement, listeners and async
// iterators, connection events and counters.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client, Device, Message, ConnectionEvent } = require('..');
const { useCloud } = require('./helpers/fixture');
const { uniqueId, waitFor } = require('./helpers/cloud');

const env = useCloud({ cloud: false });

test('publish resolves on the PUBACK and the subscriber gets the message', async () => {
  const client = await Client.connect(env.broker.uri, { clientId: uniqueId('pub') });
  try {
    const received = [];
    let done;
    const all = new Promise((resolve) => (done = resolve));
    const sub = await client.subscribe('test/pubsub/#', (message) => {
      received.push(message);
      if (received.length === 3) done();
    }, { qos: 2 });
    await client.publish('test/pubsub/text', 'hello');
    await client.publish('test/pubsub/bytes', Buffer.from([0, 1, 2]), { qos: 0 });
    await client.publish('test/pubsub/json', { a: 1 }, { qos: 2 });
    await all;
    await sub.unsubscribe();
    const byTopic = Object.fromEntries(received.map((m) => [m.topic, m]));
    assert.ok(byTopic['test/pubsub/text'] instanceof Message);
    assert.equal(byTopic['test/pubsub/text'].text(), 'hello');
    assert.deepEqual([...byTopic['test/pubsub/bytes'].payload], [0, 1, 2]);
    assert.deepEqual(byTopic['test/pubsub/json'].json(), { a: 1 });
    assert.equal(byTopic['test/pubsub/json'].qos, 2);
    const stats = client.stats();
    assert.ok(stats.messagesOut >= 3);
    assert.ok(stats.messagesIn >= 3);
  } finally {
    await client.close();
  }
});

test('a subscription without a listener is an async iterator; retained messages are flagged', async () => {
  const client = await Client.connect({ broker: env.broker.uri });
  try {
    const topic = `test/retained/${uniqueId('r')}`;
    await client.publish(topic, 'kept', { retain: true });
    const sub = await client.subscribe(topic);
    for await (const message of sub) {
      assert.equal(message.text(), 'kept');
      assert.equal(message.retained, true);
      break;
    }
    await client.publish(topic, '', { retain: true });
  } finally {
    await client.close();
  }
});

test('the device client publishes on topics of its own; connection events arrive on the device', async () => {
  const dev = await Device.create(uniqueId('devclient'), { broker: env.broker.uri });
  const events = [];
  dev.on('connection', (event) => events.push(event));
  await dev.connect();
  try {
    const topic = `test/devclient/${dev.id}`;
    const sub = await dev.client.subscribe(topic);
    await dev.client.publish(topic, 'x');
    const { value } = await sub[Symbol.asyncIterator]().next();
    assert.equal(value.text(), 'x');
    assert.equal(dev.client.id, dev.id);
    assert.throws(() => dev.client.close(), TypeError);
    // The event and connect()'s Promise travel separately from the C library's threads, so the
    // event may come a little after the Promise settled.
    await waitFor(() => events.some((e) => e instanceof ConnectionEvent && e.state === 'connected'), { what: "the 'connected' event" });
    assert.equal(dev.stats().state, 'connected');
  } finally {
    await dev.close();
  }
  assert.equal(dev.closed, true);
});

test('publishing while offline waits in the queue and completes after connect', async () => {
  const client = await Client.create(env.broker.uri);
  try {
    const published = client.publish('test/offline', 'later');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(client.stats().queuedMessages, 1);
    await client.connect();
    await published;
  } finally {
    await client.close();
  }
});

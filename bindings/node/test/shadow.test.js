'use strict';
// Shadows: reports and their acceptance, deltas as events and as async iterators, named shadows,
// a backend's view of a device's shadow, and the errors of the shadow requests.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Device, Client, ConflictError, NotFoundError, TimeoutError } = require('..');
const { useCloud } = require('./helpers/fixture');
const { uniqueId } = require('./helpers/cloud');

const env = useCloud();

async function withDevice(stem, fn, options = {}) {
  const dev = await Device.connect(uniqueId(stem), { broker: env.broker.uri, ...options });
  try {
    return await fn(dev);
  } finally {
    await dev.close();
  }
}

test('report resolves with the accepted update, and the document follows', async () => {
  await withDevice('report', async (dev) => {
    const accepted = await dev.shadow.report({ fw: '1.2.0', led: 'off' });
    assert.deepEqual(accepted.state.reported, { fw: '1.2.0', led: 'off' });
    assert.equal(typeof accepted.version, 'number');
    assert.deepEqual(dev.shadow.reported, { fw: '1.2.0', led: 'off' });
    await dev.shadow.report({ fw: null });
    assert.deepEqual(dev.shadow.reported, { led: 'off' });
    const document = await dev.shadow.get();
    assert.deepEqual(document.state.reported, { led: 'off' });
    assert.deepEqual(document.state.delta, {});
  });
});

test('a backend desires, the device gets the delta as an event and reports it back', async () => {
  await withDevice('delta', async (dev) => {
    await dev.shadow.report({ led: 'off' });
    const app = await Client.connect(env.broker.uri);
    try {
      const shadow = await app.shadow(dev.id);
      const deltas = [];
      const synced = new Promise((resolve) => {
        dev.shadow.on('delta', async (delta, version) => {
          deltas.push({ delta, version });
          await dev.shadow.report(delta);
          resolve();
        });
      });
      await shadow.desire({ led: 'on' });
      await synced;
      assert.deepEqual(deltas[0].delta, { led: 'on' });
      const document = await shadow.get();
      assert.equal(document.state.reported.led, 'on');
      assert.deepEqual(document.state.delta, {});
    } finally {
      await app.close();
    }
  });
});

test('deltas() is an async iterator that starts with the pending delta', async () => {
  await withDevice('iterate', async (dev) => {
    const app = await Client.connect(env.broker.uri);
    try {
      const shadow = await app.shadow(dev.id);
      await shadow.desire({ interval: 5 });
      // The delta is pending on the device once its shadow has it.
      await dev.shadow.get();
      const seen = [];
      for await (const { state, version } of dev.shadow.deltas()) {
        seen.push(state);
        assert.equal(typeof version, 'number');
        if (seen.length === 1) await shadow.desire({ interval: 10 });
        if (seen.length === 2) break;
      }
      assert.deepEqual(seen, [{ interval: 5 }, { interval: 10 }]);
    } finally {
      await app.close();
    }
  });
});

test('onDelta with a JSON pointer gets only that path, and remove() stops it', async () => {
  await withDevice('pointer', async (dev) => {
    const app = await Client.connect(env.broker.uri);
    try {
      const shadow = await app.shadow(dev.id);
      const leds = [];
      let resolveLed;
      const led = new Promise((resolve) => (resolveLed = resolve));
      const registration = dev.shadow.onDelta((value) => {
        leds.push(value);
        resolveLed();
      }, { path: '/led', initial: false });
      await shadow.desire({ other: 1 });
      await shadow.desire({ led: 'blue' });
      await led;
      registration.remove();
      assert.deepEqual(leds, ['blue']);
    } finally {
      await app.close();
    }
  });
});

test('named shadows are separate documents, made once per name', async () => {
  await withDevice('named', async (dev) => {
    const cfg = await dev.namedShadow('cfg');
    assert.equal(cfg, await dev.namedShadow('cfg'));
    assert.equal(cfg.name, 'cfg');
    await cfg.report({ interval: 5 });
    await dev.shadow.report({ led: 'off' });
    assert.deepEqual((await cfg.get()).state.reported, { interval: 5 });
    assert.deepEqual((await dev.shadow.get()).state.reported, { led: 'off' });
    const app = await Client.connect(env.broker.uri);
    try {
      assert.deepEqual((await (await app.shadow(dev.id, 'cfg')).get()).state.reported, { interval: 5 });
    } finally {
      await app.close();
    }
  });
});

test('a stale version is a ConflictError, a missing shadow a NotFoundError', async () => {
  await withDevice('errors', async (dev) => {
    await dev.shadow.report({ a: 1 });
    await assert.rejects(dev.shadow.update({ state: { desired: { a: 2 } }, version: 0 }), (error) => {
      assert.ok(error instanceof ConflictError);
      assert.equal(error.status, -17);
      assert.equal(typeof error.code, 'string');
      return true;
    });
    const app = await Client.connect(env.broker.uri);
    try {
      const missing = await app.shadow(uniqueId('nobody'));
      await assert.rejects(missing.get(), NotFoundError);
    } finally {
      await app.close();
    }
  });
});

test('a report without a cloud times out with a TimeoutError', async () => {
  // A prefix that twinlink serve does not answer.
  await withDevice('timeout', async (dev) => {
    await assert.rejects(dev.shadow.report({ a: 1 }, { timeout: 300 }), TimeoutError);
  }, { prefix: 'nobody-answers' });
});

test('change events carry the whole document', async () => {
  await withDevice('change', async (dev) => {
    const changed = new Promise((resolve) => dev.shadow.once('change', resolve));
    await dev.shadow.report({ mode: 'eco' });
    const document = await changed;
    assert.equal(document.state.reported.mode, 'eco');
  });
});

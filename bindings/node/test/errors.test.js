'use strict';
// Errors: the TwinlinkError classes, bad arguments, wrong handles, closed objects. No broker needed
// except where a connection fails on purpose.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const twinlink = require('..');
const native = require('../lib/native');
const { freePort } = require('./helpers/cloud');

const { Device, Client, TwinlinkError, InvalidArgumentError, TimeoutError, StateError, Status } = twinlink;

test('every status maps to its class, with .status and .code', () => {
  const { errorFor } = require('../lib/errors');
  const error = errorFor(Status.ETIMEOUT, 'timeout', 'no answer');
  assert.ok(error instanceof TimeoutError);
  assert.ok(error instanceof TwinlinkError);
  assert.ok(error instanceof Error);
  assert.equal(error.name, 'TimeoutError');
  assert.equal(error.status, -3);
  assert.equal(error.code, 'timeout');
  assert.equal(errorFor(Status.EQUEUE_FULL, 'queue full', 'm').name, 'QueueFullError');
  assert.ok(errorFor(Status.ECONFLICT, 'conflict', 'm') instanceof twinlink.RejectedError);
});

test('bad options are TypeErrors or RangeErrors that name the option', async () => {
  await assert.rejects(Device.create(42), { name: 'TypeError', message: /"deviceId"/ });
  await assert.rejects(Device.create('d', { broker: 'mqtt://127.0.0.1:1', keepalive: 'x' }), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_TYPE',
    message: /options\.keepalive/,
  });
  await assert.rejects(Device.create('d', { broker: 'mqtt://127.0.0.1:1', connectTimeout: -1 }), {
    name: 'RangeError',
    code: 'ERR_OUT_OF_RANGE',
    message: /options\.connectTimeout/,
  });
  await assert.rejects(Device.create('d', { broker: 'mqtt://127.0.0.1:1', encoding: 'xml' }), /options\.encoding/);
  await assert.rejects(Device.create('d', { broker: 'mqtt://127.0.0.1:1', brokr: 'x' }), /unknown option 'brokr'/);
  await assert.rejects(Device.create('d', { broker: 'http://x' }), (error) => {
    assert.ok(error instanceof InvalidArgumentError);
    assert.equal(error.status, Status.EINVAL);
    assert.match(error.message, /http/);
    return true;
  });
  await assert.rejects(Device.create('bad/id', { broker: 'mqtt://127.0.0.1:1' }), InvalidArgumentError);
});

test('a handle of the wrong kind is a TypeError, not a crash', async () => {
  const options = native.shadowOptionsNew();
  assert.throws(() => native.clientNew(options), { name: 'TypeError', message: /client options/ });
  assert.throws(() => native.deviceConnect({}, 1000), { name: 'TypeError', message: /device handle/ });
  const client = await Client.create('mqtt://127.0.0.1:1');
  const clientOptions = native.clientOptionsNew();
  native.clientOptionsAddBroker(clientOptions, 'mqtt://127.0.0.1:1');
  const handle = native.clientNew(clientOptions);
  assert.throws(() => native.datapointsRecord(handle, 'x', 1), { name: 'TypeError', message: /datapoints handle/ });
  await native.close(handle);
  await client.close();
});

test('a closed object throws a StateError', async () => {
  const dev = await Device.create('closed-device', { broker: 'mqtt://127.0.0.1:1' });
  const { datapoints, shadow } = dev;
  await dev.close();
  await dev.close(); // idempotent
  assert.throws(() => datapoints.record('x', 1), StateError);
  await assert.rejects(shadow.report({ a: 1 }), StateError);
  await assert.rejects(dev.connect(), StateError);
});

test('connecting to a port nobody listens on times out with a TimeoutError', async () => {
  const port = await freePort();
  const started = Date.now();
  await assert.rejects(Device.connect('nobody-home', { broker: `mqtt://127.0.0.1:${port}`, timeout: 500 }), (error) => {
    assert.ok(error instanceof TimeoutError);
    return true;
  });
  assert.ok(Date.now() - started < 5000);
});

test('the ES module entry point has the same objects', async () => {
  const esm = await import('twinlink');
  assert.equal(esm.Device, Device);
  assert.equal(esm.default.Client, Client);
  assert.equal(typeof esm.version, 'string');
});

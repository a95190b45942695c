'use strict';
// TLS and mutual TLS against the broker's TLS listeners, and the errors of a bad certificate.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Device, Client, TlsError, TwinlinkError } = require('..');
const { useCloud } = require('./helpers/fixture');
const { uniqueId } = require('./helpers/cloud');

const env = useCloud({ tls: true, cloud: false });

test('TLS with the test CA connects and publishes', async () => {
  const client = await Client.connect(env.broker.tlsUri, { tls: { ca: env.tls.caCert } });
  try {
    await client.publish('test/tls', 'secure');
    assert.equal(client.connected, true);
  } finally {
    await client.close();
  }
});

test('a server certificate from another CA is a TlsError, at once', async () => {
  const started = Date.now();
  await assert.rejects(
    Device.connect(uniqueId('tls-bad'), { broker: env.broker.tlsUri, tls: { ca: env.tls.otherCaCert }, timeout: 10000 }),
    (error) => {
      assert.ok(error instanceof TlsError, `${error.name}: ${error.message}`);
      assert.equal(error.code, 'tls error');
      return true;
    },
  );
  assert.ok(Date.now() - started < 8000);
});

test('mutual TLS: the client certificate gets in, no certificate does not', async () => {
  const dev = await Device.connect(uniqueId('mtls'), {
    broker: env.broker.mtlsUri,
    tls: { ca: env.tls.caCert, cert: env.tls.clientCert, key: env.tls.clientKey },
    delivery: 'broker',
  });
  try {
    dev.datapoints.record('t', 1);
    await dev.datapoints.flush();
    assert.equal(dev.datapoints.stats().ackedPoints, 1);
  } finally {
    await dev.close();
  }
  await assert.rejects(
    Device.connect(uniqueId('mtls-none'), { broker: env.broker.mtlsUri, tls: { ca: env.tls.caCert }, timeout: 3000 }),
    TwinlinkError,
  );
});

'use strict';
// One mosquitto (plain, TLS, mutual TLS) and one `twinlink serve` per test file, started before
// its tests and stopped after them.

const { before, after } = require('node:test');
const { Broker, Cloud, makeTlsFiles, tempDir } = require('./cloud');

/** Starts what `parts` names ('broker', 'tls', 'cloud') around the tests of the calling file. */
function useCloud({ tls = false, cloud = true } = {}) {
  const env = { broker: null, cloud: null, tls: null };
  before(async () => {
    if (tls) env.tls = makeTlsFiles(tempDir('tls'));
    env.broker = await new Broker({ tls: env.tls }).start();
    if (cloud) env.cloud = await new Cloud(env.broker.uri).start();
  });
  after(async () => {
    await env.cloud?.stop();
    await env.broker?.stop();
  });
  return env;
}

module.exports = { useCloud };

#!/usr/bin/env node
// A sensor with an LED: it follows the desired state of its shadow and streams a temperature.
//
//   twinlink serve --broker mqtt://127.0.0.1:1883 --db cloud.db     # the local cloud
//   node examples/node/sensor.js sensor-42 mqtt://127.0.0.1:1883
//   twinlink shadow desire sensor-42 '{"led": "on"}' --db cloud.db  # the LED follows
//
// It stops after DURATION_MS (default: runs until Ctrl-C).
// @ts-check
'use strict';

const { Device, TwinlinkError } = require('twinlink');

async function main() {
  const [deviceId = 'sensor-42', broker = process.env.TWINLINK_BROKER || 'mqtt://127.0.0.1:1883'] = process.argv.slice(2);
  const duration = Number(process.env.DURATION_MS || 0);

  const dev = await Device.connect(deviceId, { broker, encoding: 'cbor' });
  console.log(`${dev.id}: connected to ${broker}`);
  dev.on('connection', (event) => console.log(`${dev.id}: ${event.state}${event.message ? ` (${event.message})` : ''}`));
  dev.on('error', (error) => console.error(`${dev.id}: a handler failed:`, error));

  // Follow the desired state: switch the LED, then report what it is now.
  let led = 'off';
  await dev.shadow.report({ led, fw: '1.0.0' });
  dev.shadow.on('delta', async (delta) => {
    if (typeof delta.led === 'string') {
      led = delta.led;
      console.log(`${dev.id}: LED ${led}`);
    }
    try {
      await dev.shadow.report({ led });
    } catch (error) {
      if (error instanceof TwinlinkError) console.error(`${dev.id}: report failed: ${error.message}`);
      else throw error;
    }
  });

  // A temperature every 100 ms: record() only appends to memory; batches go out in the background.
  const timer = setInterval(() => dev.datapoints.record('temp', 21 + Math.sin(Date.now() / 10000)), 100);

  const stop = async () => {
    clearInterval(timer);
    await dev.datapoints.flush().catch((error) => console.error(`${dev.id}: not all points delivered: ${error.message}`));
    const { confirmedPoints, ackedPoints } = dev.datapoints.stats();
    await dev.close();
    console.log(`${dev.id}: closed (${ackedPoints} points delivered, ${confirmedPoints} confirmed stored)`);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (duration > 0) setTimeout(stop, duration);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

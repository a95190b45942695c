#!/usr/bin/env node
// A backend: sets a device's desired state, waits until the device reports it, and reads the
// device's telemetry topic as it goes by.
//
//   node examples/node/backend.js sensor-42 mqtt://127.0.0.1:1883 on
// @ts-check
'use strict';

const { Client, TimeoutError } = require('twinlink');

async function main() {
  const [deviceId = 'sensor-42', broker = process.env.TWINLINK_BROKER || 'mqtt://127.0.0.1:1883', led = 'on'] =
    process.argv.slice(2);

  const app = await Client.connect(broker);
  try {
    await run(app, deviceId, led);
  } finally {
    await app.close();
  }
}

/**
 * @param {import('twinlink').Client} app
 * @param {string} deviceId
 * @param {string} led
 */
async function run(app, deviceId, led) {
  const shadow = await app.shadow(deviceId);

  // Ask for the LED, then wait for the device to report it (its shadow changes when it does).
  const changes = shadow.changes();
  await shadow.desire({ led });
  console.log(`${deviceId}: desired led=${led}`);
  const deadline = setTimeout(() => changes.return(), 10000);
  for await (const document of changes) {
    if (document.state.reported?.led === led) {
      console.log(`${deviceId}: reported led=${led} (version ${document.version})`);
      break;
    }
  }
  clearTimeout(deadline);

  try {
    const document = await shadow.get({ timeout: 5000 });
    console.log(`${deviceId}: reported ${JSON.stringify(document.state.reported)}, delta ${JSON.stringify(document.state.delta)}`);
  } catch (error) {
    if (error instanceof TimeoutError) console.error('no answer from the shadow service; is `twinlink serve` running?');
    else throw error;
  }

  // Count the device's datapoint batches for a second.
  let batches = 0;
  const sub = await app.subscribe(`tl/${deviceId}/dp`, () => (batches += 1));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await sub.unsubscribe();
  console.log(`${deviceId}: ${batches} datapoint batches in one second`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

#!/usr/bin/env node
'use strict';
// The Node part of `make bench`: datapoints per second through record() and recordMany(),
// acknowledged end to end, against two mqtt.js baselines measured in the same run (one QoS 1
// message per point, and points batched by hand, 5000 to a JSON message at QoS 1); the event
// loop's delay while a million points are recorded and flushed; the memory of a connected Device;
// the size of the npm tarball when `make node-pack` made one. Prints a table and writes
// build/bench/node.json.
//
// Each scenario runs in a process of its own on one core, the broker (a private mosquitto) on the
// other, as the other benchmarks of the repository do. Every twinlink figure counts until the
// broker acknowledged the last batch (delivery 'broker': no sink runs here).

const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const PACKAGE_DIR = path.join(__dirname, '..');
const REPO = path.resolve(PACKAGE_DIR, '..', '..');
const SCENARIO = path.join(__dirname, 'scenario.js');

function hasTaskset() {
  return os.cpus().length >= 2 && spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;
}

function runScenario(pin, name, broker, extra = {}) {
  const args = ['--expose-gc', SCENARIO, JSON.stringify({ name, broker, ...extra })];
  const command = pin ? ['taskset', '-c', '1', process.execPath, ...args] : [process.execPath, ...args];
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: 300000 });
  if (result.status !== 0) throw new Error(`scenario ${name} failed:\n${result.stdout}${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

function tarball() {
  const dir = path.join(REPO, 'build', 'node');
  if (!fs.existsSync(dir)) return null;
  const file = fs.readdirSync(dir).find((f) => /^twinlink-.*\.tgz$/.test(f));
  if (!file) return null;
  const full = path.join(dir, file);
  const listing = execFileSync('tar', ['-tvzf', full], { encoding: 'utf8' });
  const unpacked = listing.split('\n').filter(Boolean).reduce((sum, line) => sum + Number(line.split(/\s+/)[2] || 0), 0);
  return { file: path.relative(REPO, full), bytes: fs.statSync(full).size, unpackedBytes: unpacked };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

async function main() {
  const { Broker } = require('../test/helpers/cloud');
  const pin = hasTaskset();
  const broker = await new Broker({ wrapper: pin ? ['taskset', '-c', '0'] : [] }).start();
  const results = {};
  try {
    const perMessage = 20000;
    const points = 1000000;
    results.mqttjs_per_message = runScenario(pin, 'mqttjs-per-message', broker.uri, { points: perMessage });
    results.mqttjs_hand_batched = runScenario(pin, 'mqttjs-batched', broker.uri, { points });
    results.record_json = runScenario(pin, 'record', broker.uri, { points, encoding: 'json' });
    results.record_cbor = runScenario(pin, 'record', broker.uri, { points, encoding: 'cbor' });
    results.record_many_json = runScenario(pin, 'record-many', broker.uri, { points: 5 * points, encoding: 'json' });
    results.record_many_cbor = runScenario(pin, 'record-many', broker.uri, { points: 5 * points, encoding: 'cbor' });
    results.event_loop = runScenario(pin, 'event-loop', broker.uri, { points });
    results.memory = runScenario(pin, 'memory', broker.uri, { devices: 20 });
  } finally {
    await broker.stop();
  }
  results.tarball = tarball();

  const base = results.mqttjs_per_message.rate;
  const batched = results.mqttjs_hand_batched.rate;
  const rows = [
    ['mqtt.js, 1 message per point, QoS 1', results.mqttjs_per_message],
    ['mqtt.js, 5000 points per JSON message by hand, QoS 1', results.mqttjs_hand_batched],
    ['twinlink record(), JSON', results.record_json],
    ['twinlink record(), CBOR', results.record_cbor],
    ['twinlink recordMany() of Float64Array(10000), JSON', results.record_many_json],
    ['twinlink recordMany() of Float64Array(10000), CBOR', results.record_many_cbor],
  ];
  console.log(`\nNode ${process.version}, ${pin ? 'broker on core 0, benchmark on core 1' : 'no pinning'}; points acknowledged end to end\n`);
  console.log('| scenario | points | points/s | vs per-message | vs hand-batched |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [label, r] of rows) {
    console.log(`| ${label} | ${fmt(r.points)} | ${fmt(r.rate)} | ${(r.rate / base).toFixed(1)}x | ${(r.rate / batched).toFixed(2)}x |`);
  }
  const loop = results.event_loop;
  console.log(`\nEvent loop while ${fmt(loop.points)} points are recorded (in slices of ${fmt(loop.slice)}) and flushed: ` +
    `p50 ${loop.p50.toFixed(2)} ms, p99 ${loop.p99.toFixed(2)} ms, max ${loop.max.toFixed(2)} ms (${loop.seconds.toFixed(2)} s)`);
  const mem = results.memory;
  console.log(`Memory: node alone ${mib(mem.baseline)}, with twinlink loaded ${mib(mem.loaded)}, ` +
    `+${mib(mem.perDevice)} RSS per connected device (average of ${mem.devices}), first device +${mib(mem.first)}`);
  if (results.tarball) {
    const t = results.tarball;
    console.log(`Tarball ${t.file}: ${mib(t.bytes)} packed, ${mib(t.unpackedBytes)} unpacked`);
  } else {
    console.log('Tarball: none (make node-pack makes one)');
  }
  const out = path.join(REPO, 'build', 'bench', 'node.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ node: process.version, pinned: pin, results }, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

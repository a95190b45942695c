'use strict';
// One benchmark scenario in a process of its own (bench.js runs it): prints one line of JSON.

const { monitorEventLoopDelay } = require('node:perf_hooks');

// Loaded on first use, so that the memory scenario can measure the process without them.
const lazy = (load) => {
  let module;
  return () => (module ??= load());
};
const mqttjs = lazy(() => require('mqtt'));
const twinlink = lazy(() => require('..'));

const config = JSON.parse(process.argv[2]);
const SERIES = ['temp', 'hum', 'press', 'vib'];

const now = () => Number(process.hrtime.bigint()) / 1e9;

// A device as a telemetry benchmark configures it: delivery at the PUBACK (no sink here), and
// backlog bounds that hold the whole run, so nothing is dropped.
function benchDevice(id, encoding = 'json') {
  return twinlink().Device.connect(id, {
    broker: config.broker,
    encoding,
    delivery: 'broker',
    backlogMaxBytes: 512 * 1024 * 1024,
    maxPendingPoints: 10000000,
  });
}

function checkDelivered(dev, points) {
  const stats = dev.datapoints.stats();
  if (stats.ackedPoints !== points) throw new Error(`${stats.ackedPoints} of ${points} points acknowledged: ${JSON.stringify(stats)}`);
}

const scenarios = {
  // The baseline: one QoS 1 message per point, every PUBACK awaited.
  async 'mqttjs-per-message'({ points }) {
    const client = await mqttjs().connectAsync(config.broker, { clean: true });
    const t0 = now();
    const acks = [];
    for (let i = 0; i < points; i++) {
      const payload = JSON.stringify({ n: SERIES[i % 4], t: Date.now(), v: 20 + (i % 100) * 0.01 });
      acks.push(client.publishAsync('bench/mqttjs/one', payload, { qos: 1 }));
    }
    await Promise.all(acks);
    const seconds = now() - t0;
    await client.endAsync();
    return { points, seconds, rate: points / seconds };
  },

  // What a competent user writes by hand: points gathered in an array, 5000 to one JSON message.
  async 'mqttjs-batched'({ points }) {
    const client = await mqttjs().connectAsync(config.broker, { clean: true });
    const t0 = now();
    const acks = [];
    let batch = [];
    const record = (name, value) => {
      batch.push({ n: name, t: Date.now(), v: value });
      if (batch.length === 5000) {
        acks.push(client.publishAsync('bench/mqttjs/batch', JSON.stringify({ device: 'bench', points: batch }), { qos: 1 }));
        batch = [];
      }
    };
    for (let i = 0; i < points; i++) record(SERIES[i % 4], 20 + (i % 100) * 0.01);
    if (batch.length) acks.push(client.publishAsync('bench/mqttjs/batch', JSON.stringify({ device: 'bench', points: batch }), { qos: 1 }));
    await Promise.all(acks);
    const seconds = now() - t0;
    await client.endAsync();
    return { points, seconds, rate: points / seconds };
  },

  async record({ points, encoding }) {
    const dev = await benchDevice(`bench-record-${encoding}-${process.pid}`, encoding);
    const dp = dev.datapoints;
    const t0 = now();
    for (let i = 0; i < points; i++) dp.record(SERIES[i % 4], 20 + (i % 100) * 0.01);
    const recorded = now() - t0;
    await dp.flush({ timeout: 120000 });
    const seconds = now() - t0;
    checkDelivered(dev, points);
    await dev.close();
    return { points, seconds, rate: points / seconds, nsPerRecord: (recorded / points) * 1e9 };
  },

  async 'record-many'({ points, encoding }) {
    const dev = await benchDevice(`bench-many-${encoding}-${process.pid}`, encoding);
    const dp = dev.datapoints;
    const chunk = 10000;
    const values = Float64Array.from({ length: chunk }, (_, i) => 20 + (i % 100) * 0.01);
    const t0 = now();
    for (let i = 0; i < points; i += chunk) dp.recordMany(SERIES[(i / chunk) % 4], values);
    await dp.flush({ timeout: 120000 });
    const seconds = now() - t0;
    checkDelivered(dev, points);
    await dev.close();
    return { points, seconds, rate: points / seconds };
  },

  // How long the event loop waits while an application records a million points, 5000 per turn
  // of the loop, and then flushes: record() only appends, flush() waits on the addon's threads.
  async 'event-loop'({ points }) {
    const dev = await benchDevice(`bench-loop-${process.pid}`);
    const dp = dev.datapoints;
    const slice = 5000;
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const t0 = now();
    for (let done = 0; done < points; done += slice) {
      for (let i = done; i < done + slice; i++) dp.record(SERIES[i % 4], i * 0.01);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await dp.flush({ timeout: 120000 });
    const seconds = now() - t0;
    histogram.disable();
    checkDelivered(dev, points);
    await dev.close();
    const ms = (ns) => ns / 1e6;
    return {
      points,
      slice,
      seconds,
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
    };
  },

  // Resident memory: the process alone, with the addon loaded, then per connected device that has
  // used its shadow and its datapoints.
  async memory({ devices }) {
    const rss = () => {
      global.gc?.();
      global.gc?.();
      return process.memoryUsage.rss();
    };
    const baseline = rss();
    twinlink();
    const loaded = rss();
    const list = [];
    let first = 0;
    for (let i = 0; i < devices; i++) {
      const dev = await benchDevice(`bench-mem-${process.pid}-${i}`);
      dev.shadow.reportNoWait({ i });
      dev.datapoints.record('t', i);
      await dev.datapoints.flush();
      list.push(dev);
      if (i === 0) first = rss() - loaded;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const all = rss();
    await Promise.all(list.map((d) => d.close()));
    return { devices, baseline, loaded, first, perDevice: (all - loaded) / devices };
  },
};

scenarios[config.name](config)
  .then((result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  })
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });

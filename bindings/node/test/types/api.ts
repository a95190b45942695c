// Compiled by `tsc --noEmit` in the test suite (types.test.js): uses every part of the API the way
// a TypeScript program would, so a wrong or missing declaration fails the build.
import twinlink = require('twinlink');
import { Device, Client, Message, ConnectionEvent, TwinlinkError, TimeoutError, ConflictError, Status } from 'twinlink';
import type { DeviceOptions, ShadowDocument, DatapointStats, Delta, JsonObject } from 'twinlink';

async function device(): Promise<void> {
  const options: DeviceOptions = {
    broker: ['mqtt://127.0.0.1:1883', 'mqtts://backup:8883'],
    encoding: 'cbor',
    delivery: 'broker',
    tls: { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' },
    offlineQueue: { maxMessages: 10, policy: 'drop-oldest' },
    reconnectBackoff: [100, 1000],
    backpressure: 'drop-newest',
    spoolDir: '/var/lib/app/spool',
    spoolFsync: 'every-batch',
    logLevel: 'info',
    timeout: 5000,
  };
  await using dev = await Device.connect('sensor-42', options);
  dev.shadow.on('delta', (delta: JsonObject, version: number) => void dev.shadow.report(delta));
  dev.on('connection', (event: ConnectionEvent) => {
    const state: 'disconnected' | 'connecting' | 'connected' | 'reconnecting' = event.state;
    const error: TwinlinkError | null = event.error;
    void state;
    void error;
  });
  dev.on('log', ({ level, message }) => console.log(level, message));
  dev.on('drop', (drop) => console.log(drop.points, drop.policy));
  dev.on('error', (error) => console.error(error));
  for await (const { state, version } of dev.shadow.deltas({ initial: false })) {
    const s: JsonObject = state;
    const v: number = version;
    void s;
    void v;
    break;
  }
  const accepted: ShadowDocument = await dev.shadow.report({ led: 'on', nested: { a: [1, 2, null] } }, { timeout: 1000 });
  console.log(accepted.version, accepted.state.reported);
  dev.shadow.reportNoWait({ uptime: 1 });
  const registration = dev.shadow.onDelta((led) => console.log(led), { path: '/led' });
  registration.remove();
  dev.datapoints.record('temp', 21.5);
  dev.datapoints.record('count', 7n, Date.now());
  dev.datapoints.record('on', true, new Date());
  dev.datapoints.record('pos', { lat: 1, lon: 2 });
  dev.datapoints.recordMany('vib', new Float64Array(10), new BigInt64Array(10));
  dev.datapoints.recordMany('ticks', [1, 2, 3]);
  await dev.datapoints.flush({ timeout: 5000 });
  const stats: DatapointStats = dev.datapoints.stats();
  console.log(stats.confirmedPoints, dev.stats().client.reconnects, dev.state, dev.connected);
  const cfg = await dev.namedShadow('cfg');
  console.log(cfg.name, cfg.document.version, cfg.reported);
  dev.unref().ref();
  await dev.disconnect();
  await dev.connect({ timeout: 1000 });
}

async function backend(): Promise<void> {
  const app = await Client.connect('mqtt://127.0.0.1:1883', { username: 'app', password: 'x' });
  const other = await Client.create({ broker: 'mqtt://127.0.0.1:1883' });
  await other.close();
  const shadow = await app.shadow('sensor-42');
  await shadow.desire({ led: 'on' });
  const document = await shadow.get();
  console.log(document.state.delta);
  await (await app.shadow('sensor-42', 'cfg')).desire({ interval: 5 });
  await app.publish('a/b', { level: 3 }, { qos: 1, retain: false });
  await app.publish('a/b', Buffer.from('raw'));
  const sub = await app.subscribe('a/#', (message: Message) => console.log(message.topic, message.text(), message.json<{ level: number }>().level));
  await sub.unsubscribe();
  const iterated = await app.subscribe('c/#', { qos: 0 });
  for await (const message of iterated) {
    console.log(message.payload.length);
    break;
  }
  const dp = await app.datapoints('gateway-child', { batchMaxPoints: 100 });
  dp.record('t', 1);
  await dp.close();
  try {
    await shadow.update({ state: { desired: { a: 1 } }, version: 1 });
  } catch (error) {
    if (error instanceof ConflictError) console.log(error.status === Status.ECONFLICT, error.code);
    if (error instanceof TimeoutError) console.log('timeout');
  }
  await app.close();
}

const deltaType: Delta<JsonObject> = { state: {}, version: 1 };
console.log(twinlink.version, deltaType);
void device;
void backend;

async function sharedRuntime(): Promise<void> {
  const runtime = new twinlink.Runtime({ threads: 4 });
  const devices = await Promise.all(
    ['a', 'b'].map((id) => Device.connect(id, { broker: 'mqtt://127.0.0.1:1883', runtime })),
  );
  const count: number = runtime.clients;
  runtime.close();
  await Promise.all(devices.map((d) => d.close()));
  console.log(count, runtime.threads, runtime.closed);
}
void sharedRuntime;

// The ES module entry point's types.
import { Device, version } from 'twinlink';
import twinlink from 'twinlink';

const dev: Promise<Device> = Device.create('x', { broker: 'mqtt://127.0.0.1:1883' });
console.log(version, twinlink.Client, dev);

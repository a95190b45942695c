'use strict';
// Run by lifetime.test.js in a process of its own: `node lifetime.js SCENARIO BROKER_URI DEVICE_ID`.
// Prints "ready" once the scenario's device is connected.

const { Device } = require('../..');

const [scenario, broker, id] = process.argv.slice(2);

async function main() {
  switch (scenario) {
    case 'close': {
      // Connected, used, closed: the process must then exit on its own.
      const dev = await Device.connect(id, { broker, delivery: 'broker' });
      dev.datapoints.record('t', 1);
      await dev.datapoints.flush();
      console.log('ready');
      await dev.close();
      break;
    }
    case 'connected': {
      // Connected and left alone: the process must stay alive, as with an open socket.
      await Device.connect(id, { broker });
      console.log('ready');
      break;
    }
    case 'unref': {
      const dev = await Device.connect(id, { broker });
      dev.unref();
      console.log('ready');
      break;
    }
    case 'gc': {
      // Dropped without close(): freed when collected (the broker then sees it go).
      let collected = 0;
      const registry = new FinalizationRegistry(() => (collected += 1));
      await (async () => {
        const dev = await Device.connect(id, { broker });
        dev.unref();
        dev.shadow.on('delta', () => {});
        registry.register(dev, 'device');
        registry.register(await Device.create(`${id}-idle`, { broker }), 'idle');
        console.log('ready');
      })();
      for (let i = 0; i < 100 && collected < 2; i++) {
        global.gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (collected < 2) throw new Error(`only ${collected} of 2 devices were collected`);
      console.log('collected');
      // Stay a moment, so that the background free happens while the process runs.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      break;
    }
    case 'uncaught': {
      // A listener throws and nobody listens for 'error': the process's uncaughtException.
      process.on('uncaughtException', (error) => {
        console.log(`uncaught: ${error.message}`);
        process.exit(0);
      });
      const dev = await Device.create(id, { broker });
      dev.on('connection', () => {
        throw new Error('listener failed');
      });
      await dev.connect();
      console.log('ready');
      break;
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});

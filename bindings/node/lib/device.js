'use strict';
// A device (tl_device): its MQTT client, its shadows and its datapoint pipeline in one object.

const { EventEmitter } = require('node:events');
const native = require('./native');
const v = require('./validate');
const { kEvent, dispatch, emitSafely } = require('./events');
const { deviceOptions, connectTimeout, stagesRecords } = require('./options');
const { ConnectionEvent, DropEvent, stateName, LOG_LEVELS } = require('./types');
const { Client } = require('./client');
const { Shadow } = require('./shadow');
const { Datapoints } = require('./datapoints');

const kCreate = Symbol('twinlink.Device.create');
const asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');

/**
 * A device. Emits 'connection' (ConnectionEvent), 'drop' (DropEvent), 'log' ({ level, message },
 * with the logLevel option), 'error' (an exception thrown by a listener or handler of the device,
 * its shadows or its client) and 'close'.
 *
 * While connected (from connect() until disconnect() or close()) a device keeps the process
 * alive, as a socket does; unref() lets the process exit anyway.
 */
class Device extends EventEmitter {
  #id;
  #handle = null;
  #channel;
  #client = null;
  #shadow = null;
  #datapoints = null;
  #named = new Map(); // name -> Promise<Shadow>
  #shadowDefaults;
  #connectTimeout = 10000;
  #started = false;
  #refed = true;
  #closing = null;

  constructor(token, id) {
    if (token !== kCreate) throw new TypeError('use Device.connect() or Device.create()');
    super();
    this.#id = id;
    this.#channel = native.channelNew(this, dispatch);
  }

  /**
   * Makes the device and connects it; resolves once online (rejects with TimeoutError after
   * options.timeout ms, default 10000, or at once with TlsError or AuthError, and closes the device).
   */
  static async connect(deviceId, options) {
    const device = await Device.create(deviceId, options);
    try {
      await device.connect({ timeout: device.#connectTimeout });
    } catch (error) {
      await device.close();
      throw error;
    }
    return device;
  }

  /**
   * Makes the device without connecting. Add listeners (a 'delta' listener, say), then
   * connect(). The classic shadow and the datapoint pipeline are ready at once.
   */
  static async create(deviceId, options = {}) {
    v.string(deviceId, 'deviceId');
    const device = new Device(kCreate, deviceId);
    const { native: o, shadowDefaults } = deviceOptions(v.object(options, 'options'), device.#channel);
    device.#shadowDefaults = shadowDefaults;
    device.#connectTimeout = connectTimeout(options);
    const handle = await native.deviceNew(deviceId, o);
    try {
      // Made before connecting, so that neither waits for the broker.
      const [shadow, datapoints] = await Promise.all([native.deviceShadow(handle, null), native.deviceDatapoints(handle)]);
      device.#handle = handle;
      device.#client = Client._borrowed(native.deviceClient(handle), device, shadowDefaults);
      device.#shadow = Shadow._create(shadow, deviceId, '', device);
      device.#datapoints = Datapoints._create(datapoints, device, stagesRecords(options));
    } catch (error) {
      await native.close(handle);
      throw error;
    }
    return device;
  }

  /** The device id. */
  get id() {
    return this.#id;
  }

  /** 'disconnected' | 'connecting' | 'connected' | 'reconnecting' */
  get state() {
    return this.#client.state;
  }

  get connected() {
    return this.state === 'connected';
  }

  get closed() {
    return native.isClosed(this.#handle);
  }

  /** The classic shadow. */
  get shadow() {
    return this.#shadow;
  }

  /** The datapoint pipeline. */
  get datapoints() {
    return this.#datapoints;
  }

  /** The device's MQTT client, for publish() and subscribe() on topics of your own. */
  get client() {
    return this.#client;
  }

  /** The named shadow `name` (made on first use, which subscribes; then the same object). */
  namedShadow(name) {
    v.string(name, 'name');
    if (name === '') return Promise.resolve(this.#shadow);
    let shadow = this.#named.get(name);
    if (!shadow) {
      shadow = native.deviceShadow(this.#handle, name).then((handle) => Shadow._create(handle, this.#id, name, this));
      shadow.catch(() => this.#named.delete(name));
      this.#named.set(name, shadow);
    }
    return shadow;
  }

  /**
   * Connects and resolves once online (TimeoutError after `timeout` ms; TlsError and AuthError at
   * once). The device then stays connected, reconnecting after every loss, until disconnect() or
   * close(); after a failure it keeps trying in the background.
   */
  async connect(options = {}) {
    const timeout = connectTimeout(v.object(options, 'options'), this.#connectTimeout);
    this.#started = true;
    this.#updateKeepAlive();
    await native.deviceConnect(this.#handle, timeout);
  }

  /** Waits up to `timeout` ms (default 5000) for queued messages, publishes the offline presence and disconnects. */
  async disconnect(options = {}) {
    const timeout = connectTimeout(v.object(options, 'options'), 5000);
    this.#started = false;
    this.#updateKeepAlive();
    await native.deviceDisconnect(this.#handle, timeout);
  }

  /** Lets the process exit while this device is connected (as socket.unref()). */
  unref() {
    this.#refed = false;
    this.#updateKeepAlive();
    return this;
  }

  ref() {
    this.#refed = true;
    this.#updateKeepAlive();
    return this;
  }

  /** { state, client: client counters, datapoints: datapoint counters } */
  stats() {
    return { state: this.state, client: this.#client.stats(), datapoints: this.#datapoints.stats() };
  }

  /**
   * Flushes the datapoints (when connected), disconnects and frees the device with its client,
   * shadows and datapoints; each step waits `timeout` ms at most (default 5000). Idempotent; may
   * be called from a listener of the device.
   */
  close(options = {}) {
    if (this.#closing) return this.#closing;
    const timeout = connectTimeout(v.object(options, 'options'), 5000);
    this.#datapoints?._beforeClose();
    this.#closing = (async () => {
      try {
        if (this.#handle && this.connected) {
          await this.#datapoints.flush({ timeout }).catch((error) => this.#warn('datapoints not flushed at close', error));
        }
        if (this.#handle && this.#started) {
          await native.deviceDisconnect(this.#handle, timeout).catch((error) => this.#warn('disconnect at close', error));
        }
      } finally {
        this.#started = false;
        this.#updateKeepAlive();
        if (this.#handle) await native.close(this.#handle);
        this.#client?._closed();
        native.channelClose(this.#channel);
        this.emit('close');
      }
    })();
    return this.#closing;
  }

  async [asyncDispose]() {
    await this.close();
  }

  #warn(what, error) {
    process.emitWarning(`twinlink device ${this.#id}: ${what}: ${error.message}`, { code: 'TWINLINK_CLOSE' });
  }

  #updateKeepAlive() {
    native.channelKeepAlive(this.#channel, this.#started && this.#refed);
  }

  [kEvent](kind, ...args) {
    const targets = [this];
    switch (kind) {
      case 'connection':
        emitSafely(targets, this, 'connection', new ConnectionEvent(...args));
        break;
      case 'log':
        emitSafely(targets, this, 'log', { level: LOG_LEVELS[args[0]], message: args[1] });
        break;
      case 'drop':
        emitSafely(targets, this, 'drop', new DropEvent(...args));
        break;
      default:
        break;
    }
  }

  get [Symbol.toStringTag]() {
    return `Device ${this.#id}`;
  }
}

module.exports = { Device };

'use strict';
// An MQTT client (tl_client): the device's own (device.client) or a standalone one for backends.

const { EventEmitter } = require('node:events');
const native = require('./native');
const v = require('./validate');
const { kEvent, dispatch, callSafely, emitSafely, EventQueue } = require('./events');
const { clientOnlyOptions, connectTimeout, shadowOptions, standaloneDatapointOptions, stagesRecords } = require('./options');
const { ConnectionEvent, Message, DropEvent, stateName, LOG_LEVELS } = require('./types');
const { Shadow } = require('./shadow');
const { Datapoints } = require('./datapoints');

const kCreate = Symbol('twinlink.Client.create');
const asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');

function payloadOf(payload) {
  if (typeof payload === 'string' || payload instanceof Uint8Array) return payload;
  if (payload === undefined || payload === null) return '';
  if (ArrayBuffer.isView(payload)) return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  return JSON.stringify(payload);
}

function qosOf(options, fallback) {
  return options.qos === undefined ? fallback : v.integer(options.qos, 'options.qos', 0, 2);
}

/**
 * A subscription: `unsubscribe()` ends it. Made without a listener, it is also an async iterator
 * of the messages.
 */
class Subscription {
  #client;
  #queue;
  constructor(client, filter, queue) {
    this.#client = client;
    this.filter = filter;
    this.#queue = queue;
    /** @internal */
    this._id = null;
    this._token = null;
  }

  /** Stops the subscription: its listener is not called again. */
  async unsubscribe() {
    this.#client._unsubscribe(this);
    this.#queue?.end();
  }

  [Symbol.asyncIterator]() {
    if (!this.#queue) throw new TypeError('this subscription has a listener; subscribe without one to iterate');
    return this.#queue;
  }

  async [asyncDispose]() {
    await this.unsubscribe();
  }

  /** @internal */
  _deliver(message, targets, listener) {
    if (listener) callSafely(targets, listener, message);
    else this.#queue.push(message);
  }
}

/**
 * An MQTT client. Emits 'connection' (ConnectionEvent), 'log' ({ level, message }) when
 * logLevel is set, 'error' (a listener's exception) and 'close'.
 */
class Client extends EventEmitter {
  #handle;
  #channel;
  #owner; // the Device, for device.client
  #shadowDefaults;
  #subscriptions = new Map(); // token -> { subscription, listener }
  #children = new Set(); // shadows and datapoints made here, kept until closed
  #nextToken = 1;
  #started = false;
  #refed = true;
  #closing = null;
  #connectTimeout = 10000;

  constructor(token, owner) {
    if (token !== kCreate) throw new TypeError('use Client.connect() or Client.create()');
    super();
    this.#owner = owner;
    this.#channel = native.channelNew(this, dispatch);
  }

  /**
   * Makes a client and connects it, resolving once connected (rejects with TimeoutError, TlsError,
   * AuthError, ...; the client is closed then). `broker` may also be given as options.broker.
   */
  static async connect(broker, options) {
    const client = await Client.create(broker, options);
    try {
      await client.connect({ timeout: client.#connectTimeout });
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** Makes a client without connecting it; call connect() later. */
  static async create(broker, options) {
    if (typeof broker === 'object' && broker !== null && !Array.isArray(broker)) {
      options = broker;
      broker = undefined;
    }
    options = options === undefined ? {} : { ...v.object(options, 'options') };
    if (broker !== undefined) options.broker = broker;
    const client = new Client(kCreate, null);
    const { native: o, shadowDefaults } = clientOnlyOptions(options, client.#channel);
    client.#connectTimeout = connectTimeout(options);
    client.#shadowDefaults = shadowDefaults;
    client.#handle = native.clientNew(o);
    return client;
  }

  /** @internal device.client */
  static _borrowed(handle, owner, shadowDefaults) {
    const client = new Client(kCreate, owner);
    client.#handle = handle;
    client.#shadowDefaults = shadowDefaults;
    return client;
  }

  /** The MQTT client id (the generated one when none was given). */
  get id() {
    return native.clientId(this.#handle);
  }

  /** 'disconnected' | 'connecting' | 'connected' | 'reconnecting' */
  get state() {
    return stateName(native.clientState(this.#handle));
  }

  get connected() {
    return this.state === 'connected';
  }

  get closed() {
    return native.isClosed(this.#handle);
  }

  /**
   * Connects, resolving once connected (TimeoutError after `timeout` ms; TlsError and AuthError at
   * once). The client then stays connected, reconnecting after every loss, until disconnect() or
   * close(), and keeps the process alive meanwhile (see unref()).
   */
  async connect(options = {}) {
    this.#checkOwn('connect');
    const timeout = connectTimeout(v.object(options, 'options'));
    this.#started = true;
    this.#updateKeepAlive();
    await native.clientConnect(this.#handle, timeout);
  }

  /** Waits up to `timeout` ms (default 5000) for queued messages, then disconnects. */
  async disconnect(options = {}) {
    this.#checkOwn('disconnect');
    const timeout = connectTimeout(v.object(options, 'options'), 5000);
    this.#started = false;
    this.#updateKeepAlive();
    await native.clientDisconnect(this.#handle, timeout);
  }

  /** Lets the process exit while this client is connected (as socket.unref()). */
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

  /**
   * Publishes and resolves when the message is delivered: on the broker's acknowledgement for QoS
   * 1 and 2, once written for QoS 0. `payload`: a string, Buffer, Uint8Array or (as JSON) any other
   * value. Offline, the message waits in the offline queue. Rejects with QueueFullError,
   * TimeoutError (no acknowledgement within ackTimeout), DroppedError or CanceledError.
   */
  async publish(topic, payload, options = {}) {
    v.string(topic, 'topic');
    v.object(options, 'options');
    const retain = options.retain === undefined ? false : v.boolean(options.retain, 'options.retain');
    await native.clientPublish(this.#handle, topic, payloadOf(payload), qosOf(options, 1), retain);
  }

  /**
   * Subscribes to `filter` (+ and # wildcards) and resolves once the broker acknowledged (at
   * once when offline: the subscription is made at connect, and renewed after every reconnect).
   * `listener(message)` gets each Message; without one, the Subscription is an async iterator.
   */
  async subscribe(filter, listener, options = {}) {
    v.string(filter, 'filter');
    if (listener !== undefined && listener !== null && typeof listener === 'object') {
      options = listener;
      listener = null;
    }
    if (listener !== undefined && listener !== null) v.func(listener, 'listener');
    const qos = qosOf(v.object(options, 'options'), 1);
    const token = this.#nextToken++;
    const queue = listener ? null : new EventQueue(() => {});
    const subscription = new Subscription(this, filter, queue);
    subscription._token = token;
    this.#subscriptions.set(token, { subscription, listener });
    try {
      subscription._id = await native.clientSubscribe(this.#handle, filter, qos, this.#channel, token);
    } catch (error) {
      this.#subscriptions.delete(token);
      throw error;
    }
    return subscription;
  }

  /** @internal */
  _unsubscribe(subscription) {
    if (!this.#subscriptions.delete(subscription._token)) return;
    if (subscription._id !== null && !native.isClosed(this.#handle)) native.clientUnsubscribe(this.#handle, subscription._id);
  }

  /**
   * The shadow `name` ('' or omitted: the classic one) of device `deviceId`, on this client: a
   * backend reads and writes the shadows of the devices it manages with it.
   */
  async shadow(deviceId, name = '') {
    v.string(deviceId, 'deviceId');
    v.string(name, 'name');
    const handle = await native.shadowNew(this.#handle, deviceId, shadowOptions(this.#shadowDefaults, name));
    const shadow = Shadow._create(handle, deviceId, name, this);
    this.#children.add(shadow);
    return shadow;
  }

  /** A datapoint pipeline for device `deviceId` on this client (options as Device's). */
  async datapoints(deviceId, options = {}) {
    v.string(deviceId, 'deviceId');
    const o = standaloneDatapointOptions(v.object(options, 'options'), this.#channel);
    const datapoints = Datapoints._create(await native.datapointsNew(this.#handle, deviceId, o), this, stagesRecords(options));
    this.#children.add(datapoints);
    return datapoints;
  }

  /** @internal */
  _forget(child) {
    this.#children.delete(child);
  }

  /** The client's counters. */
  stats() {
    return native.clientGetStats(this.#handle);
  }

  /**
   * Disconnects (waiting up to `timeout` ms for queued messages) and frees the client with the
   * shadows and pipelines made on it. Idempotent.
   */
  close(options = {}) {
    this.#checkOwn('close');
    if (this.#closing) return this.#closing;
    const timeout = connectTimeout(v.object(options, 'options'), 5000);
    for (const child of this.#children) child._beforeClose?.();
    this.#closing = (async () => {
      try {
        if (this.#started && !native.isClosed(this.#handle)) await native.clientDisconnect(this.#handle, timeout);
      } catch {
        // Closing goes on: what was not sent stays unsent, as after a timeout.
      } finally {
        this.#started = false;
        this.#updateKeepAlive();
        await native.close(this.#handle);
        this.#endSubscriptions();
        native.channelClose(this.#channel);
        this.emit('close');
      }
    })();
    return this.#closing;
  }

  async [asyncDispose]() {
    await this.close();
  }

  /** @internal the device's close() */
  _closed() {
    this.#endSubscriptions();
    native.channelClose(this.#channel);
  }

  #endSubscriptions() {
    const subscriptions = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    for (const { subscription } of subscriptions) subscription.unsubscribe().catch(() => {});
  }

  #checkOwn(what) {
    if (this.#owner) throw new TypeError(`device.client.${what}() is the device's: call device.${what}()`);
  }

  #updateKeepAlive() {
    native.channelKeepAlive(this.#channel, this.#started && this.#refed);
  }

  [kEvent](kind, ...args) {
    const targets = [this, this.#owner];
    switch (kind) {
      case 'message': {
        const [token, topic, payload, qos, retained] = args;
        const entry = this.#subscriptions.get(token);
        if (entry) entry.subscription._deliver(new Message(topic, payload, qos, retained), targets, entry.listener);
        break;
      }
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
}

module.exports = { Client, Subscription };

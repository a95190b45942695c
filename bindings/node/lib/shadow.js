'use strict';
// A device shadow (tl_shadow): the device's own (dev.shadow) or another device's (client.shadow()).

const { EventEmitter } = require('node:events');
const native = require('./native');
const v = require('./validate');
const { kEvent, dispatch, callSafely, emitSafely, EventQueue } = require('./events');

const kCreate = Symbol('twinlink.Shadow.create');
const NO_INITIAL = 0x1; // TL_SHADOW_DELTA_NO_INITIAL
const DEFAULT_TIMEOUT = 10000;

function stateJson(state, name) {
  if (state === null || typeof state !== 'object' || Array.isArray(state)) throw v.typeError(name, 'a plain object', state);
  return JSON.stringify(state);
}

function timeoutOf(options) {
  if (options === undefined) return DEFAULT_TIMEOUT;
  v.object(options, 'options');
  return options.timeout === undefined ? DEFAULT_TIMEOUT : v.milliseconds(options.timeout, 'options.timeout');
}

const parse = (text) => (text === undefined || text === '' ? undefined : JSON.parse(text));

/** A handler registered with onDelta() or onChange(); remove() unregisters it. */
class Registration {
  #remove;
  constructor(remove) {
    this.#remove = remove;
  }

  /** Unregisters; the handler is not called again. Idempotent. */
  remove() {
    const remove = this.#remove;
    this.#remove = null;
    if (remove) remove();
  }

  [Symbol.dispose ?? Symbol.for('nodejs.dispose')]() {
    this.remove();
  }
}

/**
 * One shadow of one device. Emits 'delta' (delta, version) and 'change' (document); the first
 * 'delta' listener also gets the delta pending at that moment, so adding it after connecting
 * misses nothing. Listener exceptions go to the 'error' listeners of the shadow, else of its
 * device or client, else to the process.
 */
class Shadow extends EventEmitter {
  #handle;
  #channel;
  #owner;
  #deviceId;
  #name;
  #handlers = new Map(); // token -> (kind, ...args) => void
  #nextToken = 1;
  #emitterIds = { delta: null, change: null };

  constructor(token, handle, deviceId, name, owner) {
    if (token !== kCreate) throw new TypeError('Shadow objects come from device.shadow, device.namedShadow() or client.shadow()');
    super();
    this.#handle = handle;
    this.#deviceId = deviceId;
    this.#name = name;
    this.#owner = owner;
    this.#channel = native.channelNew(this, dispatch);
    this.on('newListener', (event) => {
      if ((event === 'delta' || event === 'change') && this.#emitterIds[event] === null) this.#registerEmitter(event);
    });
    this.on('removeListener', (event) => {
      if ((event === 'delta' || event === 'change') && this.listenerCount(event) === 0) this.#unregisterEmitter(event);
    });
  }

  /** @internal */
  static _create(handle, deviceId, name, owner) {
    return new Shadow(kCreate, handle, deviceId, name, owner);
  }

  /** The id of the device whose shadow this is. */
  get deviceId() {
    return this.#deviceId;
  }

  /** The shadow's name; '' for the classic shadow. */
  get name() {
    return this.#name;
  }

  get closed() {
    return native.isClosed(this.#handle);
  }

  // -- requests ---------------------------------------------------------------------------------

  /**
   * Merges `state` into reported (null deletes a key) and resolves with the accepted update once
   * the cloud took it. Offline, reports wait and go out after reconnecting, as few as keep their
   * effect. Rejects with TimeoutError after `timeout` ms (the report stays queued).
   */
  async report(state, options) {
    return parse(await native.shadowReport(this.#handle, stateJson(state, 'state'), timeoutOf(options)));
  }

  /** As report(), without waiting for the cloud. Synchronous. */
  reportNoWait(state) {
    native.shadowReportAsync(this.#handle, stateJson(state, 'state'));
  }

  /** Merges `state` into desired (what a backend asks of the device). */
  async desire(state, options) {
    return parse(await native.shadowDesire(this.#handle, stateJson(state, 'state'), timeoutOf(options)));
  }

  desireNoWait(state) {
    native.shadowDesireAsync(this.#handle, stateJson(state, 'state'));
  }

  /** Sends a full update request, e.g. { state: { desired: { a: 1 } }, version: 7 }; needs a connection. */
  async update(request, options) {
    return parse(await native.shadowUpdate(this.#handle, stateJson(request, 'request'), timeoutOf(options)));
  }

  /** Fetches the document from the cloud: { state: { desired, reported, delta }, version, timestamp, exists }. */
  async get(options) {
    return parse(await native.shadowGet(this.#handle, timeoutOf(options)));
  }

  /** Deletes the shadow in the cloud. */
  async delete(options) {
    await native.shadowDelete(this.#handle, timeoutOf(options));
  }

  // -- the local copy ---------------------------------------------------------------------------

  /** The local copy of the document, reports not yet accepted merged in. Never waits. */
  get document() {
    return JSON.parse(native.shadowState(this.#handle));
  }

  get reported() {
    return this.document.state?.reported ?? {};
  }

  get desired() {
    return this.document.state?.desired ?? {};
  }

  get delta() {
    return this.document.state?.delta ?? {};
  }

  get version() {
    return this.document.version ?? 0;
  }

  // -- handlers ---------------------------------------------------------------------------------

  /**
   * Calls `listener(delta, version)` for every new delta; first, unless `initial` is false, with
   * the one pending now. With `path` (a JSON pointer such as '/led'), only when the delta has that
   * path, with the value there.
   */
  onDelta(listener, options = {}) {
    v.func(listener, 'listener');
    const { path, initial = true } = v.object(options, 'options');
    const id = this.#addHandler('delta', path, initial, (delta, version) => callSafely(this.#errorTargets(), listener, delta, version));
    return new Registration(() => this.#removeHandler(id));
  }

  /** Calls `listener(document)` after every accepted change of the document. */
  onChange(listener) {
    v.func(listener, 'listener');
    const id = this.#addHandler('change', null, false, (document) => callSafely(this.#errorTargets(), listener, document));
    return new Registration(() => this.#removeHandler(id));
  }

  /**
   * The deltas as an async iterator of { state, version }: the pending one first (unless
   * `initial` is false), then every new one. It registers at this call; leaving the loop
   * unregisters.
   */
  deltas(options = {}) {
    const { path, initial = true } = v.object(options, 'options');
    let id = null;
    const queue = new EventQueue(() => this.#removeHandler(id));
    id = this.#addHandler('delta', path, initial, (state, version) => queue.push({ state, version }));
    return queue;
  }

  /** The documents after each accepted change, as an async iterator. */
  changes() {
    let id = null;
    const queue = new EventQueue(() => this.#removeHandler(id));
    id = this.#addHandler('change', null, false, (document) => queue.push(document));
    return queue;
  }

  /** Frees a shadow made by client.shadow() (a device's shadows go with the device). */
  async close() {
    this.#handlers.clear();
    native.channelClose(this.#channel);
    await native.close(this.#handle);
    this.#owner?._forget?.(this);
  }

  #errorTargets() {
    return [this, this.#owner];
  }

  #registerEmitter(event) {
    const handler =
      event === 'delta'
        ? (delta, version) => emitSafely(this.#errorTargets(), this, 'delta', delta, version)
        : (document) => emitSafely(this.#errorTargets(), this, 'change', document);
    this.#emitterIds[event] = this.#addHandler(event, null, true, handler);
  }

  #unregisterEmitter(event) {
    const id = this.#emitterIds[event];
    this.#emitterIds[event] = null;
    if (id !== null) this.#removeHandler(id);
  }

  // Returns { token, id }: the token routes events, the id unregisters in C.
  #addHandler(kind, path, initial, handler) {
    const token = this.#nextToken++;
    this.#handlers.set(token, handler);
    try {
      const id =
        kind === 'delta'
          ? native.shadowOnDelta(
              this.#handle,
              path === undefined || path === null ? null : v.string(path, 'options.path'),
              v.boolean(initial, 'options.initial') ? 0 : NO_INITIAL,
              this.#channel,
              token,
            )
          : native.shadowOnChange(this.#handle, this.#channel, token);
      return { token, id };
    } catch (error) {
      this.#handlers.delete(token);
      throw error;
    }
  }

  #removeHandler(registration) {
    if (!registration || !this.#handlers.delete(registration.token)) return;
    if (!native.isClosed(this.#handle)) native.shadowRemoveHandler(this.#handle, registration.id);
  }

  [kEvent](kind, token, text, version) {
    const handler = this.#handlers.get(token);
    if (!handler) return;
    handler(JSON.parse(text), version);
  }
}

module.exports = { Shadow, Registration };

'use strict';
// A runtime (tl_runtime): dispatch and timer threads shared by many devices and clients.

const native = require('./native');
const v = require('./validate');
const { StateError, Status } = require('./errors');

let handleOf; // the private handle, for runtimeHandle()

/**
 * Threads shared by many devices and clients of this process: give it as the `runtime` option of
 * Device.connect()/create() and Client.connect(). Their callbacks then run on its `threads`
 * threads (each device's in order, one at a time) and their deadlines on its one timer thread;
 * each device keeps its connection thread.
 *
 * The devices hold references of their own, so close() (or the Runtime being collected) does not
 * stop them: the threads end when the last device using them is closed.
 */
class Runtime {
  #handle;
  #threads;

  /** @param {{ threads?: number }} [options] threads: 1 to 256 dispatch threads (default 2). */
  constructor(options = {}) {
    v.object(options, 'options');
    for (const key of Object.keys(options)) {
      if (key !== 'threads') {
        const error = new TypeError(`Runtime got an unknown option '${key}'`);
        error.code = 'ERR_INVALID_ARG_VALUE';
        throw error;
      }
    }
    const threads = options.threads ?? 2;
    v.integer(threads, 'options.threads', 1, 256);
    this.#handle = native.runtimeNew(threads);
    this.#threads = threads;
  }

  /** The number of dispatch threads. */
  get threads() {
    return this.#threads;
  }

  /** The number of devices and clients using the runtime now. A StateError once closed. */
  get clients() {
    if (this.#handle === null) throw new StateError('the runtime is closed', Status.ESTATE);
    return native.runtimeClients(this.#handle);
  }

  /** Whether close() was called. */
  get closed() {
    return this.#handle === null;
  }

  /** Drops this object's hold on the threads; devices using them keep working. Idempotent. */
  close() {
    if (this.#handle !== null) native.runtimeClose(this.#handle);
    this.#handle = null;
  }

  static {
    handleOf = (runtime) => runtime.#handle;
  }
}

/** The native handle of `runtime`, for the options of a device or client. */
function runtimeHandle(runtime) {
  if (!(runtime instanceof Runtime)) throw v.typeError('options.runtime', 'an instance of Runtime', runtime);
  const handle = handleOf(runtime);
  if (handle === null) throw new StateError('the runtime is closed', Status.ESTATE);
  return handle;
}

module.exports = { Runtime, runtimeHandle };

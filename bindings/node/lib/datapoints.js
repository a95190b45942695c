'use strict';
// A datapoint pipeline (tl_datapoints): record() appends to memory and returns; twinlink's batcher
// thread encodes, batches, spools and publishes.

const native = require('./native');
const v = require('./validate');

const kCreate = Symbol('twinlink.Datapoints.create');

function timeArray(values, name) {
  if (values instanceof BigInt64Array || values instanceof Float64Array) return values;
  if (Array.isArray(values)) {
    return Float64Array.from(values, (t, i) => {
      if (t instanceof Date) return t.getTime();
      if (typeof t !== 'number') throw v.typeError(`${name}[${i}]`, 'a number of milliseconds or a Date', t);
      return t;
    });
  }
  throw v.typeError(name, 'a BigInt64Array, a Float64Array or an array of numbers', values);
}

class Datapoints {
  #handle;
  #owner;

  constructor(token, handle, owner) {
    if (token !== kCreate) throw new TypeError('Datapoints objects come from device.datapoints or client.datapoints()');
    this.#handle = handle;
    this.#owner = owner;
  }

  /** @internal */
  static _create(handle, owner) {
    return new Datapoints(kCreate, handle, owner);
  }

  /**
   * Records one point of series `name`: a number, bigint (a 64-bit integer), boolean, string or
   * plain object (JSON), at `timestamp` (ms since the epoch, a bigint or a Date; default now).
   * Synchronous and cheap: it appends to memory; it never waits for the network (only with
   * backpressure 'block' and a full backlog does it wait, up to backpressureTimeout).
   */
  record(name, value, timestamp) {
    if (typeof value === 'object' && value !== null) {
      if (Array.isArray(value) || ArrayBuffer.isView(value)) {
        throw v.typeError('value', 'a number, bigint, boolean, string or plain object (use recordMany for arrays)', value);
      }
      native.datapointsRecordJson(this.#handle, name, JSON.stringify(value), timestamp);
      return;
    }
    native.datapointsRecord(this.#handle, name, value, timestamp);
  }

  /**
   * Records many points of one series at once, all or nothing. A Float64Array or BigInt64Array is
   * read in place (no copy in JS); an array of numbers is converted. `timestamps` (optional, one
   * per value): a BigInt64Array (read in place), a Float64Array or an array of numbers or Dates.
   */
  recordMany(name, values, timestamps) {
    if (Array.isArray(values)) {
      values = Float64Array.from(values, (x, i) => {
        if (typeof x !== 'number') throw v.typeError(`values[${i}]`, 'of type number', x);
        return x;
      });
    }
    native.datapointsRecordMany(this.#handle, name, values, timestamps == null ? undefined : timeArray(timestamps, 'timestamps'));
  }

  /**
   * Closes the open batches and resolves once every point recorded before the call is delivered
   * (by the sink's receipt, or the broker's acknowledgement with delivery 'broker') or dropped.
   * Rejects with TimeoutError after `timeout` ms (default 10000).
   */
  async flush(options = {}) {
    v.object(options, 'options');
    const timeout = options.timeout === undefined ? 10000 : v.milliseconds(options.timeout, 'options.timeout');
    await native.datapointsFlush(this.#handle, timeout);
  }

  /** The pipeline's counters (recorded, ackedPoints, confirmedPoints, droppedPoints, ...). */
  stats() {
    return native.datapointsGetStats(this.#handle);
  }

  get closed() {
    return native.isClosed(this.#handle);
  }

  /** Frees a pipeline made by client.datapoints() (a device's goes with the device). */
  async close() {
    await native.close(this.#handle);
    this.#owner?._forget?.(this);
  }
}

module.exports = { Datapoints };

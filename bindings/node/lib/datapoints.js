'use strict';
// A datapoint pipeline (tl_datapoints): record() appends to memory and returns; twinlink's batcher
// thread encodes, batches, spools and publishes.

const native = require('./native');
const v = require('./validate');
const { reportError } = require('./events');
const { Status } = require('./errors');

const kCreate = Symbol('twinlink.Datapoints.create');
// Numbers record()ed under 'drop-oldest' wait in JS for the rest of the tick, up to this many.
const kStagePoints = 1024;
// Integral milliseconds that a double holds exactly, as the addon's timestamp check allows.
const kMaxTimestamp = 9e15;

function isBackpressure(error) {
  return error?.status === Status.EQUEUE_FULL || error?.status === Status.ETIMEOUT;
}

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
  // The staging buffer (see record()): series ids, values and times of points not handed over yet.
  #staging;
  #ids = new Map();
  #stagedIds = null;
  #stagedValues = null;
  #stagedTimes = null;
  #staged = 0;
  #drainQueued = false;
  #drainTask = () => {
    this.#drainQueued = false;
    try {
      this._drain();
    } catch (error) {
      // The policy's refusals are counted (rejectedPoints) and reported by the 'drop' event.
      if (!isBackpressure(error)) reportError([this.#owner], error);
    }
  };

  constructor(token, handle, owner, staging) {
    if (token !== kCreate) throw new TypeError('Datapoints objects come from device.datapoints or client.datapoints()');
    this.#handle = handle;
    this.#owner = owner;
    this.#staging = staging;
  }

  /** @internal `staging`: buffer numbers in JS (backpressure 'drop-oldest', which never refuses at once). */
  static _create(handle, owner, staging = false) {
    return new Datapoints(kCreate, handle, owner, staging);
  }

  /** @internal Hands the buffered points to the pipeline, in recording order. */
  _drain() {
    const count = this.#staged;
    if (count === 0) return;
    this.#staged = 0;
    native.datapointsRecordPoints(this.#handle, this.#stagedIds, this.#stagedValues, this.#stagedTimes, count);
  }

  // Buffers a number of a known series; false when the point must take the direct path.
  #stage(name, value, timestamp) {
    let id = this.#ids.get(name);
    if (id === undefined) {
      if (typeof name !== 'string') return false;
      id = native.datapointsSeriesId(this.#handle, name);  // validates the name, throws as record() does
      this.#ids.set(name, id);
    }
    let time;
    if (timestamp === undefined) time = Date.now();
    else if (Number.isInteger(timestamp) && Math.abs(timestamp) <= kMaxTimestamp) time = timestamp;
    else if (timestamp instanceof Date && Number.isInteger(timestamp.getTime())) time = timestamp.getTime();
    else return false;
    if (this.#stagedIds === null) {
      this.#stagedIds = new Uint32Array(kStagePoints);
      this.#stagedValues = new Float64Array(kStagePoints);
      this.#stagedTimes = new Float64Array(kStagePoints);
    }
    const i = this.#staged++;
    this.#stagedIds[i] = id;
    this.#stagedValues[i] = value;
    this.#stagedTimes[i] = time;
    if (i === 0 && !this.#drainQueued) {
      this.#drainQueued = true;
      queueMicrotask(this.#drainTask);
    }
    if (i + 1 === kStagePoints) this._drain();
    return true;
  }

  /**
   * Records one point of series `name`: a number, bigint (a 64-bit integer), boolean, string or
   * plain object (JSON), at `timestamp` (ms since the epoch, a bigint or a Date; default now).
   * Synchronous and cheap: it appends to memory; it never waits for the network (only with
   * backpressure 'block' and a full backlog does it wait, up to backpressureTimeout).
   *
   * Under backpressure 'drop-oldest' (the default), numbers are buffered in JS until the end of
   * the current tick (or 1024 of them) and handed to the pipeline in one call, which makes
   * record() about as cheap as a typed-array store. Nothing changes for the caller: a bad name or
   * value still throws here, stats() and flush() include the buffered points, and the order
   * within a series is kept. The one difference: if the pipeline refuses points because they
   * arrive faster than it batches them, the refusal is reported by the 'drop' event and
   * stats().rejectedPoints rather than thrown.
   */
  record(name, value, timestamp) {
    // The hot path: a finite number, buffered in JS and handed over in one call per tick.
    if (this.#staging && typeof value === 'number' && Number.isFinite(value) && this.#stage(name, value, timestamp)) {
      return;
    }
    this._drain();
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
    this._drain();
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
    this._drain();
    await native.datapointsFlush(this.#handle, timeout);
  }

  /** The pipeline's counters (recorded, ackedPoints, confirmedPoints, droppedPoints, ...). */
  stats() {
    this.#drainQuietly();
    return native.datapointsGetStats(this.#handle);
  }

  /** @internal As _drain(), for the paths that must not throw (stats, close). */
  #drainQuietly() {
    try {
      this._drain();
    } catch (error) {
      if (!isBackpressure(error)) reportError([this.#owner], error);
    }
  }

  /** @internal Called by the owner before it frees the pipeline: record() goes direct from now on,
   * so that a call after close throws at once as it always did. */
  _beforeClose() {
    this.#drainQuietly();
    this.#staging = false;
  }

  get closed() {
    return native.isClosed(this.#handle);
  }

  /** Frees a pipeline made by client.datapoints() (a device's goes with the device). */
  async close() {
    this._beforeClose();
    await native.close(this.#handle);
    this.#owner?._forget?.(this);
  }
}

module.exports = { Datapoints };

'use strict';
// How native events reach JS listeners, and what happens when a listener throws.

const kEvent = Symbol('twinlink.event');

/**
 * The dispatch function of every channel: the addon calls it on the JS thread with the channel's
 * object as `this` (a Device, Client or Shadow) and the event's kind and arguments.
 */
function dispatch(kind, ...args) {
  this[kEvent](kind, ...args);
}

/**
 * Calls `listener(...args)`; an exception goes to the 'error' listeners of the first of `targets`
 * (EventEmitters) that has any, else it becomes the process's uncaught exception. It never
 * reaches the addon or the C library.
 */
function callSafely(targets, listener, ...args) {
  try {
    listener(...args);
  } catch (error) {
    reportError(targets, error);
  }
}

function reportError(targets, error) {
  for (const target of targets) {
    if (target && target.listenerCount('error') > 0) {
      target.emit('error', error);
      return;
    }
  }
  process.nextTick(() => {
    throw error;
  });
}

/** Emits `event` on `emitter`, with exceptions of its listeners handled as in callSafely(). */
function emitSafely(targets, emitter, event, ...args) {
  for (const listener of emitter.rawListeners(event)) {
    // once() wrappers remove themselves when called, as emit() would.
    callSafely(targets, listener.bind(emitter), ...args);
  }
}

/**
 * An async iterator fed by events: values wait in a queue until next() takes them. `onClose`
 * runs once, when the consumer stops (return(), break in for-await) or the source ends.
 */
class EventQueue {
  #values = [];
  #waiting = [];
  #done = false;
  #error = null;
  #onClose;

  constructor(onClose) {
    this.#onClose = onClose;
  }

  push(value) {
    if (this.#done) return;
    const waiter = this.#waiting.shift();
    if (waiter) waiter.resolve({ value, done: false });
    else this.#values.push(value);
  }

  /** Ends the iteration after the queued values (with `error`, the next() after them rejects). */
  end(error = null) {
    if (this.#done) return;
    this.#error = error;
    this.#finish();
  }

  #finish() {
    this.#done = true;
    const onClose = this.#onClose;
    this.#onClose = null;
    if (onClose) onClose();
    for (const waiter of this.#waiting.splice(0)) {
      if (this.#error) waiter.reject(this.#error);
      else waiter.resolve({ value: undefined, done: true });
    }
  }

  next() {
    if (this.#values.length > 0) return Promise.resolve({ value: this.#values.shift(), done: false });
    if (this.#done) {
      if (this.#error) {
        const error = this.#error;
        this.#error = null;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  return() {
    this.#values.length = 0;
    if (!this.#done) this.#finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  async [Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')]() {
    await this.return();
  }
}

module.exports = { kEvent, dispatch, callSafely, reportError, emitSafely, EventQueue };

'use strict';
// Small value classes: connection events, received messages, drop reports.

const { errorFor, Status } = require('./errors');
const native = require('./native');

const STATES = ['disconnected', 'connecting', 'connected', 'reconnecting'];
const LOG_LEVELS = ['error', 'warning', 'info', 'debug'];
const BACKPRESSURE = ['drop-oldest', 'drop-newest', 'block'];

const stateName = (state) => STATES[state] ?? 'disconnected';

/** A connection state change ('connection' event). */
class ConnectionEvent {
  constructor(state, reason, message, broker, retryIn, attempt) {
    /** 'disconnected' | 'connecting' | 'connected' | 'reconnecting' */
    this.state = stateName(state);
    /** The tl_status of why the connection ended or an attempt failed (0 otherwise). */
    this.status = reason;
    /** Its stable name ('timeout', 'tls', ...), or null. */
    this.code = reason === Status.OK ? null : native.statusName(reason);
    this.message = message;
    this.broker = broker;
    /** With 'reconnecting': milliseconds until the next attempt. */
    this.retryIn = retryIn;
    /** Consecutive failed attempts so far. */
    this.attempt = attempt;
  }

  /** The failure as a TwinlinkError (TlsError, AuthError, ...), or null. */
  get error() {
    return this.status === Status.OK ? null : errorFor(this.status, this.code, this.message || this.code);
  }
}

/** A message received through a subscription. */
class Message {
  constructor(topic, payload, qos, retained) {
    this.topic = topic;
    /** The payload bytes. */
    this.payload = payload;
    this.qos = qos;
    this.retained = retained;
  }

  /** The payload as UTF-8 text. */
  text() {
    return this.payload.toString('utf8');
  }

  /** The payload parsed as JSON. */
  json() {
    return JSON.parse(this.text());
  }
}

/** Points discarded by the datapoint pipeline ('drop' event), summed over up to a second. */
class DropEvent {
  constructor(policy, points, batches, reason) {
    this.policy = BACKPRESSURE[policy] ?? String(policy);
    this.points = points;
    this.batches = batches;
    this.reason = reason;
  }
}

module.exports = { ConnectionEvent, Message, DropEvent, stateName, LOG_LEVELS };

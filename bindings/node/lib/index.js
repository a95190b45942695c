'use strict';
// twinlink for Node.js: device shadows and batched telemetry over MQTT, on libtwinlink's C ABI.
//
//   const { Device } = require('twinlink');
//   const dev = await Device.connect('sensor-42', { broker: 'mqtt://127.0.0.1:1883' });

const native = require('./native');
const errors = require('./errors');
const { Device } = require('./device');
const { Client, Subscription } = require('./client');
const { Shadow, Registration } = require('./shadow');
const { Datapoints } = require('./datapoints');
const { Runtime } = require('./runtime');
const { ConnectionEvent, Message, DropEvent } = require('./types');

module.exports = {
  Device,
  Client,
  Shadow,
  Datapoints,
  Runtime,
  Subscription,
  Registration,
  ConnectionEvent,
  Message,
  DropEvent,
  TwinlinkError: errors.TwinlinkError,
  InvalidArgumentError: errors.InvalidArgumentError,
  OutOfMemoryError: errors.OutOfMemoryError,
  TimeoutError: errors.TimeoutError,
  ConnectError: errors.ConnectError,
  TlsError: errors.TlsError,
  AuthError: errors.AuthError,
  NotConnectedError: errors.NotConnectedError,
  QueueFullError: errors.QueueFullError,
  DroppedError: errors.DroppedError,
  CanceledError: errors.CanceledError,
  SubscribeError: errors.SubscribeError,
  StateError: errors.StateError,
  ProtocolError: errors.ProtocolError,
  InternalError: errors.InternalError,
  StorageError: errors.StorageError,
  RejectedError: errors.RejectedError,
  ConflictError: errors.ConflictError,
  NotFoundError: errors.NotFoundError,
  Status: errors.Status,
  /** The version of the libtwinlink in use ("0.1.0"). */
  version: native.version,
};

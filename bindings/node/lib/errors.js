'use strict';
// The errors of the C ABI as classes: each TwinlinkError carries `.status` (the tl_status, a
// negative number that never changes meaning) and `.code` (its stable name from tl_status_str,
// such as 'timeout' or 'queue full'). The addon creates them through the factory registered below.

const native = require('./native');

class TwinlinkError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code ?? native.statusName(status);
  }

  get name() {
    return this.constructor.name;
  }
}

class InvalidArgumentError extends TwinlinkError {}
class OutOfMemoryError extends TwinlinkError {}
class TimeoutError extends TwinlinkError {}
class ConnectError extends TwinlinkError {}
class TlsError extends TwinlinkError {}
class AuthError extends TwinlinkError {}
class NotConnectedError extends TwinlinkError {}
class QueueFullError extends TwinlinkError {}
class DroppedError extends TwinlinkError {}
class CanceledError extends TwinlinkError {}
class SubscribeError extends TwinlinkError {}
class StateError extends TwinlinkError {}
class ProtocolError extends TwinlinkError {}
class InternalError extends TwinlinkError {}
class StorageError extends TwinlinkError {}
class RejectedError extends TwinlinkError {}
class ConflictError extends RejectedError {}
class NotFoundError extends RejectedError {}

const Status = Object.freeze({
  OK: 0,
  EINVAL: -1,
  ENOMEM: -2,
  ETIMEOUT: -3,
  ECONNECT: -4,
  ETLS: -5,
  EAUTH: -6,
  ENOTCONN: -7,
  EQUEUE_FULL: -8,
  EDROPPED: -9,
  ECANCELED: -10,
  ESUBSCRIBE: -11,
  ESTATE: -12,
  EPROTOCOL: -13,
  EINTERNAL: -14,
  EIO: -15,
  EREJECTED: -16,
  ECONFLICT: -17,
  ENOTFOUND: -18,
});

const classOf = new Map([
  [Status.EINVAL, InvalidArgumentError],
  [Status.ENOMEM, OutOfMemoryError],
  [Status.ETIMEOUT, TimeoutError],
  [Status.ECONNECT, ConnectError],
  [Status.ETLS, TlsError],
  [Status.EAUTH, AuthError],
  [Status.ENOTCONN, NotConnectedError],
  [Status.EQUEUE_FULL, QueueFullError],
  [Status.EDROPPED, DroppedError],
  [Status.ECANCELED, CanceledError],
  [Status.ESUBSCRIBE, SubscribeError],
  [Status.ESTATE, StateError],
  [Status.EPROTOCOL, ProtocolError],
  [Status.EINTERNAL, InternalError],
  [Status.EIO, StorageError],
  [Status.EREJECTED, RejectedError],
  [Status.ECONFLICT, ConflictError],
  [Status.ENOTFOUND, NotFoundError],
]);

/** The TwinlinkError subclass instance for a status of the C ABI. */
function errorFor(status, code, message) {
  const Class = classOf.get(status) ?? TwinlinkError;
  return new Class(message || code, status, code);
}

native.setErrorFactory(errorFor);

module.exports = {
  TwinlinkError,
  InvalidArgumentError,
  OutOfMemoryError,
  TimeoutError,
  ConnectError,
  TlsError,
  AuthError,
  NotConnectedError,
  QueueFullError,
  DroppedError,
  CanceledError,
  SubscribeError,
  StateError,
  ProtocolError,
  InternalError,
  StorageError,
  RejectedError,
  ConflictError,
  NotFoundError,
  Status,
  errorFor,
};

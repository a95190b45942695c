// Type declarations of the twinlink package (written by hand; `npm test` checks them with tsc
// against test/types/*.ts and the examples).
/// <reference types="node" />
/// <reference lib="esnext.disposable" />

import { EventEmitter } from 'node:events';

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';
export type LogLevel = 'error' | 'warning' | 'info' | 'debug';
export type Encoding = 'json' | 'cbor' | 'compact';
export type Backpressure = 'drop-oldest' | 'drop-newest' | 'block';
export type Delivery = 'receipt' | 'broker';
export type Fsync = 'every-batch' | 'interval' | 'never';
export type Profile = 'twinlink' | 'aws';
export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
/** Milliseconds since the epoch, as a number or bigint, or a Date. */
export type Timestamp = number | bigint | Date;

/** TLS for mqtts:// and wss:// brokers. Paths of PEM files. */
export interface TlsOptions {
  /** CA certificates; default: the system's store. */
  ca?: string;
  /** A directory of hashed CA certificates. */
  caDir?: string;
  /** Client certificate for mutual TLS (with key). */
  cert?: string;
  key?: string;
  keyPassword?: string;
  /** Default true. */
  verifyHostname?: boolean;
  /** Accept any server certificate (testing only). Default false. */
  insecure?: boolean;
}

/** Options of the MQTT connection (Device and Client). Durations in milliseconds. */
export interface ClientOptions {
  /** Broker URI(s): mqtt://, mqtts://, ws://, wss://; several are tried in turn. Default: $TWINLINK_BROKER. */
  broker?: string | string[];
  /** How long connect() waits; default 10000. */
  timeout?: number;
  /** Default: the device id (Device), a random "tl-..." id (Client). */
  clientId?: string;
  username?: string;
  password?: string;
  /** 4 / '3.1.1' (default) or 5. */
  mqttVersion?: 4 | 5 | '3.1.1' | '5';
  /** Default true; false: a persistent session (needs a client id). */
  cleanSession?: boolean;
  /** Seconds, as in MQTT; default 30. */
  keepalive?: number;
  /** One connection attempt; default 10000. */
  connectTimeout?: number;
  /** Full-jitter backoff bounds; default [500, 30000]. */
  reconnectBackoff?: [min: number, max: number] | { min: number; max: number };
  /** An unacknowledged QoS 1/2 publish fails with TimeoutError after this; default 30000. */
  ackTimeout?: number;
  /** How long subscribe waits for the broker; default 10000. */
  operationTimeout?: number;
  tls?: TlsOptions;
  /** Retained presence topic (Device default "{prefix}/{device}/status"), or its topic and payloads. */
  presence?: string | { topic?: string; online?: string; offline?: string };
  /** Default { maxMessages: 10000, maxBytes: 16 MiB, policy: 'reject-new' }. */
  offlineQueue?: { maxMessages?: number; maxBytes?: number; policy?: 'reject-new' | 'drop-oldest' };
  /** Messages sent and not yet acknowledged; default 256. */
  maxInflight?: number;
  /** Default true. */
  tcpNoDelay?: boolean;
  /** Run callbacks on these shared threads instead of threads of this connection's own. */
  runtime?: Runtime;
  /** Emit 'log' events up to this level (default: none; TWINLINK_LOG=level writes to stderr). */
  logLevel?: LogLevel;
  /** Shadow topic profile; default 'twinlink'. */
  profile?: Profile;
  /** Topic prefix of the twinlink profile; default 'tl'. */
  prefix?: string;
  /** An unanswered shadow update is resent after this; default 10000. */
  shadowRequestTimeout?: number;
}

/** Options of a datapoint pipeline. */
export interface DatapointOptions {
  /** Default "{prefix}/{device}/dp"; "{series}" gives each series its own topic. */
  datapointTopic?: string;
  /** Default 'json'. */
  encoding?: Encoding;
  /** A batch closes at whichever comes first; default 5000 points, 65536 bytes, 500 ms. */
  batchMaxPoints?: number;
  batchMaxBytes?: number;
  batchLinger?: number;
  /** Durable spool of undelivered batches (default: memory only). */
  spoolDir?: string;
  /** Default 64 MiB. */
  spoolMaxBytes?: number;
  /** Default 'interval'. */
  spoolFsync?: Fsync;
  /** Default 1000. */
  spoolFsyncInterval?: number;
  /** Undelivered batches kept in memory without a spool; default 16 MiB. */
  backlogMaxBytes?: number;
  /** Points recorded and not yet batched; default 1000000. */
  maxPendingPoints?: number;
  /** Default 'drop-oldest'; 'drop-newest' makes record() throw QueueFullError; 'block' makes it wait. */
  backpressure?: Backpressure;
  /** How long record() may wait under 'block'; default 1000. */
  backpressureTimeout?: number;
  /** Default 16. */
  maxInflightBatches?: number;
  /** Default 0 (no limit). */
  maxBatchesPerSecond?: number;
  /** 'receipt' (default): delivered when the sink's receipt confirms it; 'broker': at the PUBACK. */
  delivery?: Delivery;
  /** Default 10000. */
  receiptTimeout?: number;
  /** Default 64. */
  maxUnconfirmedBatches?: number;
  /** Default "{prefix}/{device}/receipts". */
  receiptTopic?: string;
}

export interface DeviceOptions extends ClientOptions, DatapointOptions {
  /** Keeps each shadow's last document in a file in this directory. */
  shadowPersistDir?: string;
}

export interface TimeoutOption {
  /** Milliseconds. */
  timeout?: number;
}

export interface ClientStats {
  messagesOut: number;
  bytesOut: number;
  messagesIn: number;
  bytesIn: number;
  connects: number;
  reconnects: number;
  connectFailures: number;
  queuedMessages: number;
  queuedBytes: number;
  inflight: number;
  dropped: number;
  rejected: number;
  ackTimeouts: number;
  resent: number;
  callbackQueue: number;
}

export interface DatapointStats {
  recorded: number;
  batched: number;
  batches: number;
  sent: number;
  ackedBatches: number;
  ackedPoints: number;
  confirmedBatches: number;
  confirmedPoints: number;
  receiptTimeouts: number;
  /** Receipts not applied: malformed, for another device, or too many waiting to be read. */
  receiptsIgnored: number;
  droppedPoints: number;
  droppedBatches: number;
  rejectedPoints: number;
  recoveredBatches: number;
  pendingPoints: number;
  backlogBatches: number;
  backlogPoints: number;
  backlogBytes: number;
  spooledBytes: number;
}

export interface DeviceStats {
  state: ConnectionState;
  client: ClientStats;
  datapoints: DatapointStats;
}

export class ConnectionEvent {
  private constructor();
  readonly state: ConnectionState;
  /** The tl_status of why the connection ended or an attempt failed; 0 otherwise. */
  readonly status: number;
  /** Its stable name ('timeout', 'tls error', ...), or null. */
  readonly code: string | null;
  readonly message: string;
  readonly broker: string;
  /** With 'reconnecting': milliseconds until the next attempt. */
  readonly retryIn: number;
  readonly attempt: number;
  /** The failure as a TwinlinkError subclass, or null. */
  readonly error: TwinlinkError | null;
}

export class Message {
  private constructor();
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retained: boolean;
  text(): string;
  json<T = JsonValue>(): T;
}

export class DropEvent {
  private constructor();
  readonly policy: Backpressure;
  readonly points: number;
  readonly batches: number;
  readonly reason: string;
}

export interface LogEvent {
  level: LogLevel;
  message: string;
}

export interface Delta<T = JsonValue> {
  state: T;
  version: number;
}

export interface ShadowDocument {
  state: { desired?: JsonObject; reported?: JsonObject; delta?: JsonObject };
  version: number;
  timestamp?: number;
  exists?: boolean;
  [key: string]: unknown;
}

/** An async iterator of events: return() (or leaving a for-await loop) unregisters it. */
export interface EventIterator<T> extends AsyncIterableIterator<T>, AsyncDisposable {
  next(): Promise<IteratorResult<T, undefined>>;
  return(): Promise<IteratorResult<T, undefined>>;
}

export class Registration implements Disposable {
  private constructor();
  remove(): void;
  [Symbol.dispose](): void;
}

export interface ShadowEvents {
  delta: [delta: JsonObject, version: number];
  change: [document: ShadowDocument];
  error: [error: unknown];
}

export class Shadow extends EventEmitter {
  private constructor();
  readonly deviceId: string;
  /** '' for the classic shadow. */
  readonly name: string;
  readonly closed: boolean;
  report(state: JsonObject, options?: TimeoutOption): Promise<ShadowDocument>;
  reportNoWait(state: JsonObject): void;
  desire(state: JsonObject, options?: TimeoutOption): Promise<ShadowDocument>;
  desireNoWait(state: JsonObject): void;
  update(request: JsonObject, options?: TimeoutOption): Promise<ShadowDocument>;
  get(options?: TimeoutOption): Promise<ShadowDocument>;
  delete(options?: TimeoutOption): Promise<void>;
  /** The local copy, never waits. */
  readonly document: ShadowDocument;
  readonly reported: JsonObject;
  readonly desired: JsonObject;
  readonly delta: JsonObject;
  readonly version: number;
  onDelta(listener: (delta: JsonValue, version: number) => void, options?: { path?: string; initial?: boolean }): Registration;
  onChange(listener: (document: ShadowDocument) => void): Registration;
  deltas(options?: { path?: string; initial?: boolean }): EventIterator<Delta<JsonObject>>;
  changes(): EventIterator<ShadowDocument>;
  /** Frees a shadow made by client.shadow(). */
  close(): Promise<void>;

  on<K extends keyof ShadowEvents>(event: K, listener: (...args: ShadowEvents[K]) => void): this;
  once<K extends keyof ShadowEvents>(event: K, listener: (...args: ShadowEvents[K]) => void): this;
  off<K extends keyof ShadowEvents>(event: K, listener: (...args: ShadowEvents[K]) => void): this;
  addListener<K extends keyof ShadowEvents>(event: K, listener: (...args: ShadowEvents[K]) => void): this;
  removeListener<K extends keyof ShadowEvents>(event: K, listener: (...args: ShadowEvents[K]) => void): this;
  emit<K extends keyof ShadowEvents>(event: K, ...args: ShadowEvents[K]): boolean;
}

export class Datapoints {
  private constructor();
  /** Synchronous; never waits for the network. */
  record(name: string, value: number | bigint | boolean | string | JsonObject, timestamp?: Timestamp): void;
  /** Float64Array and BigInt64Array are read in place. */
  recordMany(
    name: string,
    values: Float64Array | BigInt64Array | number[],
    timestamps?: BigInt64Array | Float64Array | Array<number | Date>,
  ): void;
  flush(options?: TimeoutOption): Promise<void>;
  stats(): DatapointStats;
  readonly closed: boolean;
  /** Frees a pipeline made by client.datapoints(). */
  close(): Promise<void>;
}

export class Subscription implements AsyncIterable<Message>, AsyncDisposable {
  private constructor();
  readonly filter: string;
  unsubscribe(): Promise<void>;
  [Symbol.asyncIterator](): AsyncIterator<Message>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface PublishOptions {
  /** Default 1. */
  qos?: 0 | 1 | 2;
  /** Default false. */
  retain?: boolean;
}

export interface ClientEvents {
  connection: [event: ConnectionEvent];
  log: [event: LogEvent];
  drop: [event: DropEvent];
  error: [error: unknown];
  close: [];
}

export class Client extends EventEmitter implements AsyncDisposable {
  private constructor();
  static connect(broker: string | string[], options?: ClientOptions): Promise<Client>;
  static connect(options?: ClientOptions): Promise<Client>;
  static create(broker: string | string[], options?: ClientOptions): Promise<Client>;
  static create(options?: ClientOptions): Promise<Client>;
  readonly id: string;
  readonly state: ConnectionState;
  readonly connected: boolean;
  readonly closed: boolean;
  connect(options?: TimeoutOption): Promise<void>;
  disconnect(options?: TimeoutOption): Promise<void>;
  close(options?: TimeoutOption): Promise<void>;
  ref(): this;
  unref(): this;
  /** Resolves when delivered: the PUBACK for QoS 1 and 2. */
  publish(topic: string, payload: string | Uint8Array | ArrayBufferView | ArrayBuffer | JsonValue, options?: PublishOptions): Promise<void>;
  subscribe(filter: string, listener: (message: Message) => void, options?: { qos?: 0 | 1 | 2 }): Promise<Subscription>;
  subscribe(filter: string, options?: { qos?: 0 | 1 | 2 }): Promise<Subscription>;
  /** The shadow of device `deviceId` ('' or omitted: the classic one), for a backend. */
  shadow(deviceId: string, name?: string): Promise<Shadow>;
  datapoints(deviceId: string, options?: DatapointOptions): Promise<Datapoints>;
  stats(): ClientStats;
  [Symbol.asyncDispose](): Promise<void>;

  on<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  once<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  off<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  addListener<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  removeListener<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  emit<K extends keyof ClientEvents>(event: K, ...args: ClientEvents[K]): boolean;
}

export type DeviceEvents = ClientEvents;

/**
 * Dispatch and timer threads shared by many devices and clients (the `runtime` option). Devices
 * keep it alive: close() never stops one that uses it.
 */
export class Runtime {
  /** threads: 1 to 256 dispatch threads; default 2. */
  constructor(options?: { threads?: number });
  readonly threads: number;
  /** Devices and clients using it now; throws a StateError once closed. */
  readonly clients: number;
  readonly closed: boolean;
  /** Idempotent. */
  close(): void;
}

export class Device extends EventEmitter implements AsyncDisposable {
  private constructor();
  /** Makes the device and connects it; resolves once online. */
  static connect(deviceId: string, options?: DeviceOptions): Promise<Device>;
  /** Makes the device without connecting it. */
  static create(deviceId: string, options?: DeviceOptions): Promise<Device>;
  readonly id: string;
  readonly state: ConnectionState;
  readonly connected: boolean;
  readonly closed: boolean;
  /** The classic shadow. */
  readonly shadow: Shadow;
  readonly datapoints: Datapoints;
  /** The device's MQTT client, for topics of your own. */
  readonly client: Client;
  namedShadow(name: string): Promise<Shadow>;
  connect(options?: TimeoutOption): Promise<void>;
  disconnect(options?: TimeoutOption): Promise<void>;
  /** Flushes (when connected), disconnects and frees. Idempotent. */
  close(options?: TimeoutOption): Promise<void>;
  ref(): this;
  unref(): this;
  stats(): DeviceStats;
  [Symbol.asyncDispose](): Promise<void>;

  on<K extends keyof DeviceEvents>(event: K, listener: (...args: DeviceEvents[K]) => void): this;
  once<K extends keyof DeviceEvents>(event: K, listener: (...args: DeviceEvents[K]) => void): this;
  off<K extends keyof DeviceEvents>(event: K, listener: (...args: DeviceEvents[K]) => void): this;
  addListener<K extends keyof DeviceEvents>(event: K, listener: (...args: DeviceEvents[K]) => void): this;
  removeListener<K extends keyof DeviceEvents>(event: K, listener: (...args: DeviceEvents[K]) => void): this;
  emit<K extends keyof DeviceEvents>(event: K, ...args: DeviceEvents[K]): boolean;
}

/** A failure of the C library: `.status` is the tl_status, `.code` its stable name. */
export class TwinlinkError extends Error {
  constructor(message: string, status: number, code?: string);
  readonly status: number;
  readonly code: string;
}
export class InvalidArgumentError extends TwinlinkError {}
export class OutOfMemoryError extends TwinlinkError {}
export class TimeoutError extends TwinlinkError {}
export class ConnectError extends TwinlinkError {}
export class TlsError extends TwinlinkError {}
export class AuthError extends TwinlinkError {}
export class NotConnectedError extends TwinlinkError {}
export class QueueFullError extends TwinlinkError {}
export class DroppedError extends TwinlinkError {}
export class CanceledError extends TwinlinkError {}
export class SubscribeError extends TwinlinkError {}
export class StateError extends TwinlinkError {}
export class ProtocolError extends TwinlinkError {}
export class InternalError extends TwinlinkError {}
export class StorageError extends TwinlinkError {}
export class RejectedError extends TwinlinkError {}
export class ConflictError extends RejectedError {}
export class NotFoundError extends RejectedError {}

export const Status: {
  readonly OK: 0;
  readonly EINVAL: -1;
  readonly ENOMEM: -2;
  readonly ETIMEOUT: -3;
  readonly ECONNECT: -4;
  readonly ETLS: -5;
  readonly EAUTH: -6;
  readonly ENOTCONN: -7;
  readonly EQUEUE_FULL: -8;
  readonly EDROPPED: -9;
  readonly ECANCELED: -10;
  readonly ESUBSCRIBE: -11;
  readonly ESTATE: -12;
  readonly EPROTOCOL: -13;
  readonly EINTERNAL: -14;
  readonly EIO: -15;
  readonly EREJECTED: -16;
  readonly ECONFLICT: -17;
  readonly ENOTFOUND: -18;
};

/** The version of libtwinlink in use. */
export const version: string;

'use strict';
// The options of Device.connect() and Client.connect() -> the option objects of the C ABI.
//
// Every option of the core is a property; one that is not given keeps the core's default.
// Durations are milliseconds (keepalive is seconds, as in MQTT), sizes bytes. A property this
// module does not know is a TypeError, so a misspelt name does not pass silently.

const native = require('./native');
const v = require('./validate');
const { runtimeHandle } = require('./runtime');

const Profile = { twinlink: 0, aws: 1 };
const Encoding = { json: 0, cbor: 1, compact: 2 };
const Backpressure = { 'drop-oldest': 0, 'drop-newest': 1, block: 2 };
const Fsync = { 'every-batch': 0, interval: 1, never: 2 };
const Overflow = { 'reject-new': 0, 'drop-oldest': 1 };
const Delivery = { broker: 0, receipt: 1 };
const LogLevel = { error: 0, warning: 1, info: 2, debug: 3 };
const MqttVersion = { '3.1.1': 4, 4: 4, 5: 5, '5': 5 };

// The core's defaults, for the setters that take several values of which only some are given.
const DEFAULTS = {
  reconnectBackoff: [500, 30000],
  offlineQueue: { maxMessages: 10000, maxBytes: 16 * 1024 * 1024, policy: 'reject-new' },
  batch: { maxPoints: 5000, maxBytes: 65536, linger: 500 },
  spool: { maxBytes: 64 * 1024 * 1024, fsync: 'interval', fsyncInterval: 1000 },
  backlog: { maxBytes: 16 * 1024 * 1024, maxPendingPoints: 1000000 },
  backpressure: { policy: 'drop-oldest', timeout: 1000 },
  sending: { maxInflightBatches: 16, maxBatchesPerSecond: 0 },
  delivery: { receiptTimeout: 10000, maxUnconfirmedBatches: 64 },
};

const CLIENT_KEYS = [
  'broker', 'clientId', 'username', 'password', 'mqttVersion', 'cleanSession', 'keepalive', 'connectTimeout',
  'reconnectBackoff', 'ackTimeout', 'operationTimeout', 'tls', 'presence', 'offlineQueue', 'maxInflight',
  'tcpNoDelay', 'logLevel', 'profile', 'prefix', 'shadowRequestTimeout', 'timeout', 'runtime',
];
const DATAPOINT_KEYS = [
  'datapointTopic', 'encoding', 'batchMaxPoints', 'batchMaxBytes', 'batchLinger', 'spoolDir', 'spoolMaxBytes',
  'spoolFsync', 'spoolFsyncInterval', 'backlogMaxBytes', 'maxPendingPoints', 'backpressure', 'backpressureTimeout',
  'maxInflightBatches', 'maxBatchesPerSecond', 'delivery', 'receiptTimeout', 'maxUnconfirmedBatches', 'receiptTopic',
];
const DEVICE_KEYS = [...CLIENT_KEYS, ...DATAPOINT_KEYS, 'shadowPersistDir'];
const TLS_KEYS = ['ca', 'caDir', 'cert', 'key', 'keyPassword', 'verifyHostname', 'insecure'];

function checkKeys(options, known, where) {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const error = new TypeError(`${where} got an unknown option '${key}'`);
      error.code = 'ERR_INVALID_ARG_VALUE';
      throw error;
    }
  }
}

const given = (value) => value !== undefined && value !== null;

function brokerList(broker) {
  if (!given(broker)) {
    broker = process.env.TWINLINK_BROKER;
    if (!broker) {
      const error = new TypeError("no broker: pass { broker: 'mqtt://host:1883' } (or set TWINLINK_BROKER)");
      error.code = 'ERR_MISSING_OPTION';
      throw error;
    }
  }
  const list = typeof broker === 'string' ? [broker] : broker;
  if (!Array.isArray(list) || list.length === 0) throw v.typeError('options.broker', 'a string or a non-empty array of strings', broker);
  list.forEach((uri, i) => v.string(uri, `options.broker[${i}]`));
  return list;
}

function pair(value, name) {
  if (Array.isArray(value) && value.length === 2) return value;
  if (value && typeof value === 'object' && 'min' in value && 'max' in value) return [value.min, value.max];
  throw v.typeError(name, 'an array [min, max] or an object { min, max }', value);
}

/**
 * Client options. `channel` receives the connection events (and the log lines when logLevel is
 * given).
 */
function clientOptions(options, channel) {
  const o = native.clientOptionsNew();
  for (const uri of brokerList(options.broker)) native.clientOptionsAddBroker(o, uri);
  if (given(options.clientId)) native.clientOptionsSetClientId(o, v.string(options.clientId, 'options.clientId'));
  if (given(options.username) || given(options.password)) {
    if (!given(options.username)) throw v.typeError('options.username', 'given with options.password', options.username);
    native.clientOptionsSetCredentials(
      o,
      v.string(options.username, 'options.username'),
      given(options.password) ? v.string(options.password, 'options.password') : null,
    );
  }
  if (given(options.mqttVersion)) {
    native.clientOptionsSetMqttVersion(o, v.choice(String(options.mqttVersion), 'options.mqttVersion', MqttVersion));
  }
  if (given(options.cleanSession)) native.clientOptionsSetCleanSession(o, v.boolean(options.cleanSession, 'options.cleanSession'));
  if (given(options.keepalive)) native.clientOptionsSetKeepalive(o, v.integer(options.keepalive, 'options.keepalive', 0, 65535));
  if (given(options.connectTimeout)) {
    native.clientOptionsSetConnectTimeout(o, v.milliseconds(options.connectTimeout, 'options.connectTimeout'));
  }
  if (given(options.reconnectBackoff)) {
    const [min, max] = pair(options.reconnectBackoff, 'options.reconnectBackoff');
    native.clientOptionsSetReconnectBackoff(
      o,
      v.milliseconds(min, 'options.reconnectBackoff.min'),
      v.milliseconds(max, 'options.reconnectBackoff.max'),
    );
  }
  if (given(options.ackTimeout)) native.clientOptionsSetAckTimeout(o, v.milliseconds(options.ackTimeout, 'options.ackTimeout'));
  if (given(options.operationTimeout)) {
    native.clientOptionsSetOperationTimeout(o, v.milliseconds(options.operationTimeout, 'options.operationTimeout'));
  }
  if (given(options.tls)) tlsOptions(o, v.object(options.tls, 'options.tls'));
  if (given(options.presence)) {
    const p = typeof options.presence === 'string' ? { topic: options.presence } : v.object(options.presence, 'options.presence');
    native.clientOptionsSetPresence(
      o,
      given(p.topic) ? v.string(p.topic, 'options.presence.topic') : null,
      given(p.online) ? v.string(p.online, 'options.presence.online') : null,
      given(p.offline) ? v.string(p.offline, 'options.presence.offline') : null,
    );
  }
  if (given(options.offlineQueue)) {
    const q = { ...DEFAULTS.offlineQueue, ...v.object(options.offlineQueue, 'options.offlineQueue') };
    native.clientOptionsSetOfflineQueue(
      o,
      v.integer(q.maxMessages, 'options.offlineQueue.maxMessages', 1),
      v.integer(q.maxBytes, 'options.offlineQueue.maxBytes', 1),
      v.choice(q.policy, 'options.offlineQueue.policy', Overflow),
    );
  }
  if (given(options.maxInflight)) native.clientOptionsSetMaxInflight(o, v.integer(options.maxInflight, 'options.maxInflight', 1, 65535));
  if (given(options.tcpNoDelay)) native.clientOptionsSetTcpNodelay(o, v.boolean(options.tcpNoDelay, 'options.tcpNoDelay'));
  if (given(options.runtime)) native.clientOptionsSetRuntime(o, runtimeHandle(options.runtime));
  if (given(options.logLevel)) {
    native.clientOptionsSetLogCallback(o, channel, v.choice(options.logLevel, 'options.logLevel', LogLevel));
  }
  native.clientOptionsSetConnectionCallback(o, channel);
  return o;
}

function tlsOptions(o, tls) {
  checkKeys(tls, TLS_KEYS, 'options.tls');
  if (given(tls.ca) || given(tls.caDir)) {
    native.clientOptionsSetTlsCa(
      o,
      given(tls.ca) ? v.string(tls.ca, 'options.tls.ca') : null,
      given(tls.caDir) ? v.string(tls.caDir, 'options.tls.caDir') : null,
    );
  }
  if (given(tls.cert) || given(tls.key)) {
    native.clientOptionsSetTlsClientCert(
      o,
      v.string(tls.cert, 'options.tls.cert'),
      v.string(tls.key, 'options.tls.key'),
      given(tls.keyPassword) ? v.string(tls.keyPassword, 'options.tls.keyPassword') : null,
    );
  }
  if (given(tls.verifyHostname)) native.clientOptionsSetTlsVerifyHostname(o, v.boolean(tls.verifyHostname, 'options.tls.verifyHostname'));
  if (given(tls.insecure)) native.clientOptionsSetTlsInsecure(o, v.boolean(tls.insecure, 'options.tls.insecure'));
}

function profileOf(options) {
  return [
    given(options.profile) ? v.choice(options.profile, 'options.profile', Profile) : Profile.twinlink,
    given(options.prefix) ? v.string(options.prefix, 'options.prefix') : null,
  ];
}

/** Shadow options: the profile and request timeout of `defaults`, and a name. */
function shadowOptions(defaults, name, persistPath) {
  const o = native.shadowOptionsNew();
  native.shadowOptionsSetProfile(o, ...defaults.profile);
  if (name) native.shadowOptionsSetName(o, name);
  if (given(defaults.requestTimeout)) native.shadowOptionsSetRequestTimeout(o, defaults.requestTimeout);
  if (given(persistPath)) native.shadowOptionsSetPersistPath(o, v.string(persistPath, 'options.shadowPersistDir'));
  return o;
}

/** What a client keeps for the shadows it makes later. */
function shadowDefaults(options) {
  return {
    profile: profileOf(options),
    requestTimeout: given(options.shadowRequestTimeout)
      ? v.milliseconds(options.shadowRequestTimeout, 'options.shadowRequestTimeout')
      : undefined,
  };
}

function datapointOptions(options, channel) {
  const o = native.datapointOptionsNew();
  const has = (...keys) => keys.some((k) => given(options[k]));
  if (given(options.datapointTopic)) native.datapointOptionsSetTopic(o, v.string(options.datapointTopic, 'options.datapointTopic'));
  if (given(options.encoding)) native.datapointOptionsSetEncoding(o, v.choice(options.encoding, 'options.encoding', Encoding));
  if (has('batchMaxPoints', 'batchMaxBytes', 'batchLinger')) {
    const d = DEFAULTS.batch;
    native.datapointOptionsSetBatchLimits(
      o,
      v.integer(options.batchMaxPoints ?? d.maxPoints, 'options.batchMaxPoints', 1),
      v.integer(options.batchMaxBytes ?? d.maxBytes, 'options.batchMaxBytes', 1),
      v.milliseconds(options.batchLinger ?? d.linger, 'options.batchLinger'),
    );
  }
  if (given(options.spoolDir)) {
    const d = DEFAULTS.spool;
    native.datapointOptionsSetSpool(
      o,
      v.string(options.spoolDir, 'options.spoolDir'),
      v.integer(options.spoolMaxBytes ?? d.maxBytes, 'options.spoolMaxBytes', 1),
      v.choice(options.spoolFsync ?? d.fsync, 'options.spoolFsync', Fsync),
      v.milliseconds(options.spoolFsyncInterval ?? d.fsyncInterval, 'options.spoolFsyncInterval'),
    );
  } else if (has('spoolMaxBytes', 'spoolFsync', 'spoolFsyncInterval')) {
    throw v.typeError('options.spoolDir', 'given with spoolMaxBytes, spoolFsync and spoolFsyncInterval', options.spoolDir);
  }
  if (has('backlogMaxBytes', 'maxPendingPoints')) {
    const d = DEFAULTS.backlog;
    native.datapointOptionsSetBacklog(
      o,
      v.integer(options.backlogMaxBytes ?? d.maxBytes, 'options.backlogMaxBytes', 1),
      v.integer(options.maxPendingPoints ?? d.maxPendingPoints, 'options.maxPendingPoints', 1),
    );
  }
  if (has('backpressure', 'backpressureTimeout')) {
    const d = DEFAULTS.backpressure;
    native.datapointOptionsSetBackpressure(
      o,
      v.choice(options.backpressure ?? d.policy, 'options.backpressure', Backpressure),
      v.milliseconds(options.backpressureTimeout ?? d.timeout, 'options.backpressureTimeout'),
    );
  }
  if (has('maxInflightBatches', 'maxBatchesPerSecond')) {
    const d = DEFAULTS.sending;
    const rate = options.maxBatchesPerSecond ?? d.maxBatchesPerSecond;
    if (typeof rate !== 'number' || !(rate >= 0)) throw v.rangeError('options.maxBatchesPerSecond', 'a number >= 0', rate);
    native.datapointOptionsSetSending(o, v.integer(options.maxInflightBatches ?? d.maxInflightBatches, 'options.maxInflightBatches', 1), rate);
  }
  if (has('delivery', 'receiptTimeout', 'maxUnconfirmedBatches', 'receiptTopic')) {
    const d = DEFAULTS.delivery;
    native.datapointOptionsSetDelivery(
      o,
      v.choice(options.delivery ?? 'receipt', 'options.delivery', Delivery),
      v.milliseconds(options.receiptTimeout ?? d.receiptTimeout, 'options.receiptTimeout'),
      v.integer(options.maxUnconfirmedBatches ?? d.maxUnconfirmedBatches, 'options.maxUnconfirmedBatches', 1),
      given(options.receiptTopic) ? v.string(options.receiptTopic, 'options.receiptTopic') : null,
    );
  }
  native.datapointOptionsSetDropCallback(o, channel);
  return o;
}

function deviceOptions(options, channel) {
  checkKeys(options, DEVICE_KEYS, 'Device');
  const o = native.deviceOptionsNew();
  const defaults = shadowDefaults(options);
  native.deviceOptionsSetProfile(o, ...defaults.profile);
  native.deviceOptionsSetClient(o, clientOptions(options, channel));
  native.deviceOptionsSetShadow(o, shadowOptions(defaults, null, options.shadowPersistDir));
  native.deviceOptionsSetDatapoints(o, datapointOptions(options, channel));
  return { native: o, shadowDefaults: defaults };
}

function clientOnlyOptions(options, channel) {
  checkKeys(options, CLIENT_KEYS, 'Client');
  return { native: clientOptions(options, channel), shadowDefaults: shadowDefaults(options) };
}

function standaloneDatapointOptions(options, channel) {
  checkKeys(options, DATAPOINT_KEYS, 'Client.datapoints()');
  return datapointOptions(options, channel);
}

function connectTimeout(options, fallback = 10000) {
  return given(options.timeout) ? v.milliseconds(options.timeout, 'options.timeout') : fallback;
}

/**
 * Whether record() may buffer numbers in JS: only under backpressure 'drop-oldest' (the default),
 * which refuses a point only in the rare case the batcher falls behind, and then reports it by the
 * 'drop' event. Under 'drop-newest' and 'block', record() reports the refusal itself, so every call
 * goes to the pipeline at once.
 */
function stagesRecords(options) {
  return (options.backpressure ?? DEFAULTS.backpressure.policy) === 'drop-oldest';
}

module.exports = {
  stagesRecords,
  deviceOptions,
  clientOnlyOptions,
  standaloneDatapointOptions,
  shadowOptions,
  connectTimeout,
  LogLevel,
  Backpressure,
};

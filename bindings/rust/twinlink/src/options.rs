//! The option values shared by [`ClientBuilder`](crate::ClientBuilder) and
//! [`DeviceBuilder`](crate::DeviceBuilder), and their translation into the C ABI's option
//! handles (`tl_client_options`, `tl_datapoint_options`, `tl_shadow_options`,
//! `tl_device_options`).

use std::ffi::{c_char, c_void, CStr};
use std::path::{Path, PathBuf};
use std::ptr;
use std::time::Duration;

use twinlink_sys as sys;

use crate::callback::{guard, Boxed};
use crate::device::{connection_trampoline, ConnectionEvent};
use crate::error::{check, Error, Result};
use crate::runtime::Runtime;
use crate::util::{c_string, millis};

/// The MQTT protocol version a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MqttVersion {
    /// MQTT 3.1.1 (the default).
    V311,
    /// MQTT 5.
    V5,
}

/// What [`Client::publish`](crate::Client::publish) does when the offline queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// The publish fails with [`ErrorKind::QueueFull`](crate::ErrorKind::QueueFull); queued
    /// messages are kept (the default).
    RejectNew,
    /// The oldest queued message is dropped; its completion gets
    /// [`ErrorKind::Dropped`](crate::ErrorKind::Dropped).
    DropOldest,
}

/// The severity of a log line, and the most verbose level a log closure receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Failures.
    Error,
    /// Trouble that twinlink works around (a lost connection, a resend).
    Warning,
    /// Lifecycle events (connected, subscribed).
    Info,
    /// Everything, per message.
    Debug,
}

impl LogLevel {
    fn to_raw(self) -> sys::tl_log_level {
        match self {
            LogLevel::Error => sys::TL_LOG_ERROR,
            LogLevel::Warning => sys::TL_LOG_WARNING,
            LogLevel::Info => sys::TL_LOG_INFO,
            LogLevel::Debug => sys::TL_LOG_DEBUG,
        }
    }

    fn from_raw(level: sys::tl_log_level) -> LogLevel {
        match level {
            sys::TL_LOG_ERROR => LogLevel::Error,
            sys::TL_LOG_WARNING => LogLevel::Warning,
            sys::TL_LOG_INFO => LogLevel::Info,
            _ => LogLevel::Debug,
        }
    }
}

/// The topic layout of shadows (and of a device's default topics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `{prefix}/{device}/shadow[/{name}]/...`, prefix `tl` unless set (the default).
    Twinlink,
    /// `$aws/things/{device}/shadow[/name/{name}]/...` (AWS IoT's layout; no prefix).
    Aws,
}

impl Profile {
    pub(crate) fn to_raw(self) -> sys::tl_topic_profile {
        match self {
            Profile::Twinlink => sys::TL_PROFILE_TWINLINK,
            Profile::Aws => sys::TL_PROFILE_AWS,
        }
    }
}

/// How datapoint batches are encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// JSON (the default).
    Json,
    /// CBOR (RFC 8949): smaller, and `twinlink serve` decodes it the same way.
    Cbor,
    /// Compressed columns for sensor series (delta-of-delta timestamps, decimal or XOR doubles,
    /// varint integers, run-length booleans): a few bytes per point or less for regular series.
    Compact,
}

/// When a datapoint batch counts as delivered and leaves the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// At the broker's PUBACK: for sinks that send no receipts.
    Broker,
    /// When the sink's receipt says the batch is stored (the default).
    Receipt,
}

/// What recording does when the datapoint backlog is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backpressure {
    /// The oldest unacknowledged batch is discarded, and reported (the default).
    DropOldest,
    /// Recording fails with [`ErrorKind::QueueFull`](crate::ErrorKind::QueueFull), reported.
    DropNewest,
    /// Recording waits up to the block timeout, then fails with
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
    Block,
}

impl Backpressure {
    fn to_raw(self) -> sys::tl_backpressure {
        match self {
            Backpressure::DropOldest => sys::TL_BACKPRESSURE_DROP_OLDEST,
            Backpressure::DropNewest => sys::TL_BACKPRESSURE_DROP_NEWEST,
            Backpressure::Block => sys::TL_BACKPRESSURE_BLOCK,
        }
    }

    fn from_raw(policy: sys::tl_backpressure) -> Backpressure {
        match policy {
            sys::TL_BACKPRESSURE_DROP_NEWEST => Backpressure::DropNewest,
            sys::TL_BACKPRESSURE_BLOCK => Backpressure::Block,
            _ => Backpressure::DropOldest,
        }
    }
}

/// When the datapoint spool is synced to disk (the loss windows are in docs/reliability.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fsync {
    /// After every batch: nothing appended is lost.
    EveryBatch,
    /// At most this often: at most that much is lost on power loss.
    Interval(Duration),
    /// Never: what the OS had not written back is lost on power loss.
    Never,
}

/// Discarded datapoints, passed to the closure of [`DeviceBuilder::on_drop`](crate::DeviceBuilder::on_drop):
/// one event sums up the drops of one reason since the previous event for it (at most one a
/// second per reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropEvent {
    /// The backpressure policy that discarded them.
    pub policy: Backpressure,
    /// Points discarded.
    pub points: u64,
    /// Batches discarded.
    pub batches: u64,
    /// Why, in words.
    pub reason: String,
}

pub(crate) type ConnectionFn = dyn FnMut(&ConnectionEvent) + Send;
pub(crate) type LogFn = dyn Fn(LogLevel, &str) + Send + Sync;
pub(crate) type DropFn = dyn FnMut(&DropEvent) + Send;

macro_rules! owned_options {
    ($name:ident, $raw:ty, $new:path, $free:path) => {
        /// A C option handle, freed on drop.
        pub(crate) struct $name(pub(crate) *mut $raw);
        impl $name {
            pub(crate) fn new() -> Result<Self> {
                let mut raw = ptr::null_mut();
                // SAFETY: writes a new handle on success.
                check(unsafe { $new(&mut raw) })?;
                Ok($name(raw))
            }
        }
        impl Drop for $name {
            fn drop(&mut self) {
                // SAFETY: ours, freed once.
                unsafe { $free(self.0) }
            }
        }
    };
}

owned_options!(
    RawClientOptions,
    sys::tl_client_options,
    sys::tl_client_options_new,
    sys::tl_client_options_free
);
owned_options!(
    RawDatapointOptions,
    sys::tl_datapoint_options,
    sys::tl_datapoint_options_new,
    sys::tl_datapoint_options_free
);
owned_options!(
    RawShadowOptions,
    sys::tl_shadow_options,
    sys::tl_shadow_options_new,
    sys::tl_shadow_options_free
);
owned_options!(
    RawDeviceOptions,
    sys::tl_device_options,
    sys::tl_device_options_new,
    sys::tl_device_options_free
);

/// A C string borrowed for a callback, copied; NULL is the empty string (never dereferenced).
///
/// # Safety
/// `text` is NULL or a NUL-terminated string valid for the call.
pub(crate) unsafe fn borrowed_text(text: *const c_char) -> String {
    if text.is_null() {
        String::new()
    } else {
        CStr::from_ptr(text).to_string_lossy().into_owned()
    }
}

/// A path as a C string (twinlink takes UTF-8 paths).
pub(crate) fn c_path(what: &str, path: &Path) -> Result<std::ffi::CString> {
    let text = path
        .to_str()
        .ok_or_else(|| Error::invalid(format!("{what} {} is not valid UTF-8", path.display())))?;
    c_string(what, text)
}

fn opt_c_string(what: &str, value: Option<&str>) -> Result<Option<std::ffi::CString>> {
    value.map(|v| c_string(what, v)).transpose()
}

fn opt_ptr(value: &Option<std::ffi::CString>) -> *const c_char {
    value.as_ref().map_or(ptr::null(), |v| v.as_ptr())
}

fn flag(value: bool) -> std::ffi::c_int {
    value.into()
}

/// Every option of `tl_client_options`, as given to a builder.
#[derive(Default)]
pub(crate) struct ClientConfig {
    pub brokers: Vec<String>,
    pub client_id: Option<String>,
    pub credentials: Option<(String, Option<String>)>,
    pub tls_ca: Option<(Option<PathBuf>, Option<PathBuf>)>,
    pub tls_client_cert: Option<(PathBuf, PathBuf, Option<String>)>,
    pub tls_verify_hostname: Option<bool>,
    pub tls_insecure: Option<bool>,
    pub keepalive: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub ack_timeout: Option<Duration>,
    pub operation_timeout: Option<Duration>,
    pub mqtt_version: Option<MqttVersion>,
    pub clean_session: Option<bool>,
    pub offline_queue: Option<(usize, usize, Overflow)>,
    pub max_inflight: Option<u32>,
    pub presence: Option<(String, Option<String>, Option<String>)>,
    pub reconnect_backoff: Option<(Duration, Duration)>,
    pub tcp_nodelay: Option<bool>,
    pub on_connection: Option<Box<ConnectionFn>>,
    pub on_log: Option<(LogLevel, Box<LogFn>)>,
    pub runtime: Option<Runtime>,
}

impl ClientConfig {
    /// The C options; the closures move into them.
    pub(crate) fn into_raw(self) -> Result<RawClientOptions> {
        let options = RawClientOptions::new()?;
        let raw = options.0;
        // SAFETY (every call below): `raw` is a valid options handle, the strings are C strings
        // that live across the call, and the setters copy what they are given.
        unsafe {
            for broker in &self.brokers {
                let uri = c_string("broker URI", broker)?;
                check(sys::tl_client_options_add_broker(raw, uri.as_ptr()))?;
            }
            if let Some(client_id) = &self.client_id {
                let client_id = c_string("client id", client_id)?;
                check(sys::tl_client_options_set_client_id(raw, client_id.as_ptr()))?;
            }
            if let Some((username, password)) = &self.credentials {
                let username = c_string("username", username)?;
                let password = opt_c_string("password", password.as_deref())?;
                check(sys::tl_client_options_set_credentials(
                    raw,
                    username.as_ptr(),
                    opt_ptr(&password),
                ))?;
            }
            if let Some((file, dir)) = &self.tls_ca {
                let file = file.as_deref().map(|p| c_path("CA file", p)).transpose()?;
                let dir = dir.as_deref().map(|p| c_path("CA directory", p)).transpose()?;
                check(sys::tl_client_options_set_tls_ca(raw, opt_ptr(&file), opt_ptr(&dir)))?;
            }
            if let Some((cert, key, password)) = &self.tls_client_cert {
                let cert = c_path("client certificate", cert)?;
                let key = c_path("private key", key)?;
                let password = opt_c_string("key password", password.as_deref())?;
                check(sys::tl_client_options_set_tls_client_cert(
                    raw,
                    cert.as_ptr(),
                    key.as_ptr(),
                    opt_ptr(&password),
                ))?;
            }
            if let Some(verify) = self.tls_verify_hostname {
                check(sys::tl_client_options_set_tls_verify_hostname(raw, flag(verify)))?;
            }
            if let Some(insecure) = self.tls_insecure {
                check(sys::tl_client_options_set_tls_insecure(raw, flag(insecure)))?;
            }
            if let Some(keepalive) = self.keepalive {
                let seconds = u32::try_from(keepalive.as_secs()).unwrap_or(u32::MAX);
                check(sys::tl_client_options_set_keepalive(raw, seconds))?;
            }
            if let Some(timeout) = self.connect_timeout {
                check(sys::tl_client_options_set_connect_timeout(raw, millis(timeout)))?;
            }
            if let Some(timeout) = self.ack_timeout {
                check(sys::tl_client_options_set_ack_timeout(raw, millis(timeout)))?;
            }
            if let Some(timeout) = self.operation_timeout {
                check(sys::tl_client_options_set_operation_timeout(raw, millis(timeout)))?;
            }
            if let Some(version) = self.mqtt_version {
                let version = match version {
                    MqttVersion::V311 => sys::TL_MQTT_V311,
                    MqttVersion::V5 => sys::TL_MQTT_V5,
                };
                check(sys::tl_client_options_set_mqtt_version(raw, version))?;
            }
            if let Some(clean) = self.clean_session {
                check(sys::tl_client_options_set_clean_session(raw, flag(clean)))?;
            }
            if let Some((messages, bytes, overflow)) = self.offline_queue {
                let policy = match overflow {
                    Overflow::RejectNew => sys::TL_OVERFLOW_REJECT_NEW,
                    Overflow::DropOldest => sys::TL_OVERFLOW_DROP_OLDEST,
                };
                check(sys::tl_client_options_set_offline_queue(raw, messages, bytes, policy))?;
            }
            if let Some(max) = self.max_inflight {
                check(sys::tl_client_options_set_max_inflight(raw, max))?;
            }
            if let Some((topic, online, offline)) = &self.presence {
                let topic = c_string("presence topic", topic)?;
                let online = opt_c_string("online payload", online.as_deref())?;
                let offline = opt_c_string("offline payload", offline.as_deref())?;
                check(sys::tl_client_options_set_presence(
                    raw,
                    topic.as_ptr(),
                    opt_ptr(&online),
                    opt_ptr(&offline),
                ))?;
            }
            if let Some((min, max)) = self.reconnect_backoff {
                check(sys::tl_client_options_set_reconnect_backoff(
                    raw,
                    millis(min),
                    millis(max),
                ))?;
            }
            if let Some(nodelay) = self.tcp_nodelay {
                check(sys::tl_client_options_set_tcp_nodelay(raw, flag(nodelay)))?;
            }
            if let Some(runtime) = &self.runtime {
                // The options take a reference of their own, and so does every client made from them.
                check(sys::tl_client_options_set_runtime(raw, runtime.raw()))?;
            }
            if let Some(f) = self.on_connection {
                let user_data = Boxed::<ConnectionFn>::into_user_data(f);
                // The destroy function matches the user_data; on failure C calls it.
                check(sys::tl_client_options_set_connection_callback(
                    raw,
                    Some(connection_trampoline),
                    user_data,
                    Some(Boxed::<ConnectionFn>::destroy),
                ))?;
            }
            if let Some((level, f)) = self.on_log {
                let user_data = Box::into_raw(Box::new(f)) as *mut c_void;
                check(sys::tl_client_options_set_log_callback(
                    raw,
                    Some(log_trampoline),
                    level.to_raw(),
                    user_data,
                    Some(log_destroy),
                ))?;
            }
        }
        Ok(options)
    }
}

// The log closure is `Fn + Sync` and called without a lock: log lines come from several threads,
// and a closure that calls twinlink may log again from inside itself.
unsafe extern "C" fn log_trampoline(level: sys::tl_log_level, message: *const c_char, user_data: *mut c_void) {
    guard("log", || {
        // SAFETY: a C string borrowed for the call; user_data is the Box<Box<LogFn>> made above.
        let message = unsafe { borrowed_text(message) };
        let f = unsafe { &*(user_data as *const Box<LogFn>) };
        f(LogLevel::from_raw(level), &message);
    });
}

unsafe extern "C" fn log_destroy(user_data: *mut c_void) {
    // SAFETY: made by Box::into_raw of a Box<Box<LogFn>>, destroyed once.
    guard("destroy", || {
        drop(unsafe { Box::from_raw(user_data as *mut Box<LogFn>) })
    });
}

/// Every option of `tl_datapoint_options`, as given to [`DeviceBuilder`](crate::DeviceBuilder).
#[derive(Default)]
pub(crate) struct DatapointConfig {
    pub topic: Option<String>,
    pub encoding: Option<Encoding>,
    pub batch_limits: Option<(usize, usize, Duration)>,
    pub spool: Option<(PathBuf, u64, Fsync)>,
    pub backlog: Option<(usize, usize)>,
    pub backpressure: Option<(Backpressure, Duration)>,
    pub sending: Option<(u32, f64)>,
    pub delivery: Option<Delivery>,
    pub receipts: Option<(Duration, u32, Option<String>)>,
    pub on_drop: Option<Box<DropFn>>,
}

impl DatapointConfig {
    pub(crate) fn into_raw(self) -> Result<RawDatapointOptions> {
        let options = RawDatapointOptions::new()?;
        let raw = options.0;
        // SAFETY (every call below): as in ClientConfig::into_raw.
        unsafe {
            if let Some(topic) = &self.topic {
                let topic = c_string("datapoint topic", topic)?;
                check(sys::tl_datapoint_options_set_topic(raw, topic.as_ptr()))?;
            }
            if let Some(encoding) = self.encoding {
                let encoding = match encoding {
                    Encoding::Json => sys::TL_ENCODING_JSON,
                    Encoding::Cbor => sys::TL_ENCODING_CBOR,
                    Encoding::Compact => sys::TL_ENCODING_COMPACT,
                };
                check(sys::tl_datapoint_options_set_encoding(raw, encoding))?;
            }
            if let Some((points, bytes, linger)) = self.batch_limits {
                check(sys::tl_datapoint_options_set_batch_limits(
                    raw,
                    points,
                    bytes,
                    millis(linger),
                ))?;
            }
            if let Some((dir, max_bytes, fsync)) = &self.spool {
                let dir = c_path("spool directory", dir)?;
                let (policy, interval) = match fsync {
                    Fsync::EveryBatch => (sys::TL_FSYNC_EVERY_BATCH, 0),
                    Fsync::Interval(interval) => (sys::TL_FSYNC_INTERVAL, millis(*interval)),
                    Fsync::Never => (sys::TL_FSYNC_NEVER, 0),
                };
                check(sys::tl_datapoint_options_set_spool(
                    raw,
                    dir.as_ptr(),
                    *max_bytes,
                    policy,
                    interval,
                ))?;
            }
            if let Some((bytes, points)) = self.backlog {
                check(sys::tl_datapoint_options_set_backlog(raw, bytes, points))?;
            }
            if let Some((policy, timeout)) = self.backpressure {
                check(sys::tl_datapoint_options_set_backpressure(
                    raw,
                    policy.to_raw(),
                    millis(timeout),
                ))?;
            }
            if let Some((inflight, rate)) = self.sending {
                check(sys::tl_datapoint_options_set_sending(raw, inflight, rate))?;
            }
            if self.delivery.is_some() || self.receipts.is_some() {
                let mode = match self.delivery.unwrap_or(Delivery::Receipt) {
                    Delivery::Broker => sys::TL_DELIVERY_BROKER,
                    Delivery::Receipt => sys::TL_DELIVERY_RECEIPT,
                };
                // The C defaults for the receipt timeout (10 s) and window (64 batches).
                let (timeout, window, topic) = self.receipts.unwrap_or((Duration::from_secs(10), 64, None));
                let topic = opt_c_string("receipt topic", topic.as_deref())?;
                check(sys::tl_datapoint_options_set_delivery(
                    raw,
                    mode,
                    millis(timeout),
                    window,
                    opt_ptr(&topic),
                ))?;
            }
            if let Some(f) = self.on_drop {
                let user_data = Boxed::<DropFn>::into_user_data(f);
                check(sys::tl_datapoint_options_set_drop_callback(
                    raw,
                    Some(drop_trampoline),
                    user_data,
                    Some(Boxed::<DropFn>::destroy),
                ))?;
            }
        }
        Ok(options)
    }
}

unsafe extern "C" fn drop_trampoline(
    policy: sys::tl_backpressure,
    points: u64,
    batches: u64,
    reason: *const c_char,
    user_data: *mut c_void,
) {
    guard("drop", || {
        // SAFETY: NULL or a C string borrowed for the call.
        let reason = unsafe { borrowed_text(reason) };
        let event = DropEvent {
            policy: Backpressure::from_raw(policy),
            points,
            batches,
            reason,
        };
        // SAFETY: user_data was made by Boxed::<DropFn>::into_user_data.
        unsafe { Boxed::<DropFn>::with(user_data, |f| f(&event)) };
    });
}

/// Every option of `tl_shadow_options`.
#[derive(Debug, Default, Clone)]
pub(crate) struct ShadowConfig {
    pub name: Option<String>,
    pub profile: Option<(Profile, Option<String>)>,
    pub request_timeout: Option<Duration>,
    pub persist_path: Option<PathBuf>,
}

impl ShadowConfig {
    pub(crate) fn is_default(&self) -> bool {
        self.name.is_none() && self.profile.is_none() && self.request_timeout.is_none() && self.persist_path.is_none()
    }

    pub(crate) fn into_raw(self) -> Result<RawShadowOptions> {
        let options = RawShadowOptions::new()?;
        let raw = options.0;
        // SAFETY (every call below): as in ClientConfig::into_raw.
        unsafe {
            if let Some(name) = &self.name {
                let name = c_string("shadow name", name)?;
                check(sys::tl_shadow_options_set_name(raw, name.as_ptr()))?;
            }
            if let Some((profile, prefix)) = &self.profile {
                let prefix = opt_c_string("topic prefix", prefix.as_deref())?;
                check(sys::tl_shadow_options_set_profile(
                    raw,
                    profile.to_raw(),
                    opt_ptr(&prefix),
                ))?;
            }
            if let Some(timeout) = self.request_timeout {
                check(sys::tl_shadow_options_set_request_timeout(raw, millis(timeout)))?;
            }
            if let Some(path) = &self.persist_path {
                let path = c_path("persist path", path)?;
                check(sys::tl_shadow_options_set_persist_path(raw, path.as_ptr()))?;
            }
        }
        Ok(options)
    }
}

/// The builder methods of every `tl_client_options_*` setter, for a builder with a
/// `client: ClientConfig` field.
macro_rules! client_builder_methods {
    () => {
        /// Adds a broker URI (`mqtt://host[:1883]`, `mqtts://host[:8883]`, `ws://`, `wss://`);
        /// several are tried in turn. At least one is required.
        pub fn broker(mut self, uri: impl Into<String>) -> Self {
            self.client.brokers.push(uri.into());
            self
        }

        /// The MQTT client id.
        pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
            self.client.client_id = Some(client_id.into());
            self
        }

        /// Username and (optional) password.
        pub fn credentials(mut self, username: impl Into<String>, password: Option<&str>) -> Self {
            self.client.credentials = Some((username.into(), password.map(str::to_string)));
            self
        }

        /// TLS trust (for `mqtts://` and `wss://`): a PEM file of CA certificates and/or a
        /// directory of hashed CA certificates. Default: the system's store.
        pub fn tls_ca(mut self, ca_file: Option<&std::path::Path>, ca_dir: Option<&std::path::Path>) -> Self {
            self.client.tls_ca = Some((ca_file.map(Into::into), ca_dir.map(Into::into)));
            self
        }

        /// Client certificate and private key (PEM files) for mutual TLS, with the key's
        /// password if it has one.
        pub fn tls_client_cert(
            mut self,
            cert_file: impl AsRef<std::path::Path>,
            key_file: impl AsRef<std::path::Path>,
            key_password: Option<&str>,
        ) -> Self {
            self.client.tls_client_cert = Some((
                cert_file.as_ref().into(),
                key_file.as_ref().into(),
                key_password.map(str::to_string),
            ));
            self
        }

        /// Whether the server certificate must name the host connected to (default `true`).
        pub fn tls_verify_hostname(mut self, verify: bool) -> Self {
            self.client.tls_verify_hostname = Some(verify);
            self
        }

        /// Accept any server certificate (testing only; a warning is logged at each connect).
        /// Default `false`.
        pub fn tls_insecure(mut self, insecure: bool) -> Self {
            self.client.tls_insecure = Some(insecure);
            self
        }

        /// Keep-alive interval, whole seconds up to 65535 (zero: none). Default 30 s.
        pub fn keepalive(mut self, interval: std::time::Duration) -> Self {
            self.client.keepalive = Some(interval);
            self
        }

        /// How long one connection attempt may take, at least 100 ms. Default 10 s.
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.client.connect_timeout = Some(timeout);
            self
        }

        /// Deadline for the acknowledgement of a QoS 1/2 publish once sent, at least 100 ms;
        /// a publish not acknowledged by then fails with `Timeout`. Default 30 s.
        pub fn ack_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.client.ack_timeout = Some(timeout);
            self
        }

        /// How long a subscribe waits for the broker, at least 100 ms. Default 10 s.
        pub fn operation_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.client.operation_timeout = Some(timeout);
            self
        }

        /// The MQTT version (default [`MqttVersion::V311`](crate::MqttVersion::V311)).
        pub fn mqtt_version(mut self, version: $crate::MqttVersion) -> Self {
            self.client.mqtt_version = Some(version);
            self
        }

        /// A clean session (the default), or with `false` a persistent one kept by the broker
        /// across disconnects (needs a fixed client id).
        pub fn clean_session(mut self, clean: bool) -> Self {
            self.client.clean_session = Some(clean);
            self
        }

        /// Bounds of the queue of messages published but not yet sent, and what a publish does
        /// when it is full. Default 10000 messages, 16 MiB, [`Overflow::RejectNew`](crate::Overflow::RejectNew).
        pub fn offline_queue(mut self, max_messages: usize, max_bytes: usize, overflow: $crate::Overflow) -> Self {
            self.client.offline_queue = Some((max_messages, max_bytes, overflow));
            self
        }

        /// Messages handed to the network and not yet acknowledged, 1 to 65535. Default 256.
        pub fn max_inflight(mut self, max_inflight: u32) -> Self {
            self.client.max_inflight = Some(max_inflight);
            self
        }

        /// Retained presence: `online` (default `"online"`) is published to `topic` after every
        /// (re)connect, `offline` (default `"offline"`) is the last will and is published on
        /// disconnect.
        pub fn presence(mut self, topic: impl Into<String>, online: Option<&str>, offline: Option<&str>) -> Self {
            self.client.presence = Some((
                topic.into(),
                online.map(str::to_string),
                offline.map(str::to_string),
            ));
            self
        }

        /// Reconnect backoff: the n-th retry waits a random time between `min` and
        /// `min(max, min * 2^n)`. Default 500 ms and 30 s.
        pub fn reconnect_backoff(mut self, min: std::time::Duration, max: std::time::Duration) -> Self {
            self.client.reconnect_backoff = Some((min, max));
            self
        }

        /// Nagle's algorithm off (`TCP_NODELAY`, the default) or on.
        pub fn tcp_nodelay(mut self, nodelay: bool) -> Self {
            self.client.tcp_nodelay = Some(nodelay);
            self
        }

        /// Runs the closures on `runtime`'s shared threads instead of threads of this
        /// connection's own (see [`Runtime`](crate::Runtime)). Default: threads of its own.
        pub fn runtime(mut self, runtime: &$crate::Runtime) -> Self {
            self.client.runtime = Some(runtime.clone());
            self
        }

        /// Calls `f` on every connection state change, on the dispatcher thread (one call at a
        /// time, in order). A panic in `f` is caught and reported, never propagated.
        pub fn on_connection(mut self, f: impl FnMut(&$crate::ConnectionEvent) + Send + 'static) -> Self {
            self.client.on_connection = Some(Box::new(f));
            self
        }

        /// Sends the library's log lines of `level` and more severe to `f`. `f` runs on
        /// twinlink's threads and, inside a twinlink call, on the caller's: it is `Fn + Sync`
        /// and should return quickly. Default: none (`TWINLINK_LOG=debug` writes to stderr).
        pub fn on_log(
            mut self,
            level: $crate::LogLevel,
            f: impl Fn($crate::LogLevel, &str) + Send + Sync + 'static,
        ) -> Self {
            self.client.on_log = Some((level, Box::new(f)));
            self
        }
    };
}

pub(crate) use client_builder_methods;

/// The builder methods of every `tl_datapoint_options_*` setter, for a builder with a
/// `datapoints: DatapointConfig` field.
macro_rules! datapoint_builder_methods {
    () => {
        /// The datapoint batch topic; `{device}` is replaced, `{series}` routes each series to its
        /// own topic. Default `{prefix}/{device}/dp` for a device, `tl/{device}/dp` on a client.
        pub fn datapoint_topic(mut self, topic: impl Into<String>) -> Self {
            self.datapoints.topic = Some(topic.into());
            self
        }

        /// How datapoint batches are encoded (default JSON).
        pub fn encoding(mut self, encoding: $crate::Encoding) -> Self {
            self.datapoints.encoding = Some(encoding);
            self
        }

        /// A batch closes at `max_points` points, `max_bytes` encoded bytes (1 KiB to 256 MiB) or
        /// `linger` after its first point, whichever comes first. Default 5000, 64 KiB, 500 ms.
        pub fn batch_limits(mut self, max_points: usize, max_bytes: usize, linger: std::time::Duration) -> Self {
            self.datapoints.batch_limits = Some((max_points, max_bytes, linger));
            self
        }

        /// A durable spool in `dir` (created if missing) holding at most `max_bytes` of
        /// undelivered batches, synced to disk as `fsync` says. Batches left by an earlier run are
        /// sent first. Default: no spool (memory only).
        pub fn spool(mut self, dir: impl AsRef<std::path::Path>, max_bytes: u64, fsync: $crate::Fsync) -> Self {
            self.datapoints.spool = Some((dir.as_ref().into(), max_bytes, fsync));
            self
        }

        /// Memory bounds: undelivered batches without a spool (default 16 MiB) and points not yet
        /// batched (default 1000000).
        pub fn backlog(mut self, max_backlog_bytes: usize, max_pending_points: usize) -> Self {
            self.datapoints.backlog = Some((max_backlog_bytes, max_pending_points));
            self
        }

        /// What recording does when the backlog is full, and how long [`Backpressure::Block`](crate::Backpressure::Block) waits.
        /// Default [`Backpressure::DropOldest`](crate::Backpressure::DropOldest), 1 s.
        pub fn backpressure(mut self, policy: $crate::Backpressure, block_timeout: std::time::Duration) -> Self {
            self.datapoints.backpressure = Some((policy, block_timeout));
            self
        }

        /// Batches published and not yet acknowledged at most (default 16), and batches published
        /// per second at most (0: no limit, the default).
        pub fn sending(mut self, max_inflight_batches: u32, max_batches_per_second: f64) -> Self {
            self.datapoints.sending = Some((max_inflight_batches, max_batches_per_second));
            self
        }

        /// When datapoint batches count as delivered (default [`Delivery::Receipt`](crate::Delivery::Receipt)).
        pub fn delivery(mut self, delivery: $crate::Delivery) -> Self {
            self.datapoints.delivery = Some(delivery);
            self
        }

        /// With [`Delivery::Receipt`](crate::Delivery::Receipt): a batch the broker acknowledged and no receipt confirmed
        /// within `timeout` is sent again (default 10 s); at most `max_unconfirmed_batches` are
        /// unconfirmed at once (default 64); receipts come on `topic` (`{device}` replaced; default
        /// `{prefix}/{device}/receipts`, `tl/{device}/receipts` on a client).
        pub fn receipts(
            mut self,
            timeout: std::time::Duration,
            max_unconfirmed_batches: u32,
            topic: Option<&str>,
        ) -> Self {
            self.datapoints.receipts = Some((timeout, max_unconfirmed_batches, topic.map(str::to_string)));
            self
        }

        /// Calls `f` when datapoints are discarded (at most once a second per reason, summing up),
        /// on the dispatcher thread. A panic in `f` is caught and reported.
        pub fn on_drop(mut self, f: impl FnMut(&$crate::DropEvent) + Send + 'static) -> Self {
            self.datapoints.on_drop = Some(Box::new(f));
            self
        }
    };
}

pub(crate) use datapoint_builder_methods;

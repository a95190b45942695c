//! Raw declarations of the twinlink C ABI (`twinlink.h`), one to one: every function, callback
//! type, struct, enum value and constant of the headers, under the C names. Nothing here is safe
//! to call without reading the header comment of the function; the `twinlink` crate is the safe
//! API. The `systest` crate of this workspace checks every declaration against the headers.
//!
//! C enums are declared as integer type aliases with one constant per value, so that a value
//! added by a newer library can never be an invalid Rust enum.
#![allow(non_camel_case_types)]
#![no_std]

use core::ffi::{c_char, c_double, c_int, c_uint, c_void};

// ---- common.h ------------------------------------------------------------------------------

pub const TL_VERSION_MAJOR: c_int = 0;
pub const TL_VERSION_MINOR: c_int = 1;
pub const TL_VERSION_PATCH: c_int = 0;
pub const TL_VERSION_STRING: &str = "0.1.0";
pub const TL_VERSION_NUMBER: c_int = TL_VERSION_MAJOR * 10000 + TL_VERSION_MINOR * 100 + TL_VERSION_PATCH;

pub type tl_status = c_int;
pub const TL_OK: tl_status = 0;
pub const TL_EINVAL: tl_status = -1;
pub const TL_ENOMEM: tl_status = -2;
pub const TL_ETIMEOUT: tl_status = -3;
pub const TL_ECONNECT: tl_status = -4;
pub const TL_ETLS: tl_status = -5;
pub const TL_EAUTH: tl_status = -6;
pub const TL_ENOTCONN: tl_status = -7;
pub const TL_EQUEUE_FULL: tl_status = -8;
pub const TL_EDROPPED: tl_status = -9;
pub const TL_ECANCELED: tl_status = -10;
pub const TL_ESUBSCRIBE: tl_status = -11;
pub const TL_ESTATE: tl_status = -12;
pub const TL_EPROTOCOL: tl_status = -13;
pub const TL_EINTERNAL: tl_status = -14;
pub const TL_EIO: tl_status = -15;
pub const TL_EREJECTED: tl_status = -16;
pub const TL_ECONFLICT: tl_status = -17;
pub const TL_ENOTFOUND: tl_status = -18;

pub type tl_log_level = c_uint;
pub const TL_LOG_ERROR: tl_log_level = 0;
pub const TL_LOG_WARNING: tl_log_level = 1;
pub const TL_LOG_INFO: tl_log_level = 2;
pub const TL_LOG_DEBUG: tl_log_level = 3;

pub type tl_log_cb = unsafe extern "C" fn(level: tl_log_level, message: *const c_char, user_data: *mut c_void);
pub type tl_destroy_cb = unsafe extern "C" fn(user_data: *mut c_void);

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tl_completion {
    pub struct_size: usize,
    pub operation: u64,
    pub status: tl_status,
    pub message: *const c_char,
    pub document: *const c_char,
}

pub type tl_completion_cb = unsafe extern "C" fn(completion: *const tl_completion, user_data: *mut c_void);

// ---- client.h ------------------------------------------------------------------------------

pub enum tl_client_options {}
pub enum tl_client {}

pub type tl_mqtt_version = c_uint;
pub const TL_MQTT_V311: tl_mqtt_version = 4;
pub const TL_MQTT_V5: tl_mqtt_version = 5;

pub type tl_overflow_policy = c_uint;
pub const TL_OVERFLOW_REJECT_NEW: tl_overflow_policy = 0;
pub const TL_OVERFLOW_DROP_OLDEST: tl_overflow_policy = 1;

pub type tl_connection_state = c_uint;
pub const TL_STATE_DISCONNECTED: tl_connection_state = 0;
pub const TL_STATE_CONNECTING: tl_connection_state = 1;
pub const TL_STATE_CONNECTED: tl_connection_state = 2;
pub const TL_STATE_RECONNECTING: tl_connection_state = 3;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tl_connection_event {
    pub struct_size: usize,
    pub state: tl_connection_state,
    pub reason: tl_status,
    pub message: *const c_char,
    pub broker: *const c_char,
    pub retry_in_ms: u32,
    pub attempt: u32,
}

pub type tl_connection_cb = unsafe extern "C" fn(event: *const tl_connection_event, user_data: *mut c_void);

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tl_client_stats {
    pub struct_size: usize,
    pub messages_out: u64,
    pub bytes_out: u64,
    pub messages_in: u64,
    pub bytes_in: u64,
    pub connects: u64,
    pub reconnects: u64,
    pub connect_failures: u64,
    pub queued_messages: u64,
    pub queued_bytes: u64,
    pub inflight: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub ack_timeouts: u64,
    pub resent: u64,
    pub callback_queue: u64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tl_message {
    pub struct_size: usize,
    pub topic: *const c_char,
    pub payload: *const c_void,
    pub payload_len: usize,
    pub qos: c_int,
    pub retained: c_int,
}

pub type tl_message_cb = unsafe extern "C" fn(message: *const tl_message, user_data: *mut c_void);
pub type tl_publish_cb = unsafe extern "C" fn(message_id: u64, status: tl_status, user_data: *mut c_void);

// ---- shadow.h ------------------------------------------------------------------------------

pub enum tl_shadow {}
pub enum tl_shadow_options {}

pub type tl_topic_profile = c_uint;
pub const TL_PROFILE_TWINLINK: tl_topic_profile = 0;
pub const TL_PROFILE_AWS: tl_topic_profile = 1;

pub const TL_SHADOW_DELTA_NO_INITIAL: u32 = 0x1;

pub type tl_shadow_delta_cb = unsafe extern "C" fn(delta_json: *const c_char, version: u64, user_data: *mut c_void);
pub type tl_shadow_change_cb = unsafe extern "C" fn(document_json: *const c_char, user_data: *mut c_void);

// ---- datapoints.h --------------------------------------------------------------------------

pub enum tl_datapoints {}
pub enum tl_datapoint_options {}

pub const TL_NOW: i64 = i64::MIN;

pub type tl_encoding = c_uint;
pub const TL_ENCODING_JSON: tl_encoding = 0;
pub const TL_ENCODING_CBOR: tl_encoding = 1;
pub const TL_ENCODING_COMPACT: tl_encoding = 2;

pub type tl_backpressure = c_uint;
pub const TL_BACKPRESSURE_DROP_OLDEST: tl_backpressure = 0;
pub const TL_BACKPRESSURE_DROP_NEWEST: tl_backpressure = 1;
pub const TL_BACKPRESSURE_BLOCK: tl_backpressure = 2;

pub type tl_delivery_mode = c_uint;
pub const TL_DELIVERY_BROKER: tl_delivery_mode = 0;
pub const TL_DELIVERY_RECEIPT: tl_delivery_mode = 1;

pub type tl_fsync_policy = c_uint;
pub const TL_FSYNC_EVERY_BATCH: tl_fsync_policy = 0;
pub const TL_FSYNC_INTERVAL: tl_fsync_policy = 1;
pub const TL_FSYNC_NEVER: tl_fsync_policy = 2;

pub type tl_drop_cb = unsafe extern "C" fn(
    policy: tl_backpressure,
    points: u64,
    batches: u64,
    reason: *const c_char,
    user_data: *mut c_void,
);

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tl_datapoint_stats {
    pub struct_size: usize,
    pub recorded: u64,
    pub batched: u64,
    pub batches: u64,
    pub sent: u64,
    pub acked_batches: u64,
    pub acked_points: u64,
    pub dropped_points: u64,
    pub dropped_batches: u64,
    pub rejected_points: u64,
    pub recovered_batches: u64,
    pub pending_points: u64,
    pub backlog_batches: u64,
    pub backlog_points: u64,
    pub backlog_bytes: u64,
    pub spooled_bytes: u64,
    pub confirmed_batches: u64,
    pub confirmed_points: u64,
    pub receipt_timeouts: u64,
    pub receipts_ignored: u64,
}

// ---- device.h ------------------------------------------------------------------------------

pub enum tl_device {}
pub enum tl_device_options {}

// ---- runtime.h -----------------------------------------------------------------------------

pub enum tl_runtime {}

extern "C" {
    // common.h
    pub fn tl_free(pointer: *mut c_void);
    pub fn tl_version() -> *const c_char;
    pub fn tl_version_number() -> c_int;

    // errors.h
    pub fn tl_last_error() -> *const c_char;
    pub fn tl_status_str(status: tl_status) -> *const c_char;

    // runtime.h
    pub fn tl_runtime_new(out: *mut *mut tl_runtime, dispatch_threads: u32) -> tl_status;
    pub fn tl_runtime_free(runtime: *mut tl_runtime);
    pub fn tl_runtime_clients(runtime: *const tl_runtime, out: *mut usize) -> tl_status;
    pub fn tl_client_options_set_runtime(options: *mut tl_client_options, runtime: *mut tl_runtime) -> tl_status;

    // client.h: options
    pub fn tl_client_options_new(out: *mut *mut tl_client_options) -> tl_status;
    pub fn tl_client_options_free(options: *mut tl_client_options);
    pub fn tl_client_options_add_broker(options: *mut tl_client_options, uri: *const c_char) -> tl_status;
    pub fn tl_client_options_set_client_id(options: *mut tl_client_options, client_id: *const c_char) -> tl_status;
    pub fn tl_client_options_set_credentials(
        options: *mut tl_client_options,
        username: *const c_char,
        password: *const c_char,
    ) -> tl_status;
    pub fn tl_client_options_set_mqtt_version(options: *mut tl_client_options, version: tl_mqtt_version) -> tl_status;
    pub fn tl_client_options_set_clean_session(options: *mut tl_client_options, clean: c_int) -> tl_status;
    pub fn tl_client_options_set_keepalive(options: *mut tl_client_options, seconds: u32) -> tl_status;
    pub fn tl_client_options_set_connect_timeout(options: *mut tl_client_options, timeout_ms: u32) -> tl_status;
    pub fn tl_client_options_set_reconnect_backoff(
        options: *mut tl_client_options,
        min_ms: u32,
        max_ms: u32,
    ) -> tl_status;
    pub fn tl_client_options_set_ack_timeout(options: *mut tl_client_options, timeout_ms: u32) -> tl_status;
    pub fn tl_client_options_set_operation_timeout(options: *mut tl_client_options, timeout_ms: u32) -> tl_status;
    pub fn tl_client_options_set_tls_ca(
        options: *mut tl_client_options,
        ca_file: *const c_char,
        ca_dir: *const c_char,
    ) -> tl_status;
    pub fn tl_client_options_set_tls_client_cert(
        options: *mut tl_client_options,
        cert_file: *const c_char,
        key_file: *const c_char,
        key_password: *const c_char,
    ) -> tl_status;
    pub fn tl_client_options_set_tls_verify_hostname(options: *mut tl_client_options, verify: c_int) -> tl_status;
    pub fn tl_client_options_set_tls_insecure(options: *mut tl_client_options, insecure: c_int) -> tl_status;
    pub fn tl_client_options_set_presence(
        options: *mut tl_client_options,
        topic: *const c_char,
        online: *const c_char,
        offline: *const c_char,
    ) -> tl_status;
    pub fn tl_client_options_set_offline_queue(
        options: *mut tl_client_options,
        max_messages: usize,
        max_bytes: usize,
        policy: tl_overflow_policy,
    ) -> tl_status;
    pub fn tl_client_options_set_max_inflight(options: *mut tl_client_options, max_inflight: u32) -> tl_status;
    pub fn tl_client_options_set_tcp_nodelay(options: *mut tl_client_options, nodelay: c_int) -> tl_status;
    pub fn tl_client_options_set_log_callback(
        options: *mut tl_client_options,
        callback: Option<tl_log_cb>,
        level: tl_log_level,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
    ) -> tl_status;
    pub fn tl_client_options_set_connection_callback(
        options: *mut tl_client_options,
        callback: Option<tl_connection_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
    ) -> tl_status;

    // client.h: client
    pub fn tl_client_new(out: *mut *mut tl_client, options: *const tl_client_options) -> tl_status;
    pub fn tl_client_free(client: *mut tl_client);
    pub fn tl_client_start(client: *mut tl_client) -> tl_status;
    pub fn tl_client_connect(client: *mut tl_client, timeout_ms: u32) -> tl_status;
    pub fn tl_client_connect_start(
        client: *mut tl_client,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_client_cancel(client: *mut tl_client, operation: u64) -> tl_status;
    pub fn tl_client_disconnect(client: *mut tl_client, timeout_ms: u32) -> tl_status;
    pub fn tl_client_disconnect_start(
        client: *mut tl_client,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_client_publish(
        client: *mut tl_client,
        topic: *const c_char,
        payload: *const c_void,
        payload_len: usize,
        qos: c_int,
        retain: c_int,
        callback: Option<tl_publish_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_id: *mut u64,
    ) -> tl_status;
    pub fn tl_client_publish_wait(
        client: *mut tl_client,
        topic: *const c_char,
        payload: *const c_void,
        payload_len: usize,
        qos: c_int,
        retain: c_int,
        timeout_ms: u32,
    ) -> tl_status;
    pub fn tl_client_publish_start(
        client: *mut tl_client,
        topic: *const c_char,
        payload: *const c_void,
        payload_len: usize,
        qos: c_int,
        retain: c_int,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_client_subscribe(
        client: *mut tl_client,
        filter: *const c_char,
        qos: c_int,
        callback: Option<tl_message_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_id: *mut u64,
    ) -> tl_status;
    pub fn tl_client_unsubscribe(client: *mut tl_client, subscription_id: u64) -> tl_status;
    pub fn tl_client_subscribe_start(
        client: *mut tl_client,
        filter: *const c_char,
        qos: c_int,
        on_message: Option<tl_message_cb>,
        message_user_data: *mut c_void,
        message_destroy: Option<tl_destroy_cb>,
        out_id: *mut u64,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_client_unsubscribe_start(
        client: *mut tl_client,
        subscription_id: u64,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_client_state(client: *const tl_client) -> tl_connection_state;
    pub fn tl_client_get_stats(client: *const tl_client, out: *mut tl_client_stats) -> tl_status;
    pub fn tl_client_id(client: *const tl_client) -> *const c_char;

    // shadow.h
    pub fn tl_shadow_options_new(out: *mut *mut tl_shadow_options) -> tl_status;
    pub fn tl_shadow_options_free(options: *mut tl_shadow_options);
    pub fn tl_shadow_options_set_name(options: *mut tl_shadow_options, name: *const c_char) -> tl_status;
    pub fn tl_shadow_options_set_profile(
        options: *mut tl_shadow_options,
        profile: tl_topic_profile,
        prefix: *const c_char,
    ) -> tl_status;
    pub fn tl_shadow_options_set_request_timeout(options: *mut tl_shadow_options, timeout_ms: u32) -> tl_status;
    pub fn tl_shadow_options_set_persist_path(options: *mut tl_shadow_options, path: *const c_char) -> tl_status;
    pub fn tl_shadow_new(
        out: *mut *mut tl_shadow,
        client: *mut tl_client,
        device: *const c_char,
        options: *const tl_shadow_options,
    ) -> tl_status;
    pub fn tl_shadow_free(shadow: *mut tl_shadow);
    pub fn tl_shadow_report(
        shadow: *mut tl_shadow,
        reported_json: *const c_char,
        timeout_ms: u32,
        out_accepted: *mut *mut c_char,
    ) -> tl_status;
    pub fn tl_shadow_report_async(shadow: *mut tl_shadow, reported_json: *const c_char) -> tl_status;
    pub fn tl_shadow_desire(
        shadow: *mut tl_shadow,
        desired_json: *const c_char,
        timeout_ms: u32,
        out_accepted: *mut *mut c_char,
    ) -> tl_status;
    pub fn tl_shadow_desire_async(shadow: *mut tl_shadow, desired_json: *const c_char) -> tl_status;
    pub fn tl_shadow_report_start(
        shadow: *mut tl_shadow,
        reported_json: *const c_char,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_shadow_desire_start(
        shadow: *mut tl_shadow,
        desired_json: *const c_char,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_shadow_get_start(
        shadow: *mut tl_shadow,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_shadow_cancel(shadow: *mut tl_shadow, operation: u64) -> tl_status;
    pub fn tl_shadow_update(
        shadow: *mut tl_shadow,
        request_json: *const c_char,
        timeout_ms: u32,
        out_accepted: *mut *mut c_char,
    ) -> tl_status;
    pub fn tl_shadow_update_start(
        shadow: *mut tl_shadow,
        request_json: *const c_char,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_shadow_get(shadow: *mut tl_shadow, timeout_ms: u32, out_document: *mut *mut c_char) -> tl_status;
    pub fn tl_shadow_delete(shadow: *mut tl_shadow, timeout_ms: u32) -> tl_status;
    pub fn tl_shadow_delete_start(
        shadow: *mut tl_shadow,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_shadow_state(shadow: *const tl_shadow, out_document: *mut *mut c_char) -> tl_status;
    pub fn tl_shadow_on_delta(
        shadow: *mut tl_shadow,
        json_pointer: *const c_char,
        callback: Option<tl_shadow_delta_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_id: *mut u64,
    ) -> tl_status;
    pub fn tl_shadow_on_delta_ex(
        shadow: *mut tl_shadow,
        json_pointer: *const c_char,
        flags: u32,
        callback: Option<tl_shadow_delta_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_id: *mut u64,
    ) -> tl_status;
    pub fn tl_shadow_on_change(
        shadow: *mut tl_shadow,
        callback: Option<tl_shadow_change_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_id: *mut u64,
    ) -> tl_status;
    pub fn tl_shadow_remove_handler(shadow: *mut tl_shadow, handler_id: u64) -> tl_status;

    // datapoints.h
    pub fn tl_datapoint_options_new(out: *mut *mut tl_datapoint_options) -> tl_status;
    pub fn tl_datapoint_options_free(options: *mut tl_datapoint_options);
    pub fn tl_datapoint_options_set_topic(options: *mut tl_datapoint_options, topic: *const c_char) -> tl_status;
    pub fn tl_datapoint_options_set_encoding(options: *mut tl_datapoint_options, encoding: tl_encoding) -> tl_status;
    pub fn tl_datapoint_options_set_batch_limits(
        options: *mut tl_datapoint_options,
        max_points: usize,
        max_bytes: usize,
        linger_ms: u32,
    ) -> tl_status;
    pub fn tl_datapoint_options_set_spool(
        options: *mut tl_datapoint_options,
        dir: *const c_char,
        max_bytes: u64,
        fsync: tl_fsync_policy,
        fsync_interval_ms: u32,
    ) -> tl_status;
    pub fn tl_datapoint_options_set_backlog(
        options: *mut tl_datapoint_options,
        max_backlog_bytes: usize,
        max_pending_points: usize,
    ) -> tl_status;
    pub fn tl_datapoint_options_set_backpressure(
        options: *mut tl_datapoint_options,
        policy: tl_backpressure,
        block_timeout_ms: u32,
    ) -> tl_status;
    pub fn tl_datapoint_options_set_sending(
        options: *mut tl_datapoint_options,
        max_inflight_batches: u32,
        max_batches_per_second: c_double,
    ) -> tl_status;
    pub fn tl_datapoint_options_set_delivery(
        options: *mut tl_datapoint_options,
        mode: tl_delivery_mode,
        receipt_timeout_ms: u32,
        max_unconfirmed_batches: u32,
        receipt_topic: *const c_char,
    ) -> tl_status;
    pub fn tl_datapoint_options_set_drop_callback(
        options: *mut tl_datapoint_options,
        callback: Option<tl_drop_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
    ) -> tl_status;
    pub fn tl_datapoints_new(
        out: *mut *mut tl_datapoints,
        client: *mut tl_client,
        device: *const c_char,
        options: *const tl_datapoint_options,
    ) -> tl_status;
    pub fn tl_datapoints_free(datapoints: *mut tl_datapoints);
    pub fn tl_datapoints_record_double(
        datapoints: *mut tl_datapoints,
        name: *const c_char,
        value: c_double,
        timestamp_ms: i64,
    ) -> tl_status;
    pub fn tl_datapoints_record_int64(
        datapoints: *mut tl_datapoints,
        name: *const c_char,
        value: i64,
        timestamp_ms: i64,
    ) -> tl_status;
    pub fn tl_datapoints_record_bool(
        datapoints: *mut tl_datapoints,
        name: *const c_char,
        value: c_int,
        timestamp_ms: i64,
    ) -> tl_status;
    pub fn tl_datapoints_record_string(
        datapoints: *mut tl_datapoints,
        name: *const c_char,
        value: *const c_char,
        timestamp_ms: i64,
    ) -> tl_status;
    pub fn tl_datapoints_record_json(
        datapoints: *mut tl_datapoints,
        name: *const c_char,
        object_json: *const c_char,
        timestamp_ms: i64,
    ) -> tl_status;
    pub fn tl_datapoints_record_many_double(
        datapoints: *mut tl_datapoints,
        name: *const c_char,
        values: *const c_double,
        timestamps_ms: *const i64,
        count: usize,
    ) -> tl_status;
    pub fn tl_datapoints_record_many_int64(
        datapoints: *mut tl_datapoints,
        name: *const c_char,
        values: *const i64,
        timestamps_ms: *const i64,
        count: usize,
    ) -> tl_status;
    pub fn tl_datapoints_series_id(datapoints: *mut tl_datapoints, name: *const c_char, out_id: *mut u32) -> tl_status;
    pub fn tl_datapoints_record_id_double(
        datapoints: *mut tl_datapoints,
        series_id: u32,
        value: f64,
        timestamp_ms: i64,
    ) -> tl_status;
    pub fn tl_datapoints_record_id_int64(
        datapoints: *mut tl_datapoints,
        series_id: u32,
        value: i64,
        timestamp_ms: i64,
    ) -> tl_status;
    pub fn tl_datapoints_record_points_double(
        datapoints: *mut tl_datapoints,
        series_ids: *const u32,
        values: *const f64,
        timestamps_ms: *const i64,
        count: usize,
    ) -> tl_status;
    pub fn tl_datapoints_flush(datapoints: *mut tl_datapoints, timeout_ms: u32) -> tl_status;
    pub fn tl_datapoints_flush_start(
        datapoints: *mut tl_datapoints,
        timeout_ms: u32,
        callback: Option<tl_completion_cb>,
        user_data: *mut c_void,
        destroy: Option<tl_destroy_cb>,
        out_operation: *mut u64,
    ) -> tl_status;
    pub fn tl_datapoints_cancel(datapoints: *mut tl_datapoints, operation: u64) -> tl_status;
    pub fn tl_datapoints_get_stats(datapoints: *const tl_datapoints, out: *mut tl_datapoint_stats) -> tl_status;

    // device.h
    pub fn tl_device_options_new(out: *mut *mut tl_device_options) -> tl_status;
    pub fn tl_device_options_free(options: *mut tl_device_options);
    pub fn tl_device_options_set_client(options: *mut tl_device_options, client: *const tl_client_options)
        -> tl_status;
    pub fn tl_device_options_set_profile(
        options: *mut tl_device_options,
        profile: tl_topic_profile,
        prefix: *const c_char,
    ) -> tl_status;
    pub fn tl_device_options_set_shadow(options: *mut tl_device_options, shadow: *const tl_shadow_options)
        -> tl_status;
    pub fn tl_device_options_set_datapoints(
        options: *mut tl_device_options,
        datapoints: *const tl_datapoint_options,
    ) -> tl_status;
    pub fn tl_device_new(
        out: *mut *mut tl_device,
        device_id: *const c_char,
        options: *const tl_device_options,
    ) -> tl_status;
    pub fn tl_device_free(device: *mut tl_device);
    pub fn tl_device_connect(device: *mut tl_device, timeout_ms: u32) -> tl_status;
    pub fn tl_device_disconnect(device: *mut tl_device, timeout_ms: u32) -> tl_status;
    pub fn tl_device_id(device: *const tl_device) -> *const c_char;
    pub fn tl_device_client(device: *mut tl_device) -> *mut tl_client;
    pub fn tl_device_shadow(device: *mut tl_device, name: *const c_char, out: *mut *mut tl_shadow) -> tl_status;
    pub fn tl_device_datapoints(device: *mut tl_device, out: *mut *mut tl_datapoints) -> tl_status;
}

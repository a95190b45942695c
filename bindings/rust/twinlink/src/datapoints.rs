use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use twinlink_sys as sys;

use crate::callback::in_callback;
use crate::client::{Client, ClientInner};
use crate::device::DeviceInner;
use crate::error::{check, Error, Result};
use crate::options::{datapoint_builder_methods, DatapointConfig};
use crate::util::{c_string, millis, with_c_str};

/// One value of a datapoint: what [`Datapoints::record`] accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PointValue<'a> {
    /// A number (`f64`, `f32`); it must be finite.
    Float(f64),
    /// An integer (`i64`, `i32`).
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A UTF-8 string (`&str`, `&String`).
    Text(&'a str),
}

impl From<f64> for PointValue<'_> {
    fn from(v: f64) -> Self {
        PointValue::Float(v)
    }
}
impl From<f32> for PointValue<'_> {
    fn from(v: f32) -> Self {
        PointValue::Float(v.into())
    }
}
impl From<i64> for PointValue<'_> {
    fn from(v: i64) -> Self {
        PointValue::Int(v)
    }
}
impl From<i32> for PointValue<'_> {
    fn from(v: i32) -> Self {
        PointValue::Int(v.into())
    }
}
impl From<bool> for PointValue<'_> {
    fn from(v: bool) -> Self {
        PointValue::Bool(v)
    }
}
impl<'a> From<&'a str> for PointValue<'a> {
    fn from(v: &'a str) -> Self {
        PointValue::Text(v)
    }
}
impl<'a> From<&'a String> for PointValue<'a> {
    fn from(v: &'a String) -> Self {
        PointValue::Text(v)
    }
}

/// A slice of values of one series: what [`Datapoints::record_many`] accepts (`&[f64]`,
/// `&[i64]`).
pub trait Series: sealed::Sealed {
    #[doc(hidden)]
    fn count(&self) -> usize;
    #[doc(hidden)]
    unsafe fn record(
        &self,
        raw: *mut sys::tl_datapoints,
        name: *const std::ffi::c_char,
        ts: *const i64,
    ) -> sys::tl_status;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for [f64] {}
    impl Sealed for [i64] {}
}

impl Series for [f64] {
    fn count(&self) -> usize {
        <[f64]>::len(self)
    }
    unsafe fn record(
        &self,
        raw: *mut sys::tl_datapoints,
        name: *const std::ffi::c_char,
        ts: *const i64,
    ) -> sys::tl_status {
        sys::tl_datapoints_record_many_double(raw, name, self.as_ptr(), ts, self.len())
    }
}

impl Series for [i64] {
    fn count(&self) -> usize {
        <[i64]>::len(self)
    }
    unsafe fn record(
        &self,
        raw: *mut sys::tl_datapoints,
        name: *const std::ffi::c_char,
        ts: *const i64,
    ) -> sys::tl_status {
        sys::tl_datapoints_record_many_int64(raw, name, self.as_ptr(), ts, self.len())
    }
}

/// Counters of the datapoint pipeline (see `tl_datapoint_stats` in the C header).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatapointStats {
    /// Points accepted.
    pub recorded: u64,
    /// Points in closed batches.
    pub batched: u64,
    /// Batches closed.
    pub batches: u64,
    /// Batch publishes started (resends included).
    pub sent: u64,
    /// Batches acknowledged by the broker, each counted once.
    pub acked_batches: u64,
    /// Points in those.
    pub acked_points: u64,
    /// Points discarded by the backpressure policy, or at shutdown without a spool.
    pub dropped_points: u64,
    /// Batches discarded so.
    pub dropped_batches: u64,
    /// Refused by a record call.
    pub rejected_points: u64,
    /// Found unacknowledged in the spool at start.
    pub recovered_batches: u64,
    /// Recorded, not yet in a closed batch.
    pub pending_points: u64,
    /// Closed, not yet delivered.
    pub backlog_batches: u64,
    /// Points in those.
    pub backlog_points: u64,
    /// Encoded bytes of those.
    pub backlog_bytes: u64,
    /// Bytes in the spool.
    pub spooled_bytes: u64,
    /// Confirmed stored by the sink's receipts.
    pub confirmed_batches: u64,
    /// Points in those.
    pub confirmed_points: u64,
    /// Batches sent again because no receipt came in time.
    pub receipt_timeouts: u64,
    /// Receipts not applied: malformed, for another device, or too many waiting to be read.
    pub receipts_ignored: u64,
}

/// What keeps a pipeline's C object alive: the device that owns it, or (for a pipeline made by
/// [`DatapointsBuilder::build`]) the pipeline itself, freed before its client.
pub(crate) enum PipelineOwner {
    /// Borrowed from the device, which frees it (held only to keep it).
    Device(#[allow(dead_code)] Arc<DeviceInner>),
    /// Made on a client: `tl_datapoints_free`, then the client is let go.
    Client {
        raw: *mut sys::tl_datapoints,
        client: Option<Arc<ClientInner>>,
    },
}

// SAFETY: the C ABI allows a pipeline to be used from any thread at once.
unsafe impl Send for PipelineOwner {}
unsafe impl Sync for PipelineOwner {}

struct SendPipeline(*mut sys::tl_datapoints);
// SAFETY: only moved to the thread that frees it.
unsafe impl Send for SendPipeline {}

impl Drop for PipelineOwner {
    fn drop(&mut self) {
        let PipelineOwner::Client { raw, client } = self else {
            return;
        };
        let (raw, client) = (*raw, client.take());
        if in_callback() {
            // Not on the dispatcher thread of its client (the last handle may go in a closure).
            let raw = SendPipeline(raw);
            std::thread::spawn(move || {
                let raw = raw;
                // SAFETY: the last reference is gone; the client is still alive.
                unsafe { sys::tl_datapoints_free(raw.0) };
                drop(client);
            });
        } else {
            // SAFETY: the last reference is gone; the client is still alive.
            unsafe { sys::tl_datapoints_free(raw) };
            drop(client);
        }
    }
}

/// A datapoint pipeline: record telemetry, stream it in batches.
///
/// A device's comes from [`Device::datapoints`](crate::Device::datapoints); a pipeline for any
/// device id on a [`Client`] (a gateway recording for the devices behind it) from
/// [`Datapoints::builder`].
///
/// `Send + Sync` and cheap to clone; it keeps its device (or client) alive. Recording never waits
/// for the network.
#[derive(Clone)]
pub struct Datapoints {
    // Keeps the C pipeline alive (and frees it, when it was made on a client).
    _owner: Arc<PipelineOwner>,
    raw: *mut sys::tl_datapoints,
}

// SAFETY: the C ABI allows a pipeline to be used from any thread at once; `_owner` keeps it.
unsafe impl Send for Datapoints {}
unsafe impl Sync for Datapoints {}

/// Options of a pipeline on a [`Client`]; made by [`Datapoints::builder`]. Every
/// `tl_datapoint_options_*` setter has a method here (as on [`DeviceBuilder`](crate::DeviceBuilder)).
///
/// ```no_run
/// use std::time::Duration;
/// use twinlink::{Client, Datapoints, Delivery};
///
/// # fn main() -> twinlink::Result<()> {
/// let gateway = Client::builder().broker("mqtt://127.0.0.1:1883").connect(Duration::from_secs(5))?;
/// let meter = Datapoints::builder("meter-7").delivery(Delivery::Broker).build(&gateway)?;
/// meter.record("kwh", 1520.25)?;
/// meter.flush(Duration::from_secs(5))?;
/// # Ok(())
/// # }
/// ```
pub struct DatapointsBuilder {
    device_id: String,
    datapoints: DatapointConfig,
}

impl DatapointsBuilder {
    datapoint_builder_methods!();

    /// Starts the pipeline on `client` (with a spool, batches left by an earlier run are sent
    /// first). The pipeline keeps the client alive; dropping its last handle closes the open
    /// batches and stops it (call [`Datapoints::flush`] first to deliver them: without a spool,
    /// what is undelivered then is discarded).
    pub fn build(self, client: &Client) -> Result<Datapoints> {
        let device = c_string("device id", &self.device_id)?;
        let options = self.datapoints.into_raw()?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid client, C string and options (copied); raw written on success.
        check(unsafe { sys::tl_datapoints_new(&mut raw, client.raw(), device.as_ptr(), options.0) })?;
        Ok(Datapoints {
            _owner: Arc::new(PipelineOwner::Client {
                raw,
                client: Some(client.inner.clone()),
            }),
            raw,
        })
    }
}

impl std::fmt::Debug for DatapointsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatapointsBuilder")
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

impl Datapoints {
    pub(crate) fn new(device: Arc<DeviceInner>, raw: *mut sys::tl_datapoints) -> Datapoints {
        Datapoints {
            _owner: Arc::new(PipelineOwner::Device(device)),
            raw,
        }
    }

    /// Starts configuring a pipeline for device `device_id` on a [`Client`] (see
    /// [`DatapointsBuilder`]).
    pub fn builder(device_id: &str) -> DatapointsBuilder {
        DatapointsBuilder {
            device_id: device_id.to_string(),
            datapoints: DatapointConfig::default(),
        }
    }

    /// The C pipeline (valid while `self` lives), for the async module.
    pub(crate) fn raw(&self) -> *mut sys::tl_datapoints {
        self.raw
    }

    /// Records one point of series `name` now. `value`: `f64`, `i64`, `bool` or `&str`.
    pub fn record<'a>(&self, name: &str, value: impl Into<PointValue<'a>>) -> Result<()> {
        self.record_raw(name, value.into(), sys::TL_NOW)
    }

    /// Records one point at `timestamp_ms` (milliseconds since the Unix epoch).
    pub fn record_at<'a>(&self, name: &str, value: impl Into<PointValue<'a>>, timestamp_ms: i64) -> Result<()> {
        if timestamp_ms == sys::TL_NOW {
            return Err(Error::invalid("timestamp i64::MIN is reserved (it means now)"));
        }
        self.record_raw(name, value.into(), timestamp_ms)
    }

    // Inlined into record()/record_at(), where the value's variant is known: it is the
    // binding's whole cost per point (see the benchmark of docs/rust.md).
    #[inline]
    fn record_raw(&self, name: &str, value: PointValue<'_>, ts: i64) -> Result<()> {
        // The name is passed from a stack buffer: no allocation per point.
        with_c_str("series name", name, |name| {
            let name = name.as_ptr();
            // SAFETY: valid pipeline and C strings for the call.
            let status = unsafe {
                match value {
                    PointValue::Float(v) => sys::tl_datapoints_record_double(self.raw, name, v, ts),
                    PointValue::Int(v) => sys::tl_datapoints_record_int64(self.raw, name, v, ts),
                    PointValue::Bool(v) => sys::tl_datapoints_record_bool(self.raw, name, v.into(), ts),
                    PointValue::Text(v) => {
                        let v = c_string("value", v)?;
                        sys::tl_datapoints_record_string(self.raw, name, v.as_ptr(), ts)
                    }
                }
            };
            check(status)
        })?
    }

    /// Records one point whose value is a JSON object (anything that serializes to one, e.g. a
    /// struct of several readings taken together), now, or at `timestamp_ms` (milliseconds since
    /// the Unix epoch) when given.
    ///
    /// ```no_run
    /// # fn main() -> twinlink::Result<()> {
    /// # let device = twinlink::Device::builder("sensor-1").broker("mqtt://127.0.0.1:1883").build()?;
    /// let points = device.datapoints()?;
    /// points.record_json("gps", &serde_json::json!({"lat": 48.85, "lon": 2.35}), None)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn record_json(&self, name: &str, object: &impl serde::Serialize, timestamp_ms: Option<i64>) -> Result<()> {
        if timestamp_ms == Some(sys::TL_NOW) {
            return Err(Error::invalid("timestamp i64::MIN is reserved (it means now)"));
        }
        let name = c_string("series name", name)?;
        let json = c_string("JSON object", &serde_json::to_string(object)?)?;
        // SAFETY: valid pipeline and C strings for the call.
        check(unsafe {
            sys::tl_datapoints_record_json(
                self.raw,
                name.as_ptr(),
                json.as_ptr(),
                timestamp_ms.unwrap_or(sys::TL_NOW),
            )
        })
    }

    /// Records many points of one series at once, all or nothing. `timestamps_ms` (one per
    /// value, milliseconds since the epoch) or `None` for "now".
    pub fn record_many<S: Series + ?Sized>(&self, name: &str, values: &S, timestamps_ms: Option<&[i64]>) -> Result<()> {
        if let Some(ts) = timestamps_ms {
            if ts.len() != values.count() {
                return Err(Error::invalid(format!(
                    "{} timestamps for {} values (expected one per value)",
                    ts.len(),
                    values.count()
                )));
            }
        }
        let name = c_string("series name", name)?;
        let ts = timestamps_ms.map_or(ptr::null(), <[i64]>::as_ptr);
        // SAFETY: valid pipeline; the slices hold len() elements.
        check(unsafe { values.record(self.raw, name.as_ptr(), ts) })
    }

    /// Closes the open batches and waits up to `timeout` until every point recorded before
    /// the call is delivered.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        // SAFETY: valid pipeline.
        check(unsafe { sys::tl_datapoints_flush(self.raw, millis(timeout)) })
    }

    /// The pipeline's counters.
    pub fn stats(&self) -> Result<DatapointStats> {
        let mut raw = sys::tl_datapoint_stats {
            struct_size: std::mem::size_of::<sys::tl_datapoint_stats>(),
            ..Default::default()
        };
        // SAFETY: valid pipeline; struct_size set.
        check(unsafe { sys::tl_datapoints_get_stats(self.raw, &mut raw) })?;
        Ok(DatapointStats {
            recorded: raw.recorded,
            batched: raw.batched,
            batches: raw.batches,
            sent: raw.sent,
            acked_batches: raw.acked_batches,
            acked_points: raw.acked_points,
            dropped_points: raw.dropped_points,
            dropped_batches: raw.dropped_batches,
            rejected_points: raw.rejected_points,
            recovered_batches: raw.recovered_batches,
            pending_points: raw.pending_points,
            backlog_batches: raw.backlog_batches,
            backlog_points: raw.backlog_points,
            backlog_bytes: raw.backlog_bytes,
            spooled_bytes: raw.spooled_bytes,
            confirmed_batches: raw.confirmed_batches,
            confirmed_points: raw.confirmed_points,
            receipt_timeouts: raw.receipt_timeouts,
            receipts_ignored: raw.receipts_ignored,
        })
    }
}

impl std::fmt::Debug for Datapoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Datapoints").finish_non_exhaustive()
    }
}

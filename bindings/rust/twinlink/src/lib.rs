//! twinlink: device shadows and datapoints over MQTT, a safe binding of libtwinlink's C ABI.
//!
//! ```no_run
//! use std::time::Duration;
//! use serde_json::json;
//!
//! # fn main() -> Result<(), twinlink::Error> {
//! let device = twinlink::Device::builder("sensor-1")
//!     .broker("mqtt://127.0.0.1:1883")
//!     .connect(Duration::from_secs(5))?;
//! let points = device.datapoints()?;
//! points.record("temperature", 21.5)?;
//! points.flush(Duration::from_secs(5))?;
//! let shadow = device.shadow()?;
//! shadow.report(&json!({"firmware": "1.2.0"}), Duration::from_secs(5))?;
//! let _led = shadow.on_delta(|delta, version| println!("delta v{version}: {delta}"))?;
//! # Ok(())
//! # }
//! ```
//!
//! # Threads
//!
//! [`Device`], [`Client`], [`Shadow`], [`Datapoints`], [`Subscription`] and [`DeltaHandler`] are
//! `Send + Sync`: the C library lets every handle be used from any thread at once. The builders
//! are `Send` (the C options are used by one thread at a time). Closures run on the dispatcher
//! thread of their connection, one at a time; they must be `Send + 'static` (the log closure,
//! called from several threads, `Sync` too). A closure may call any method of this crate.
//!
//! # Modules of the API
//!
//! - A device: [`Device::builder`] (every option of the C ABI), [`Device::shadow`],
//!   [`Device::named_shadow`], [`Device::datapoints`], [`Device::client`], [`Device::stats`].
//! - A plain MQTT client (a backend, a tool): [`Client::builder`], [`Client::publish`],
//!   [`Client::subscribe`], and the shadows of other devices through [`Shadow::builder`].
//! - Typed deltas: [`Shadow::on_delta_as`].
//! - Many devices in one process: [`Runtime`], shared threads given to each builder's `runtime()`.
//! - Async, for any runtime: an `_async` form of every call that waits for the network
//!   ([`DeviceBuilder::connect_async`], [`Shadow::report_async`], [`Datapoints::flush_async`],
//!   [`Client::publish_async`], ...), each an [`Operation`] future completed by the C library's
//!   callback, and streams: [`Shadow::deltas`], [`Shadow::changes`], [`Client::subscribe_stream`].
//!
//! # Panics in closures
//!
//! A panic inside a closure given to twinlink is caught before it can unwind into C, written to
//! stderr and counted ([`callback_panics`]); the process goes on.
//!
//! # Drop order
//!
//! Handles share ownership of the device: it is disconnected and freed when the last
//! [`Device`], [`Shadow`], [`Datapoints`] and [`DeltaHandler`] is dropped, in whatever order.
//! Likewise a [`Client`] is freed after its last clone, [`Subscription`] and client-bound
//! [`Shadow`] (which is freed first). A handle whose last reference goes inside one of its own
//! closures is freed from another thread, after the closure returns.

#![warn(missing_docs)]

mod asynchronous;
mod callback;
mod client;
mod datapoints;
mod device;
mod error;
mod options;
mod runtime;
mod shadow;
mod util;

#[doc(hidden)]
pub use asynchronous::operations_in_flight;
pub use asynchronous::{ChangeStream, Delta, DeltaStream, MessageStream, Operation, ShadowStream, DEFAULT_MAX_QUEUE};
pub use callback::callback_panics;
pub use client::{Client, ClientBuilder, ClientStats, Message, Qos, Subscription};
pub use datapoints::{DatapointStats, Datapoints, DatapointsBuilder, PointValue, Series};
pub use device::{ConnectionEvent, ConnectionState, Device, DeviceBuilder, DeviceStats};
pub use error::{Error, ErrorKind, Result};
pub use options::{Backpressure, Delivery, DropEvent, Encoding, Fsync, LogLevel, MqttVersion, Overflow, Profile};
pub use runtime::Runtime;
pub use shadow::{DeltaHandler, Shadow, ShadowBuilder};

/// The version of the libtwinlink that is loaded ("MAJOR.MINOR.PATCH").
pub fn library_version() -> &'static str {
    // SAFETY: static storage, never NULL.
    unsafe { std::ffi::CStr::from_ptr(twinlink_sys::tl_version()) }
        .to_str()
        .unwrap_or("")
}

use std::ffi::{c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use twinlink_sys as sys;

use crate::callback::{guard, in_callback, Boxed};
use crate::client::{Client, ClientInner, ClientStats};
use crate::datapoints::{DatapointStats, Datapoints};
use crate::error::{check, Error, Result};
use crate::options::{
    client_builder_methods, datapoint_builder_methods, ClientConfig, ConnectionFn, DatapointConfig, Profile,
    RawDeviceOptions, ShadowConfig,
};
use crate::shadow::Shadow;
use crate::util::{c_string, millis};

/// The state of the device's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not started, or stopped by a disconnect.
    Disconnected,
    /// An attempt is under way.
    Connecting,
    /// Connected to a broker.
    Connected,
    /// Waiting [`ConnectionEvent::retry_in`] before the next attempt.
    Reconnecting,
    /// A state this version of the crate does not know (a newer library).
    Unknown(u32),
}

impl ConnectionState {
    pub(crate) fn from_raw(state: sys::tl_connection_state) -> ConnectionState {
        match state {
            sys::TL_STATE_DISCONNECTED => ConnectionState::Disconnected,
            sys::TL_STATE_CONNECTING => ConnectionState::Connecting,
            sys::TL_STATE_CONNECTED => ConnectionState::Connected,
            sys::TL_STATE_RECONNECTING => ConnectionState::Reconnecting,
            other => ConnectionState::Unknown(other),
        }
    }
}

/// A change of the connection state, passed to the closure of
/// [`DeviceBuilder::on_connection`].
#[derive(Debug, Clone)]
pub struct ConnectionEvent {
    /// The new state.
    pub state: ConnectionState,
    /// Why the connection ended or an attempt failed; `None` otherwise.
    pub reason: Option<Error>,
    /// The broker URI this event concerns; empty when none.
    pub broker: String,
    /// With [`ConnectionState::Reconnecting`]: the delay before the next attempt.
    pub retry_in: Duration,
    /// Consecutive failed attempts so far.
    pub attempt: u32,
}

/// The owner of the C device. Shared (through `Arc`) by [`Device`] and every handle made from
/// it, so the device is freed after the last of them, whatever order they are dropped in.
pub(crate) struct DeviceInner {
    pub(crate) raw: *mut sys::tl_device,
    /// Whether the datapoint pipeline exists (made at build with a spool, else on first use).
    pub(crate) pipeline: AtomicBool,
}

/// The counters of a device, from [`Device::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceStats {
    /// The connection state.
    pub state: ConnectionState,
    /// The counters of the device's MQTT client.
    pub client: ClientStats,
    /// The counters of the datapoint pipeline; `None` while it does not exist (no spool and
    /// [`Device::datapoints`] not called yet).
    pub datapoints: Option<DatapointStats>,
}

// SAFETY: the C ABI allows every handle to be used from any thread at once.
unsafe impl Send for DeviceInner {}
unsafe impl Sync for DeviceInner {}

impl Drop for DeviceInner {
    fn drop(&mut self) {
        let raw = self.raw;
        if in_callback() {
            // tl_device_free() must not run on the device's own dispatcher thread (the last
            // handle can be dropped by a closure's destruction there): free it from another.
            let raw = SendPtr(raw);
            std::thread::spawn(move || {
                let raw = raw;
                // SAFETY: the last reference is gone; nothing else uses the pointer.
                unsafe { sys::tl_device_free(raw.0) }
            });
        } else {
            // SAFETY: the last reference is gone; nothing else uses the pointer.
            unsafe { sys::tl_device_free(raw) }
        }
    }
}

struct SendPtr(*mut sys::tl_device);
// SAFETY: only moved to the thread that frees it.
unsafe impl Send for SendPtr {}

/// A device: one MQTT connection, its shadows and its datapoint pipeline.
///
/// `Device` is `Send + Sync` and cheap to clone (clones share the connection): the C library
/// lets every handle be used from any thread at once. Dropping the last clone and the last
/// [`Shadow`] / [`Datapoints`] made from it disconnects and frees everything.
#[derive(Clone)]
pub struct Device {
    inner: Arc<DeviceInner>,
}

impl Device {
    /// Starts configuring the device with id `device_id`.
    pub fn builder(device_id: impl Into<String>) -> DeviceBuilder {
        DeviceBuilder {
            device_id: device_id.into(),
            client: ClientConfig::default(),
            datapoints: DatapointConfig::default(),
            shadow: ShadowConfig::default(),
            profile: None,
        }
    }

    /// The C device (valid while `self` lives), for the async module.
    pub(crate) fn raw(&self) -> *mut sys::tl_device {
        self.inner.raw
    }

    /// Connects (again, after [`Device::disconnect`]) and waits up to `timeout`.
    pub fn connect(&self, timeout: Duration) -> Result<()> {
        // SAFETY: raw is valid while self lives.
        check(unsafe { sys::tl_device_connect(self.inner.raw, millis(timeout)) })
    }

    /// Waits up to `timeout` for queued messages, then disconnects and stops reconnecting.
    pub fn disconnect(&self, timeout: Duration) -> Result<()> {
        // SAFETY: raw is valid while self lives.
        check(unsafe { sys::tl_device_disconnect(self.inner.raw, millis(timeout)) })
    }

    /// The device id.
    pub fn id(&self) -> String {
        // SAFETY: borrowed until tl_device_free, which cannot run while self lives.
        unsafe { CStr::from_ptr(sys::tl_device_id(self.inner.raw)) }
            .to_string_lossy()
            .into_owned()
    }

    /// The current connection state.
    pub fn state(&self) -> ConnectionState {
        // SAFETY: the client is borrowed from the device, valid while self lives.
        ConnectionState::from_raw(unsafe { sys::tl_client_state(sys::tl_device_client(self.inner.raw)) })
    }

    /// The state and counters of the device: its client's and, when it exists, its datapoint
    /// pipeline's (this does not create it). Never waits for the network.
    pub fn stats(&self) -> Result<DeviceStats> {
        let datapoints = if self.inner.pipeline.load(Ordering::Relaxed) {
            Some(self.datapoints()?.stats()?)
        } else {
            None
        };
        Ok(DeviceStats {
            state: self.state(),
            client: self.client().stats()?,
            datapoints,
        })
    }

    /// The device's own MQTT connection as a [`Client`]: publish and subscribe on it, read its
    /// [`stats`](Client::stats), or bind the shadows of other devices to it. The client keeps the
    /// device alive (the device frees it).
    ///
    /// ```no_run
    /// # fn main() -> twinlink::Result<()> {
    /// # let device = twinlink::Device::builder("gateway-1").broker("mqtt://127.0.0.1:1883").build()?;
    /// let client = device.client();
    /// client.publish("gateway-1/log", "started", twinlink::Qos::AtMostOnce, false)?;
    /// println!("{} messages out", client.stats()?.messages_out);
    /// # Ok(())
    /// # }
    /// ```
    pub fn client(&self) -> Client {
        // SAFETY: valid device; the client it returns is borrowed until tl_device_free.
        let raw = unsafe { sys::tl_device_client(self.inner.raw) };
        Client {
            inner: Arc::new(ClientInner {
                raw,
                device: Some(self.inner.clone()),
            }),
        }
    }

    /// The device's classic shadow (created on first use; the same one on later calls).
    pub fn shadow(&self) -> Result<Shadow> {
        self.shadow_raw(None)
    }

    /// The named shadow `name` of the device.
    pub fn named_shadow(&self, name: &str) -> Result<Shadow> {
        self.shadow_raw(Some(name))
    }

    fn shadow_raw(&self, name: Option<&str>) -> Result<Shadow> {
        let name = name.map(|n| c_string("shadow name", n)).transpose()?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid device; name NULL or a C string; raw written on success.
        check(unsafe {
            sys::tl_device_shadow(
                self.inner.raw,
                name.as_ref().map_or(ptr::null(), |n| n.as_ptr()),
                &mut raw,
            )
        })?;
        Ok(Shadow::of_device(self.inner.clone(), raw))
    }

    /// The device's datapoint pipeline (created on first use).
    pub fn datapoints(&self) -> Result<Datapoints> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid device; raw written on success.
        check(unsafe { sys::tl_device_datapoints(self.inner.raw, &mut raw) })?;
        self.inner.pipeline.store(true, Ordering::Relaxed);
        Ok(Datapoints::new(self.inner.clone(), raw))
    }
}

impl std::fmt::Debug for DeviceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceBuilder")
            .field("device_id", &self.device_id)
            .field("brokers", &self.client.brokers)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("id", &self.id())
            .field("state", &self.state())
            .finish()
    }
}

/// Options of a [`Device`]; made by [`Device::builder`]. Every setter of the C ABI's
/// `tl_client_options_*` (the connection), `tl_datapoint_options_*`, `tl_shadow_options_*` and
/// `tl_device_options_*` has a method here.
///
/// ```no_run
/// use std::time::Duration;
/// use twinlink::{Backpressure, Device, Encoding, Fsync};
///
/// # fn main() -> Result<(), twinlink::Error> {
/// let device = Device::builder("sensor-1")
///     .broker("mqtt://127.0.0.1:1883")
///     .credentials("sensor-1", Some("secret"))
///     .encoding(Encoding::Cbor)
///     .batch_limits(500, 64 * 1024, Duration::from_millis(200))
///     .spool("/var/lib/sensor/spool", 64 << 20, Fsync::Interval(Duration::from_secs(1)))
///     .backpressure(Backpressure::Block, Duration::from_millis(500))
///     .on_drop(|event| eprintln!("dropped {} points: {}", event.points, event.reason))
///     .shadow_persist_dir("/var/lib/sensor/shadows")
///     .connect(Duration::from_secs(10))?;
/// # Ok(())
/// # }
/// ```
pub struct DeviceBuilder {
    device_id: String,
    client: ClientConfig,
    datapoints: DatapointConfig,
    shadow: ShadowConfig,
    profile: Option<(Profile, Option<String>)>,
}

impl DeviceBuilder {
    client_builder_methods!();

    /// The topic profile of the device's shadows and default topics (default
    /// [`Profile::Twinlink`] with prefix `tl`).
    pub fn profile(mut self, profile: Profile) -> Self {
        let prefix = self.profile.take().and_then(|(_, prefix)| prefix);
        self.profile = Some((profile, prefix));
        self
    }

    /// The topic prefix of [`Profile::Twinlink`] (default `tl`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        let profile = self.profile.take().map_or(Profile::Twinlink, |(profile, _)| profile);
        self.profile = Some((profile, Some(prefix.into())));
        self
    }

    datapoint_builder_methods!();

    /// How long a shadow update may go unanswered before it is resent (default 10 s).
    pub fn shadow_request_timeout(mut self, timeout: Duration) -> Self {
        self.shadow.request_timeout = Some(timeout);
        self
    }

    /// A directory where each shadow keeps its last known document
    /// (`<device>[.<name>].shadow.json`), read back at the next start.
    pub fn shadow_persist_dir(mut self, dir: impl AsRef<std::path::Path>) -> Self {
        self.shadow.persist_path = Some(dir.as_ref().into());
        self
    }

    /// Creates the device without connecting (with a spool, its pipeline starts at once).
    /// Client and shadow options are checked here; datapoint options when the pipeline starts
    /// (here with a spool, else at the first [`Device::datapoints`]).
    pub fn build(self) -> Result<Device> {
        let id = c_string("device id", &self.device_id)?;
        let client = self.client.into_raw()?;
        let spool = self.datapoints.spool.is_some();
        let datapoints = self.datapoints.into_raw()?;
        let device = RawDeviceOptions::new()?;
        // SAFETY: valid options; the setters copy what they are given.
        unsafe {
            check(sys::tl_device_options_set_client(device.0, client.0))?;
            check(sys::tl_device_options_set_datapoints(device.0, datapoints.0))?;
            if !self.shadow.is_default() {
                let shadow = self.shadow.into_raw()?;
                check(sys::tl_device_options_set_shadow(device.0, shadow.0))?;
            }
            if let Some((profile, prefix)) = &self.profile {
                let prefix = prefix.as_deref().map(|p| c_string("topic prefix", p)).transpose()?;
                check(sys::tl_device_options_set_profile(
                    device.0,
                    profile.to_raw(),
                    prefix.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
                ))?;
            }
        }
        let mut raw = ptr::null_mut();
        // SAFETY: valid C string and options; raw written on success.
        check(unsafe { sys::tl_device_new(&mut raw, id.as_ptr(), device.0) })?;
        Ok(Device {
            inner: Arc::new(DeviceInner {
                raw,
                pipeline: AtomicBool::new(spool),
            }),
        })
    }

    /// Creates the device and connects, waiting up to `timeout`.
    pub fn connect(self, timeout: Duration) -> Result<Device> {
        let device = self.build()?;
        device.connect(timeout)?;
        Ok(device)
    }
}

pub(crate) unsafe extern "C" fn connection_trampoline(event: *const sys::tl_connection_event, user_data: *mut c_void) {
    guard("connection", || {
        // SAFETY: C passes a valid event for the call, and the user_data of the registration.
        let event = unsafe { &*event };
        let text = |p: *const std::ffi::c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: a C string borrowed for the call.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        let event = ConnectionEvent {
            state: ConnectionState::from_raw(event.state),
            reason: (event.reason != sys::TL_OK).then(|| Error::with_message(event.reason, text(event.message))),
            broker: text(event.broker),
            retry_in: Duration::from_millis(event.retry_in_ms.into()),
            attempt: event.attempt,
        };
        // SAFETY: user_data was made by Boxed::<ConnectionFn>::into_user_data.
        unsafe { Boxed::<ConnectionFn>::with(user_data, |f| f(&event)) };
    });
}

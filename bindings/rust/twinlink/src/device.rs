use std::ffi::{c_void, CStr};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use twinlink_sys as sys;

use crate::callback::{guard, in_callback, Boxed};
use crate::datapoints::Datapoints;
use crate::error::{check, Error, Result};
use crate::shadow::Shadow;
use crate::util::{c_string, millis};

/// How datapoint batches are encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Cbor,
}

/// When a datapoint batch counts as delivered and leaves the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// At the broker's PUBACK: for sinks that send no receipts.
    Broker,
    /// When the sink's receipt says the batch is stored (the default).
    Receipt,
}

/// The state of the device's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Disconnected,
    Connecting,
    Connected,
    Reconnecting,
    /// A state this version of the crate does not know (a newer library).
    Unknown(u32),
}

impl ConnectionState {
    fn from_raw(state: sys::tl_connection_state) -> ConnectionState {
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

type ConnectionFn = dyn FnMut(&ConnectionEvent) + Send;

/// The owner of the C device. Shared (through `Arc`) by [`Device`] and every handle made from
/// it, so the device is freed after the last of them, whatever order they are dropped in.
pub(crate) struct DeviceInner {
    pub(crate) raw: *mut sys::tl_device,
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
            brokers: Vec::new(),
            client_id: None,
            encoding: None,
            delivery: None,
            on_connection: None,
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
        Ok(Shadow::new(self.inner.clone(), raw))
    }

    /// The device's datapoint pipeline (created on first use).
    pub fn datapoints(&self) -> Result<Datapoints> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid device; raw written on success.
        check(unsafe { sys::tl_device_datapoints(self.inner.raw, &mut raw) })?;
        Ok(Datapoints::new(self.inner.clone(), raw))
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

/// Options of a [`Device`]; made by [`Device::builder`].
pub struct DeviceBuilder {
    device_id: String,
    brokers: Vec<String>,
    client_id: Option<String>,
    encoding: Option<Encoding>,
    delivery: Option<Delivery>,
    on_connection: Option<Box<ConnectionFn>>,
}

impl DeviceBuilder {
    /// Adds a broker URI (`mqtt://host[:port]`, `mqtts://`, `ws://`, `wss://`); several are
    /// tried in turn. At least one is required.
    pub fn broker(mut self, uri: impl Into<String>) -> Self {
        self.brokers.push(uri.into());
        self
    }

    /// The MQTT client id (default: the device id).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// How datapoint batches are encoded (default JSON).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = Some(encoding);
        self
    }

    /// When datapoint batches count as delivered (default [`Delivery::Receipt`]).
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = Some(delivery);
        self
    }

    /// Calls `f` on every connection state change, on the device's dispatcher thread (one call
    /// at a time, in order). A panic in `f` is caught and reported, never propagated.
    pub fn on_connection(mut self, f: impl FnMut(&ConnectionEvent) + Send + 'static) -> Self {
        self.on_connection = Some(Box::new(f));
        self
    }

    /// Creates the device without connecting.
    pub fn build(self) -> Result<Device> {
        let id = c_string("device id", &self.device_id)?;
        let client = ClientOptions::new()?;
        for broker in &self.brokers {
            let uri = c_string("broker URI", broker)?;
            // SAFETY: valid options and C string.
            check(unsafe { sys::tl_client_options_add_broker(client.0, uri.as_ptr()) })?;
        }
        if let Some(client_id) = &self.client_id {
            let client_id = c_string("client id", client_id)?;
            // SAFETY: valid options and C string.
            check(unsafe { sys::tl_client_options_set_client_id(client.0, client_id.as_ptr()) })?;
        }
        if let Some(f) = self.on_connection {
            let user_data = Boxed::<ConnectionFn>::into_user_data(f);
            // SAFETY: the destroy function matches the user_data; on failure C calls it.
            check(unsafe {
                sys::tl_client_options_set_connection_callback(
                    client.0,
                    Some(connection_trampoline),
                    user_data,
                    Some(Boxed::<ConnectionFn>::destroy),
                )
            })?;
        }
        let datapoints = DatapointOptions::new()?;
        if let Some(encoding) = self.encoding {
            let raw = match encoding {
                Encoding::Json => sys::TL_ENCODING_JSON,
                Encoding::Cbor => sys::TL_ENCODING_CBOR,
            };
            // SAFETY: valid options.
            check(unsafe { sys::tl_datapoint_options_set_encoding(datapoints.0, raw) })?;
        }
        if let Some(delivery) = self.delivery {
            let mode = match delivery {
                Delivery::Broker => sys::TL_DELIVERY_BROKER,
                Delivery::Receipt => sys::TL_DELIVERY_RECEIPT,
            };
            // The C defaults for the receipt timeout (10 s) and window (64 batches).
            // SAFETY: valid options; NULL keeps the default receipt topic.
            check(unsafe { sys::tl_datapoint_options_set_delivery(datapoints.0, mode, 10_000, 64, ptr::null()) })?;
        }
        let device = DeviceOptions::new()?;
        // SAFETY: valid options; the setters copy what they are given.
        unsafe {
            check(sys::tl_device_options_set_client(device.0, client.0))?;
            check(sys::tl_device_options_set_datapoints(device.0, datapoints.0))?;
        }
        let mut raw = ptr::null_mut();
        // SAFETY: valid C string and options; raw written on success.
        check(unsafe { sys::tl_device_new(&mut raw, id.as_ptr(), device.0) })?;
        Ok(Device {
            inner: Arc::new(DeviceInner { raw }),
        })
    }

    /// Creates the device and connects, waiting up to `timeout`.
    pub fn connect(self, timeout: Duration) -> Result<Device> {
        let device = self.build()?;
        device.connect(timeout)?;
        Ok(device)
    }
}

unsafe extern "C" fn connection_trampoline(event: *const sys::tl_connection_event, user_data: *mut c_void) {
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

macro_rules! owned_options {
    ($name:ident, $raw:ty, $new:path, $free:path) => {
        struct $name(*mut $raw);
        impl $name {
            fn new() -> Result<Self> {
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
    ClientOptions,
    sys::tl_client_options,
    sys::tl_client_options_new,
    sys::tl_client_options_free
);
owned_options!(
    DatapointOptions,
    sys::tl_datapoint_options,
    sys::tl_datapoint_options_new,
    sys::tl_datapoint_options_free
);
owned_options!(
    DeviceOptions,
    sys::tl_device_options,
    sys::tl_device_options_new,
    sys::tl_device_options_free
);

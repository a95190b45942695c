//! [`Client`]: a standalone MQTT client (a backend, a tool), or the connection of a [`Device`].

use std::ffi::{c_void, CStr};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use twinlink_sys as sys;

use crate::callback::{guard, in_callback, Boxed};
use crate::device::{ConnectionState, DeviceInner};
use crate::error::{check, Error, Result};
use crate::options::{client_builder_methods, ClientConfig, ShadowConfig};
use crate::shadow::{Shadow, ShadowBuilder};
use crate::util::{c_string, millis};

/// The quality of service of a publish or a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Qos {
    /// QoS 0: fire and forget.
    AtMostOnce,
    /// QoS 1: acknowledged by the broker, possibly delivered twice.
    AtLeastOnce,
    /// QoS 2: exactly once.
    ExactlyOnce,
}

impl Qos {
    pub(crate) fn to_raw(self) -> std::ffi::c_int {
        match self {
            Qos::AtMostOnce => 0,
            Qos::AtLeastOnce => 1,
            Qos::ExactlyOnce => 2,
        }
    }

    fn from_raw(qos: std::ffi::c_int) -> Qos {
        match qos {
            0 => Qos::AtMostOnce,
            1 => Qos::AtLeastOnce,
            _ => Qos::ExactlyOnce,
        }
    }
}

/// A received message, passed to the closure of [`Client::subscribe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic it was published to.
    pub topic: String,
    /// The payload, as published (often JSON: see [`Message::json`]).
    pub payload: Vec<u8>,
    /// The QoS it was delivered with.
    pub qos: Qos,
    /// Whether the broker delivered it as a retained message.
    pub retained: bool,
}

impl Message {
    /// The payload as UTF-8 text, if it is.
    pub fn payload_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }

    /// The payload deserialized from JSON.
    ///
    /// ```
    /// let message = twinlink::Message {
    ///     topic: "t".into(),
    ///     payload: br#"{"n":1}"#.to_vec(),
    ///     qos: twinlink::Qos::AtLeastOnce,
    ///     retained: false,
    /// };
    /// let value: serde_json::Value = message.json().unwrap();
    /// assert_eq!(value["n"], 1);
    /// ```
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        Ok(serde_json::from_slice(&self.payload)?)
    }

    /// # Safety
    /// `message` is a valid `tl_message` borrowed for the call.
    pub(crate) unsafe fn from_raw(message: &sys::tl_message) -> Message {
        let topic = if message.topic.is_null() {
            String::new()
        } else {
            CStr::from_ptr(message.topic).to_string_lossy().into_owned()
        };
        let payload = if message.payload.is_null() || message.payload_len == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(message.payload as *const u8, message.payload_len).to_vec()
        };
        Message {
            topic,
            payload,
            qos: Qos::from_raw(message.qos),
            retained: message.retained != 0,
        }
    }
}

/// Counters of a client (see `tl_client_stats` in the C header).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Publishes completed (acknowledged for QoS 1/2).
    pub messages_out: u64,
    /// Payload bytes of those.
    pub bytes_out: u64,
    /// Messages received for the subscriptions.
    pub messages_in: u64,
    /// Payload bytes of those.
    pub bytes_in: u64,
    /// Successful connections, the first included.
    pub connects: u64,
    /// Successful connections after a lost one.
    pub reconnects: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Now waiting in the offline queue.
    pub queued_messages: u64,
    /// Payload bytes of those.
    pub queued_bytes: u64,
    /// Now handed to the network, not yet acknowledged.
    pub inflight: u64,
    /// Dropped by [`Overflow::DropOldest`](crate::Overflow::DropOldest).
    pub dropped: u64,
    /// Refused by [`Overflow::RejectNew`](crate::Overflow::RejectNew).
    pub rejected: u64,
    /// Publishes completed with a timeout.
    pub ack_timeouts: u64,
    /// In-flight messages queued again after a lost connection.
    pub resent: u64,
    /// Callbacks waiting for the dispatcher thread.
    pub callback_queue: u64,
}

pub(crate) type MessageFn = dyn FnMut(&Message) + Send;
type PublishFn = dyn FnMut(u64, Result<()>) + Send;

/// The owner of a C client: either one made by [`ClientBuilder`] (freed with the last handle)
/// or a device's (borrowed; the device is kept alive instead).
pub(crate) struct ClientInner {
    pub(crate) raw: *mut sys::tl_client,
    /// `Some` for a device's client, which the device frees.
    pub(crate) device: Option<Arc<DeviceInner>>,
}

// SAFETY: the C ABI allows a client to be used from any thread at once.
unsafe impl Send for ClientInner {}
unsafe impl Sync for ClientInner {}

struct SendClient(*mut sys::tl_client);
// SAFETY: only moved to the thread that frees it.
unsafe impl Send for SendClient {}

impl Drop for ClientInner {
    fn drop(&mut self) {
        if self.device.is_some() {
            return;
        }
        if in_callback() {
            // tl_client_free() may run in a callback, but it would then wait for the closure
            // being destroyed right now: free it from another thread.
            let raw = SendClient(self.raw);
            std::thread::spawn(move || {
                let raw = raw;
                // SAFETY: the last reference is gone; nothing else uses the pointer.
                unsafe { sys::tl_client_free(raw.0) }
            });
        } else {
            // SAFETY: the last reference is gone; nothing else uses the pointer.
            unsafe { sys::tl_client_free(self.raw) }
        }
    }
}

/// An MQTT client: publish, subscribe, and the shadows of other devices (a backend's view).
///
/// `Send + Sync` and cheap to clone (clones share the connection). Made by [`Client::builder`],
/// or [`Device::client`](crate::Device::client) for a device's own connection. The C client is
/// freed when the last clone, [`Subscription`] and [`Shadow`] made from it is dropped, in any
/// order, even inside one of its own closures.
///
/// ```no_run
/// use std::time::Duration;
/// use twinlink::{Client, Qos};
///
/// # fn main() -> Result<(), twinlink::Error> {
/// let client = Client::builder()
///     .broker("mqtt://127.0.0.1:1883")
///     .client_id("backend-1")
///     .connect(Duration::from_secs(5))?;
/// let _subscription = client.subscribe("tl/+/status", Qos::AtLeastOnce, |message| {
///     println!("{}: {:?}", message.topic, message.payload_str());
/// })?;
/// client.publish_wait("alerts/all", b"hello", Qos::AtLeastOnce, false, Duration::from_secs(5))?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            client: ClientConfig::default(),
        }
    }

    /// The C handle, valid while `self` (or a clone) lives.
    pub(crate) fn raw(&self) -> *mut sys::tl_client {
        self.inner.raw
    }

    /// Starts connecting in the background and returns at once; the client then stays connected,
    /// reconnecting after every loss, until [`Client::disconnect`].
    pub fn start(&self) -> Result<()> {
        // SAFETY: raw is valid while self lives.
        check(unsafe { sys::tl_client_start(self.raw()) })
    }

    /// Connects and waits up to `timeout`. After an error the client keeps trying in the
    /// background until [`Client::disconnect`].
    pub fn connect(&self, timeout: Duration) -> Result<()> {
        // SAFETY: raw is valid while self lives.
        check(unsafe { sys::tl_client_connect(self.raw(), millis(timeout)) })
    }

    /// Waits up to `timeout` for queued and in-flight messages, publishes the offline presence,
    /// disconnects and stops reconnecting. Messages not yet sent stay queued for the next
    /// connect.
    pub fn disconnect(&self, timeout: Duration) -> Result<()> {
        // SAFETY: raw is valid while self lives.
        check(unsafe { sys::tl_client_disconnect(self.raw(), millis(timeout)) })
    }

    /// Queues a message and returns its id at once (it is sent in order when connected).
    /// Errors: a bad topic (wildcards), a payload over 256 MiB,
    /// [`ErrorKind::QueueFull`](crate::ErrorKind::QueueFull).
    pub fn publish(&self, topic: &str, payload: impl AsRef<[u8]>, qos: Qos, retain: bool) -> Result<u64> {
        self.publish_raw(topic, payload.as_ref(), qos, retain, None)
    }

    /// As [`Client::publish`], and calls `done(id, result)` once when the publish completes:
    /// `Ok` at the broker's acknowledgement (QoS 1/2) or when written (QoS 0), else `Timeout`,
    /// `Dropped` or `Canceled` (the client freed first). Runs on the dispatcher thread; a panic
    /// in it is caught and reported.
    ///
    /// ```no_run
    /// # fn main() -> twinlink::Result<()> {
    /// # let client = twinlink::Client::builder().broker("mqtt://127.0.0.1:1883").build()?;
    /// use twinlink::Qos;
    /// client.publish_with("cmd/reboot", b"now", Qos::AtLeastOnce, false, |id, result| match result {
    ///     Ok(()) => println!("publish {id} acknowledged"),
    ///     Err(error) => eprintln!("publish {id} failed: {error}"),
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn publish_with(
        &self,
        topic: &str,
        payload: impl AsRef<[u8]>,
        qos: Qos,
        retain: bool,
        done: impl FnOnce(u64, Result<()>) + Send + 'static,
    ) -> Result<u64> {
        let mut once = Some(done);
        let f: Box<PublishFn> = Box::new(move |id, result| {
            if let Some(done) = once.take() {
                done(id, result)
            }
        });
        self.publish_raw(topic, payload.as_ref(), qos, retain, Some(f))
    }

    fn publish_raw(
        &self,
        topic: &str,
        payload: &[u8],
        qos: Qos,
        retain: bool,
        done: Option<Box<PublishFn>>,
    ) -> Result<u64> {
        let topic = c_string("topic", topic)?;
        let (callback, user_data, destroy) = match done {
            Some(f) => (
                Some(publish_trampoline as sys::tl_publish_cb),
                Boxed::<PublishFn>::into_user_data(f),
                Some(Boxed::<PublishFn>::destroy as sys::tl_destroy_cb),
            ),
            None => (None, ptr::null_mut(), None),
        };
        let mut id = 0;
        // SAFETY: valid client, C string and slice; destroy runs on error too.
        check(unsafe {
            sys::tl_client_publish(
                self.raw(),
                topic.as_ptr(),
                payload.as_ptr().cast(),
                payload.len(),
                qos.to_raw(),
                retain.into(),
                callback,
                user_data,
                destroy,
                &mut id,
            )
        })?;
        Ok(id)
    }

    /// Publishes and waits until the publish completes (see [`Client::publish_with`]) or
    /// `timeout` passes; on `Timeout` the message stays queued and may still be sent. May be
    /// called from a closure.
    pub fn publish_wait(
        &self,
        topic: &str,
        payload: impl AsRef<[u8]>,
        qos: Qos,
        retain: bool,
        timeout: Duration,
    ) -> Result<()> {
        let topic = c_string("topic", topic)?;
        let payload = payload.as_ref();
        // SAFETY: valid client, C string and slice.
        check(unsafe {
            sys::tl_client_publish_wait(
                self.raw(),
                topic.as_ptr(),
                payload.as_ptr().cast(),
                payload.len(),
                qos.to_raw(),
                retain.into(),
                millis(timeout),
            )
        })
    }

    /// Calls `f` for every message whose topic matches `filter` (`+` and `#` wildcards), on the
    /// dispatcher thread, until the returned [`Subscription`] is dropped. When connected, waits
    /// for the broker's acknowledgement (the operation timeout); the subscription is renewed
    /// after every reconnect. A panic in `f` is caught and reported.
    pub fn subscribe(&self, filter: &str, qos: Qos, f: impl FnMut(&Message) + Send + 'static) -> Result<Subscription> {
        let filter = c_string("topic filter", filter)?;
        let user_data = Boxed::<MessageFn>::into_user_data(Box::new(f));
        let mut id = 0;
        // SAFETY: valid client and C string; destroy matches user_data and runs on error too.
        check(unsafe {
            sys::tl_client_subscribe(
                self.raw(),
                filter.as_ptr(),
                qos.to_raw(),
                Some(message_trampoline),
                user_data,
                Some(Boxed::<MessageFn>::destroy),
                &mut id,
            )
        })?;
        Ok(Subscription {
            client: self.clone(),
            id,
            active: true,
        })
    }

    /// The client's counters.
    pub fn stats(&self) -> Result<ClientStats> {
        let mut raw = sys::tl_client_stats {
            struct_size: std::mem::size_of::<sys::tl_client_stats>(),
            ..Default::default()
        };
        // SAFETY: valid client; struct_size set.
        check(unsafe { sys::tl_client_get_stats(self.raw(), &mut raw) })?;
        Ok(ClientStats {
            messages_out: raw.messages_out,
            bytes_out: raw.bytes_out,
            messages_in: raw.messages_in,
            bytes_in: raw.bytes_in,
            connects: raw.connects,
            reconnects: raw.reconnects,
            connect_failures: raw.connect_failures,
            queued_messages: raw.queued_messages,
            queued_bytes: raw.queued_bytes,
            inflight: raw.inflight,
            dropped: raw.dropped,
            rejected: raw.rejected,
            ack_timeouts: raw.ack_timeouts,
            resent: raw.resent,
            callback_queue: raw.callback_queue,
        })
    }

    /// The current connection state.
    pub fn state(&self) -> ConnectionState {
        // SAFETY: valid client.
        ConnectionState::from_raw(unsafe { sys::tl_client_state(self.raw()) })
    }

    /// The client id in use (the generated `tl-...` one when none was set).
    pub fn id(&self) -> String {
        // SAFETY: borrowed until tl_client_free, which cannot run while self lives.
        let id = unsafe { sys::tl_client_id(self.raw()) };
        if id.is_null() {
            return String::new();
        }
        // SAFETY: a C string borrowed while self lives.
        unsafe { CStr::from_ptr(id) }.to_string_lossy().into_owned()
    }

    /// The classic shadow of device `device_id`, with the default options (for a named shadow or
    /// other options, see [`Shadow::builder`]). A backend reads it with [`Shadow::get`] and asks
    /// for changes with [`Shadow::desire`].
    pub fn shadow(&self, device_id: &str) -> Result<Shadow> {
        ShadowBuilder::with_config(device_id, ShadowConfig::default()).build(self)
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id())
            .field("state", &self.state())
            .finish()
    }
}

/// Options of a [`Client`]; made by [`Client::builder`]. Every `tl_client_options_*` setter of
/// the C ABI has a method here.
///
/// ```no_run
/// use std::time::Duration;
/// use twinlink::{Client, LogLevel, MqttVersion, Overflow};
///
/// # fn main() -> Result<(), twinlink::Error> {
/// let client = Client::builder()
///     .broker("mqtts://broker.example.com")
///     .client_id("backend-1")
///     .credentials("backend", Some("secret"))
///     .tls_ca(Some("ca.pem".as_ref()), None)
///     .mqtt_version(MqttVersion::V5)
///     .keepalive(Duration::from_secs(60))
///     .offline_queue(1000, 1 << 20, Overflow::DropOldest)
///     .on_log(LogLevel::Warning, |level, line| eprintln!("{level:?} {line}"))
///     .build()?;
/// client.connect(Duration::from_secs(10))?;
/// # Ok(())
/// # }
/// ```
pub struct ClientBuilder {
    client: ClientConfig,
}

impl ClientBuilder {
    client_builder_methods!();

    /// Creates the client without connecting.
    pub fn build(self) -> Result<Client> {
        let options = self.client.into_raw()?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid options (copied by the call); raw written on success.
        check(unsafe { sys::tl_client_new(&mut raw, options.0) })?;
        Ok(Client {
            inner: Arc::new(ClientInner { raw, device: None }),
        })
    }

    /// Creates the client and connects, waiting up to `timeout`.
    pub fn connect(self, timeout: Duration) -> Result<Client> {
        let client = self.build()?;
        client.connect(timeout)?;
        Ok(client)
    }
}

/// A subscription's registration: dropping it unsubscribes (and drops the closure). It keeps
/// its client alive. It may be dropped inside its own closure.
///
/// ```no_run
/// # fn main() -> twinlink::Result<()> {
/// # let client = twinlink::Client::builder().broker("mqtt://127.0.0.1:1883").build()?;
/// let subscription = client.subscribe("alerts/#", twinlink::Qos::AtMostOnce, |message| {
///     println!("{}", message.topic);
/// })?;
/// // ...
/// subscription.unsubscribe()?; // or drop(subscription)
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping the subscription unsubscribes at once"]
pub struct Subscription {
    client: Client,
    id: u64,
    active: bool,
}

impl Subscription {
    /// The subscription id of the C ABI.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The client this subscription belongs to.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Unsubscribes now, reporting an error (dropping does the same and ignores it). When it
    /// returns, the closure will not be called again.
    pub fn unsubscribe(mut self) -> Result<()> {
        self.active = false;
        // SAFETY: valid client.
        check(unsafe { sys::tl_client_unsubscribe(self.client.raw(), self.id) })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.active {
            // SAFETY: valid client (self.client keeps it); an unknown id is only an error.
            unsafe { sys::tl_client_unsubscribe(self.client.raw(), self.id) };
        }
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("brokers", &self.client.brokers)
            .field("client_id", &self.client.client_id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("id", &self.id).finish()
    }
}

unsafe extern "C" fn message_trampoline(message: *const sys::tl_message, user_data: *mut c_void) {
    guard("message", || {
        // SAFETY: C passes a valid message for the call.
        let message = unsafe { Message::from_raw(&*message) };
        // SAFETY: user_data was made by Boxed::<MessageFn>::into_user_data.
        unsafe { Boxed::<MessageFn>::with(user_data, |f| f(&message)) };
    });
}

unsafe extern "C" fn publish_trampoline(id: u64, status: sys::tl_status, user_data: *mut c_void) {
    guard("publish", || {
        let result = if status == sys::TL_OK {
            Ok(())
        } else {
            Err(Error::with_message(status, format!("publish {id}")))
        };
        // SAFETY: user_data was made by Boxed::<PublishFn>::into_user_data.
        unsafe { Boxed::<PublishFn>::with(user_data, |f| f(id, result)) };
    });
}

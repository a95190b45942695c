use std::ffi::{c_char, c_void};
use std::path::Path;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use twinlink_sys as sys;

use crate::callback::{guard, in_callback, Boxed};
use crate::client::{Client, ClientInner};
use crate::device::DeviceInner;
use crate::error::{check, Error, Result};
use crate::options::{borrowed_text, Profile, ShadowConfig};
use crate::util::{c_string, millis, take_string};

type DeltaFn = dyn FnMut(Value, u64) + Send;
type ChangeFn = dyn FnMut(Value) + Send;

/// What keeps the C object a shadow is bound to alive.
pub(crate) enum ShadowOwner {
    /// A device's shadow: borrowed from the device, which frees it (held only to keep it).
    Device(#[allow(dead_code)] Arc<DeviceInner>),
    /// A shadow made by [`ShadowBuilder::build`]: freed before its client.
    Client(Arc<ClientInner>),
}

/// The owner of a C shadow; shared by the [`Shadow`] clones and their [`DeltaHandler`]s.
pub(crate) struct ShadowInner {
    pub(crate) raw: *mut sys::tl_shadow,
    owner: Option<ShadowOwner>,
}

// SAFETY: the C ABI allows a shadow to be used from any thread at once; what it is bound to is
// kept alive by `owner`.
unsafe impl Send for ShadowInner {}
unsafe impl Sync for ShadowInner {}

struct SendShadow(*mut sys::tl_shadow);
// SAFETY: only moved to the thread that frees it.
unsafe impl Send for SendShadow {}

impl Drop for ShadowInner {
    fn drop(&mut self) {
        let Some(ShadowOwner::Client(client)) = self.owner.take() else {
            return;
        };
        if in_callback() {
            // tl_shadow_free() must not run in one of the shadow's callbacks: free it from
            // another thread, then let go of the client (in that order).
            let raw = SendShadow(self.raw);
            std::thread::spawn(move || {
                let raw = raw;
                // SAFETY: the last reference is gone; the client is still alive.
                unsafe { sys::tl_shadow_free(raw.0) };
                drop(client);
            });
        } else {
            // SAFETY: the last reference is gone; the client is still alive.
            unsafe { sys::tl_shadow_free(self.raw) };
            drop(client);
        }
    }
}

/// One shadow of a device: report state, read the document, follow deltas.
///
/// A device's own shadows come from [`Device::shadow`](crate::Device::shadow) and
/// [`Device::named_shadow`](crate::Device::named_shadow); the shadows of other devices (a
/// backend's view) from [`Client::shadow`] and [`Shadow::builder`].
///
/// `Send + Sync` and cheap to clone; it keeps its device or client alive. Every method may be
/// called from any thread, including from inside a delta closure.
#[derive(Clone)]
pub struct Shadow {
    pub(crate) inner: Arc<ShadowInner>,
}

/// Options of a shadow bound to a [`Client`]; made by [`Shadow::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use twinlink::{Client, Shadow};
///
/// # fn main() -> Result<(), twinlink::Error> {
/// let backend = Client::builder().broker("mqtt://127.0.0.1:1883").connect(Duration::from_secs(5))?;
/// let config = Shadow::builder("sensor-1")
///     .name("config")
///     .request_timeout(Duration::from_secs(5))
///     .build(&backend)?;
/// config.desire(&serde_json::json!({"interval": 10}), Duration::from_secs(5))?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ShadowBuilder {
    device_id: String,
    config: ShadowConfig,
}

impl ShadowBuilder {
    pub(crate) fn with_config(device_id: &str, config: ShadowConfig) -> ShadowBuilder {
        ShadowBuilder {
            device_id: device_id.to_string(),
            config,
        }
    }

    /// The shadow's name (1 to 128 of `A-Z a-z 0-9 _ : . -`); the classic shadow when not set.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = Some(name.into());
        self
    }

    /// The topic profile (default [`Profile::Twinlink`] with prefix `tl`).
    pub fn profile(mut self, profile: Profile) -> Self {
        let prefix = self.config.profile.take().and_then(|(_, prefix)| prefix);
        self.config.profile = Some((profile, prefix));
        self
    }

    /// The topic prefix of [`Profile::Twinlink`] (default `tl`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        let profile = self
            .config
            .profile
            .take()
            .map_or(Profile::Twinlink, |(profile, _)| profile);
        self.config.profile = Some((profile, Some(prefix.into())));
        self
    }

    /// How long an update may go unanswered before it is resent, at least 100 ms. Default 10 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = Some(timeout);
        self
    }

    /// A file that keeps the last known document (written atomically after each change), read
    /// back at the next start.
    pub fn persist_path(mut self, path: impl AsRef<Path>) -> Self {
        self.config.persist_path = Some(path.as_ref().into());
        self
    }

    /// Binds the shadow to `client` (subscribing, which waits for the broker when connected).
    /// The shadow keeps the client alive.
    pub fn build(self, client: &Client) -> Result<Shadow> {
        let device = c_string("device id", &self.device_id)?;
        let options = self.config.into_raw()?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid client, C string and options (copied); raw written on success.
        check(unsafe { sys::tl_shadow_new(&mut raw, client.raw(), device.as_ptr(), options.0) })?;
        Ok(Shadow {
            inner: Arc::new(ShadowInner {
                raw,
                owner: Some(ShadowOwner::Client(client.inner.clone())),
            }),
        })
    }
}

impl Shadow {
    pub(crate) fn of_device(device: Arc<DeviceInner>, raw: *mut sys::tl_shadow) -> Shadow {
        Shadow {
            inner: Arc::new(ShadowInner {
                raw,
                owner: Some(ShadowOwner::Device(device)),
            }),
        }
    }

    /// Starts configuring a shadow of device `device_id` on a [`Client`] (see
    /// [`ShadowBuilder`]).
    pub fn builder(device_id: &str) -> ShadowBuilder {
        ShadowBuilder::with_config(device_id, ShadowConfig::default())
    }

    /// The C shadow (valid while `self` lives), for the async module.
    pub(crate) fn raw(&self) -> *mut sys::tl_shadow {
        self.inner.raw
    }

    /// Merges `reported` (which must serialize to a JSON object; `null` values delete keys) into
    /// the reported state and waits up to `timeout` for the cloud to accept it. Returns the
    /// update/accepted document. Offline, the report is queued and sent after reconnecting; on
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) it stays queued.
    pub fn report(&self, reported: &impl Serialize, timeout: Duration) -> Result<Value> {
        let json = c_string("report", &serde_json::to_string(reported)?)?;
        let mut accepted: *mut c_char = ptr::null_mut();
        // SAFETY: valid shadow and C string; accepted is ours to free on success.
        let status = unsafe { sys::tl_shadow_report(self.raw(), json.as_ptr(), millis(timeout), &mut accepted) };
        check(status)?;
        // SAFETY: allocated by twinlink for us.
        parse(unsafe { take_string(accepted) })
    }

    /// As [`Shadow::report`], for the desired section (what a backend asks of the device).
    pub fn desire(&self, desired: &impl Serialize, timeout: Duration) -> Result<Value> {
        let json = c_string("desired state", &serde_json::to_string(desired)?)?;
        let mut accepted: *mut c_char = ptr::null_mut();
        // SAFETY: as in report.
        check(unsafe { sys::tl_shadow_desire(self.raw(), json.as_ptr(), millis(timeout), &mut accepted) })?;
        // SAFETY: allocated by twinlink for us.
        parse(unsafe { take_string(accepted) })
    }

    /// As [`Shadow::report`] without waiting: queued at once (offline, sent after reconnecting, in
    /// order). Errors only for a value that is not a JSON object.
    pub fn report_nowait(&self, reported: &impl Serialize) -> Result<()> {
        let json = c_string("report", &serde_json::to_string(reported)?)?;
        // SAFETY: valid shadow and C string.
        check(unsafe { sys::tl_shadow_report_async(self.raw(), json.as_ptr()) })
    }

    /// As [`Shadow::desire`] without waiting (see [`Shadow::report_nowait`]).
    pub fn desire_nowait(&self, desired: &impl Serialize) -> Result<()> {
        let json = c_string("desired state", &serde_json::to_string(desired)?)?;
        // SAFETY: valid shadow and C string.
        check(unsafe { sys::tl_shadow_desire_async(self.raw(), json.as_ptr()) })
    }

    /// Fetches the document from the cloud (and updates the local copy):
    /// `{"state":{"desired":{},"reported":{},"delta":{}},"version":N,...}`.
    pub fn get(&self, timeout: Duration) -> Result<Value> {
        let mut document: *mut c_char = ptr::null_mut();
        // SAFETY: valid shadow; document is ours to free on success.
        check(unsafe { sys::tl_shadow_get(self.raw(), millis(timeout), &mut document) })?;
        // SAFETY: allocated by twinlink for us.
        parse(unsafe { take_string(document) })
    }

    /// The local copy of the document, with reports not yet accepted merged in. Never waits for
    /// the network.
    pub fn state(&self) -> Result<Value> {
        let mut document: *mut c_char = ptr::null_mut();
        // SAFETY: valid shadow; document is ours to free on success.
        check(unsafe { sys::tl_shadow_state(self.raw(), &mut document) })?;
        // SAFETY: allocated by twinlink for us.
        parse(unsafe { take_string(document) })
    }

    /// Calls `f(delta, version)` for the pending delta (if any) and every new one, on the
    /// device's dispatcher thread, until the returned guard is dropped. `f` may call any method
    /// of this crate (reporting from it is the usual pattern). A panic in `f` is caught and
    /// reported, never propagated.
    pub fn on_delta(&self, f: impl FnMut(Value, u64) + Send + 'static) -> Result<DeltaHandler> {
        self.register_delta(None, true, Box::new(f))
    }

    /// As [`Shadow::on_delta`] with a choice: only for deltas that contain the JSON pointer
    /// `pointer` when given, and without the delta pending at registration when `initial` is
    /// `false` (only deltas that come after this call).
    pub fn on_delta_with(
        &self,
        pointer: Option<&str>,
        initial: bool,
        f: impl FnMut(Value, u64) + Send + 'static,
    ) -> Result<DeltaHandler> {
        self.register_delta(pointer, initial, Box::new(f))
    }

    /// As [`Shadow::on_delta`], only for deltas that contain the JSON pointer `pointer` (e.g.
    /// `"/led"`), with the value there.
    pub fn on_delta_at(&self, pointer: &str, f: impl FnMut(Value, u64) + Send + 'static) -> Result<DeltaHandler> {
        self.register_delta(Some(pointer), true, Box::new(f))
    }

    /// As [`Shadow::on_delta`], with the delta deserialized into `T` (usually a struct of
    /// `Option` fields, since a delta holds only what differs). A delta that does not
    /// deserialize is passed as an [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)
    /// error naming the version and what did not fit: never a panic.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), twinlink::Error> {
    /// # let device = twinlink::Device::builder("sensor-1").broker("mqtt://127.0.0.1:1883").build()?;
    /// #[derive(serde::Deserialize)]
    /// struct Config {
    ///     interval: Option<u32>,
    ///     led: Option<bool>,
    /// }
    /// let _handler = device.shadow()?.on_delta_as(|delta: twinlink::Result<Config>, version| match delta {
    ///     Ok(config) => println!("v{version}: interval {:?}, led {:?}", config.interval, config.led),
    ///     Err(error) => eprintln!("ignored: {error}"),
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_delta_as<T: DeserializeOwned>(
        &self,
        mut f: impl FnMut(Result<T>, u64) + Send + 'static,
    ) -> Result<DeltaHandler> {
        self.register_delta(
            None,
            true,
            Box::new(move |delta, version| {
                let typed = serde_json::from_value::<T>(delta).map_err(|error| {
                    Error::invalid(format!(
                        "the delta of version {version} does not deserialize into {}: {error}",
                        std::any::type_name::<T>()
                    ))
                });
                f(typed, version)
            }),
        )
    }

    /// Calls `f(document)` after every accepted change of the local document (the form of
    /// [`Shadow::state`]), on the dispatcher thread, until the returned handler is dropped. A
    /// panic in `f` is caught and reported.
    ///
    /// ```no_run
    /// # fn main() -> twinlink::Result<()> {
    /// # let device = twinlink::Device::builder("sensor-1").broker("mqtt://127.0.0.1:1883").build()?;
    /// let _changes = device.shadow()?.on_change(|document| println!("now version {}", document["version"]))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_change(&self, f: impl FnMut(Value) + Send + 'static) -> Result<DeltaHandler> {
        let user_data = Boxed::<ChangeFn>::into_user_data(Box::new(f));
        let mut id = 0;
        // SAFETY: valid shadow; destroy matches user_data and runs on failure too.
        check(unsafe {
            sys::tl_shadow_on_change(
                self.raw(),
                Some(change_trampoline),
                user_data,
                Some(Boxed::<ChangeFn>::destroy),
                &mut id,
            )
        })?;
        Ok(DeltaHandler {
            shadow: self.clone(),
            id,
        })
    }

    /// Sends a full update request as given (e.g. `{"state":{"desired":{"a":1}},"version":7}`)
    /// and waits for the answer; returns the update/accepted document. Needs a connection.
    /// Errors: [`ErrorKind::Conflict`](crate::ErrorKind::Conflict) for a stale version,
    /// `Rejected`, `NotConnected`, `Timeout`.
    pub fn update(&self, request: &impl Serialize, timeout: Duration) -> Result<Value> {
        let json = c_string("update request", &serde_json::to_string(request)?)?;
        let mut accepted: *mut c_char = ptr::null_mut();
        // SAFETY: valid shadow and C string; accepted is ours to free on success.
        check(unsafe { sys::tl_shadow_update(self.raw(), json.as_ptr(), millis(timeout), &mut accepted) })?;
        // SAFETY: allocated by twinlink for us.
        parse(unsafe { take_string(accepted) })
    }

    /// Deletes the shadow in the cloud. Errors: `NotFound`, `NotConnected`, `Timeout`.
    pub fn delete(&self, timeout: Duration) -> Result<()> {
        // SAFETY: valid shadow.
        check(unsafe { sys::tl_shadow_delete(self.raw(), millis(timeout)) })
    }

    fn register_delta(&self, pointer: Option<&str>, initial: bool, f: Box<DeltaFn>) -> Result<DeltaHandler> {
        let pointer = pointer.map(|p| c_string("JSON pointer", p)).transpose()?;
        let user_data = Boxed::<DeltaFn>::into_user_data(f);
        let mut id = 0;
        // SAFETY: valid shadow; destroy matches user_data and runs on failure too.
        check(unsafe {
            sys::tl_shadow_on_delta_ex(
                self.raw(),
                pointer.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
                if initial { 0 } else { sys::TL_SHADOW_DELTA_NO_INITIAL },
                Some(delta_trampoline),
                user_data,
                Some(Boxed::<DeltaFn>::destroy),
                &mut id,
            )
        })?;
        Ok(DeltaHandler {
            shadow: self.clone(),
            id,
        })
    }
}

impl std::fmt::Debug for DeltaHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaHandler").field("id", &self.id).finish()
    }
}

impl std::fmt::Debug for Shadow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shadow").finish_non_exhaustive()
    }
}

/// A delta or change closure's registration; dropping it unregisters the closure (and drops
/// it). It keeps its shadow alive. Dropped inside a closure of twinlink's (its own included), the
/// removal is done from another thread once that closure has returned: the closure may then be
/// called once more meanwhile.
#[must_use = "dropping the handler unregisters the closure at once"]
pub struct DeltaHandler {
    shadow: Shadow,
    id: u64,
}

impl Drop for DeltaHandler {
    fn drop(&mut self) {
        if in_callback() {
            // tl_shadow_remove_handler() destroys the closure, which may be the one running on
            // this thread: remove it from another thread, which waits for the dispatcher.
            let shadow = self.shadow.clone();
            let id = self.id;
            std::thread::spawn(move || {
                // SAFETY: the shadow is alive (the clone keeps it). Unknown ids are ignored.
                unsafe { sys::tl_shadow_remove_handler(shadow.raw(), id) };
            });
        } else {
            // SAFETY: the shadow is alive (self.shadow keeps it). Unknown ids are ignored.
            unsafe { sys::tl_shadow_remove_handler(self.shadow.raw(), self.id) };
        }
    }
}

unsafe extern "C" fn delta_trampoline(delta_json: *const c_char, version: u64, user_data: *mut c_void) {
    guard("delta", || {
        // SAFETY: a C string borrowed for the call.
        let text = unsafe { borrowed_text(delta_json) };
        let delta = serde_json::from_str(&text).unwrap_or(Value::Null);
        // SAFETY: user_data was made by Boxed::<DeltaFn>::into_user_data.
        unsafe { Boxed::<DeltaFn>::with(user_data, |f| f(delta, version)) };
    });
}

unsafe extern "C" fn change_trampoline(document_json: *const c_char, user_data: *mut c_void) {
    guard("change", || {
        // SAFETY: a C string borrowed for the call.
        let text = unsafe { borrowed_text(document_json) };
        let document = serde_json::from_str(&text).unwrap_or(Value::Null);
        // SAFETY: user_data was made by Boxed::<ChangeFn>::into_user_data.
        unsafe { Boxed::<ChangeFn>::with(user_data, |f| f(document)) };
    });
}

fn parse(text: String) -> Result<Value> {
    if text.is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_str(&text)?)
}

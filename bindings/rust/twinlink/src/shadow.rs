use std::ffi::{c_char, c_void, CStr};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use twinlink_sys as sys;

use crate::callback::{guard, Boxed};
use crate::device::DeviceInner;
use crate::error::{check, Result};
use crate::util::{c_string, millis, take_string};

type DeltaFn = dyn FnMut(Value, u64) + Send;

/// One shadow of a device: report state, read the document, follow deltas.
///
/// `Send + Sync` and cheap to clone; it keeps its device alive. Every method may be called from
/// any thread, including from inside a delta closure.
#[derive(Clone)]
pub struct Shadow {
    // Keeps the device, which owns the C shadow, alive.
    _device: Arc<DeviceInner>,
    raw: *mut sys::tl_shadow,
}

// SAFETY: the C ABI allows a shadow to be used from any thread at once; it is borrowed from the
// device, which `device` keeps alive.
unsafe impl Send for Shadow {}
unsafe impl Sync for Shadow {}

impl Shadow {
    pub(crate) fn new(device: Arc<DeviceInner>, raw: *mut sys::tl_shadow) -> Shadow {
        Shadow { _device: device, raw }
    }

    /// The C shadow (valid while `self` lives), for the async module.
    pub(crate) fn raw(&self) -> *mut sys::tl_shadow {
        self.raw
    }

    /// Merges `reported` (which must serialize to a JSON object; `null` values delete keys) into
    /// the reported state and waits up to `timeout` for the cloud to accept it. Returns the
    /// update/accepted document. Offline, the report is queued and sent after reconnecting; on
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) it stays queued.
    pub fn report(&self, reported: &impl Serialize, timeout: Duration) -> Result<Value> {
        let json = c_string("report", &serde_json::to_string(reported)?)?;
        let mut accepted: *mut c_char = ptr::null_mut();
        // SAFETY: valid shadow and C string; accepted is ours to free on success.
        let status = unsafe { sys::tl_shadow_report(self.raw, json.as_ptr(), millis(timeout), &mut accepted) };
        check(status)?;
        // SAFETY: allocated by twinlink for us.
        parse(unsafe { take_string(accepted) })
    }

    /// As [`Shadow::report`], for the desired section (what a backend asks of the device).
    pub fn desire(&self, desired: &impl Serialize, timeout: Duration) -> Result<Value> {
        let json = c_string("desired state", &serde_json::to_string(desired)?)?;
        let mut accepted: *mut c_char = ptr::null_mut();
        // SAFETY: as in report.
        check(unsafe { sys::tl_shadow_desire(self.raw, json.as_ptr(), millis(timeout), &mut accepted) })?;
        // SAFETY: allocated by twinlink for us.
        parse(unsafe { take_string(accepted) })
    }

    /// Fetches the document from the cloud (and updates the local copy):
    /// `{"state":{"desired":{},"reported":{},"delta":{}},"version":N,...}`.
    pub fn get(&self, timeout: Duration) -> Result<Value> {
        let mut document: *mut c_char = ptr::null_mut();
        // SAFETY: valid shadow; document is ours to free on success.
        check(unsafe { sys::tl_shadow_get(self.raw, millis(timeout), &mut document) })?;
        // SAFETY: allocated by twinlink for us.
        parse(unsafe { take_string(document) })
    }

    /// The local copy of the document, with reports not yet accepted merged in. Never waits for
    /// the network.
    pub fn state(&self) -> Result<Value> {
        let mut document: *mut c_char = ptr::null_mut();
        // SAFETY: valid shadow; document is ours to free on success.
        check(unsafe { sys::tl_shadow_state(self.raw, &mut document) })?;
        // SAFETY: allocated by twinlink for us.
        parse(unsafe { take_string(document) })
    }

    /// Calls `f(delta, version)` for the pending delta (if any) and every new one, on the
    /// device's dispatcher thread, until the returned guard is dropped. `f` may call any method
    /// of this crate (reporting from it is the usual pattern). A panic in `f` is caught and
    /// reported, never propagated.
    pub fn on_delta(&self, f: impl FnMut(Value, u64) + Send + 'static) -> Result<DeltaHandler> {
        self.register_delta(None, Box::new(f))
    }

    /// As [`Shadow::on_delta`], only for deltas that contain the JSON pointer `pointer` (e.g.
    /// `"/led"`), with the value there.
    pub fn on_delta_at(&self, pointer: &str, f: impl FnMut(Value, u64) + Send + 'static) -> Result<DeltaHandler> {
        self.register_delta(Some(pointer), Box::new(f))
    }

    fn register_delta(&self, pointer: Option<&str>, f: Box<DeltaFn>) -> Result<DeltaHandler> {
        let pointer = pointer.map(|p| c_string("JSON pointer", p)).transpose()?;
        let user_data = Boxed::<DeltaFn>::into_user_data(f);
        let mut id = 0;
        // SAFETY: valid shadow; destroy matches user_data and runs on failure too.
        check(unsafe {
            sys::tl_shadow_on_delta_ex(
                self.raw,
                pointer.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
                0,
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

impl std::fmt::Debug for Shadow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shadow").finish_non_exhaustive()
    }
}

/// A delta closure's registration; dropping it unregisters the closure (and drops it). Do not
/// drop it from inside its own closure.
#[must_use = "dropping the handler unregisters the closure at once"]
pub struct DeltaHandler {
    shadow: Shadow,
    id: u64,
}

impl Drop for DeltaHandler {
    fn drop(&mut self) {
        // SAFETY: the shadow is alive (self.shadow keeps the device). Unknown ids are ignored.
        unsafe { sys::tl_shadow_remove_handler(self.shadow.raw, self.id) };
    }
}

unsafe extern "C" fn delta_trampoline(delta_json: *const c_char, version: u64, user_data: *mut c_void) {
    guard("delta", || {
        // SAFETY: a C string borrowed for the call.
        let text = unsafe { CStr::from_ptr(delta_json) }.to_string_lossy();
        let delta = serde_json::from_str(&text).unwrap_or(Value::Null);
        // SAFETY: user_data was made by Boxed::<DeltaFn>::into_user_data.
        unsafe { Boxed::<DeltaFn>::with(user_data, |f| f(delta, version)) };
    });
}

fn parse(text: String) -> Result<Value> {
    if text.is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_str(&text)?)
}

//! [`Runtime`]: dispatch and timer threads shared by many devices and clients (`tl_runtime`).

use std::ptr;
use std::sync::Arc;

use twinlink_sys as sys;

use crate::error::{check, Result};

/// Threads shared by many devices and clients in one process.
///
/// Without a runtime every device owns a dispatcher thread for its closures and a timer thread,
/// besides its connection thread. Devices and clients built with
/// [`runtime`](crate::DeviceBuilder::runtime) run their closures on the runtime's dispatch
/// threads instead, each device's one at a time and in order (a slow closure delays only the later
/// closures of its own device, until as many devices block in closures as there are threads), and
/// wait for their deadlines on its one timer thread. Their connection loops, shadows and datapoint
/// batchers run on the runtime's two network threads, so a device on a runtime adds no thread.
///
/// Clones share one runtime. The devices hold references of their own in the C library, so the
/// last `Runtime` may be dropped before the devices using it: its threads end when the last
/// device goes.
///
/// ```no_run
/// use std::time::Duration;
///
/// # fn main() -> Result<(), twinlink::Error> {
/// let runtime = twinlink::Runtime::new(4)?;
/// let devices = (0..500)
///     .map(|i| {
///         twinlink::Device::builder(format!("sensor-{i}"))
///             .broker("mqtt://127.0.0.1:1883")
///             .runtime(&runtime)
///             .build()
///     })
///     .collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(runtime.clients()?, 500);
/// for device in &devices {
///     device.connect(Duration::from_secs(10))?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeRef>,
    threads: u32,
}

/// The reference to the C runtime that the Rust side holds, dropped once.
struct RuntimeRef(*mut sys::tl_runtime);

// SAFETY: every tl_runtime function may be called from any thread (runtime.h), and the pointer is
// only freed by Drop, which runs once, after every other use of this reference.
unsafe impl Send for RuntimeRef {}
// SAFETY: the calls made through a shared reference, tl_runtime_clients() and
// tl_client_options_set_runtime() (which copies the C handle's reference into the options, an atomic
// count), may be made from any thread at once (runtime.h); nothing here mutates the pointer.
unsafe impl Sync for RuntimeRef {}

impl Drop for RuntimeRef {
    fn drop(&mut self) {
        // SAFETY: our own reference, dropped once; C keeps the runtime while clients use it.
        unsafe { sys::tl_runtime_free(self.0) }
    }
}

impl Runtime {
    /// Starts a runtime with `threads` dispatch threads (1 to 256; 0 chooses 2) and one timer
    /// thread. Fails with [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) above 256.
    pub fn new(threads: u32) -> Result<Runtime> {
        let mut raw = ptr::null_mut();
        // SAFETY: writes a new runtime on success.
        check(unsafe { sys::tl_runtime_new(&mut raw, threads) })?;
        Ok(Runtime {
            inner: Arc::new(RuntimeRef(raw)),
            threads: if threads == 0 { 2 } else { threads },
        })
    }

    /// The number of dispatch threads.
    pub fn threads(&self) -> u32 {
        self.threads
    }

    /// The number of devices and clients using the runtime now (built and not yet dropped).
    pub fn clients(&self) -> Result<usize> {
        let mut count = 0;
        // SAFETY: a live runtime; writes the count.
        check(unsafe { sys::tl_runtime_clients(self.inner.0, &mut count) })?;
        Ok(count)
    }

    pub(crate) fn raw(&self) -> *mut sys::tl_runtime {
        self.inner.0
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("threads", &self.threads)
            .field("clients", &self.clients().ok())
            .finish()
    }
}

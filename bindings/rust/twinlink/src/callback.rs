//! Closures handed to C. Each is boxed, passed as `user_data` together with a destroy function
//! that drops the box, and called through a trampoline that catches panics: a panic never
//! unwinds into C. It is reported on stderr and counted (`callback_panics()`), and the callback
//! returns as if it had completed.

use std::any::Any;
use std::cell::Cell;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

static PANICS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static IN_CALLBACK: Cell<u32> = const { Cell::new(0) };
}

/// How many times a closure given to twinlink panicked in this process. Such a panic is caught
/// before it reaches the C library, written to stderr, and otherwise ignored.
pub fn callback_panics() -> u64 {
    PANICS.load(Ordering::Relaxed)
}

/// Whether the current thread is inside a callback of twinlink's (where a device must not be
/// freed).
pub(crate) fn in_callback() -> bool {
    IN_CALLBACK.with(|depth| depth.get() > 0)
}

/// Runs `f` as the body of a C callback: marks the thread, catches a panic.
pub(crate) fn guard<R>(what: &str, f: impl FnOnce() -> R) -> Option<R> {
    IN_CALLBACK.with(|depth| depth.set(depth.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_CALLBACK.with(|depth| depth.set(depth.get() - 1));
    match result {
        Ok(value) => Some(value),
        Err(payload) => {
            PANICS.fetch_add(1, Ordering::Relaxed);
            eprintln!("twinlink: the {what} callback panicked: {}", panic_message(&*payload));
            None
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(not a string)"
    }
}

/// A closure boxed for C. The Mutex makes an `FnMut` safe to call from whichever thread C uses
/// (callbacks of one client never overlap, so it is never contended).
pub(crate) struct Boxed<F: ?Sized>(pub Mutex<Box<F>>);

impl<F: ?Sized> Boxed<F> {
    pub fn into_user_data(f: Box<F>) -> *mut c_void {
        Box::into_raw(Box::new(Boxed(Mutex::new(f)))) as *mut c_void
    }

    /// # Safety
    /// `user_data` comes from `into_user_data` of the same `F` and is not yet destroyed.
    pub unsafe fn with<R>(user_data: *mut c_void, call: impl FnOnce(&mut F) -> R) -> R {
        let boxed = &*(user_data as *const Boxed<F>);
        let mut f = boxed.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        call(&mut f)
    }

    /// The `tl_destroy_cb` of a `user_data` made by `into_user_data`.
    pub unsafe extern "C" fn destroy(user_data: *mut c_void) {
        guard("destroy", || drop(Box::from_raw(user_data as *mut Boxed<F>)));
    }
}

use std::ffi::{c_char, CStr, CString};
use std::time::Duration;

use twinlink_sys as sys;

use crate::error::{Error, Result};

/// A Rust string as a C string; an interior NUL is an invalid argument naming `what`.
pub(crate) fn c_string(what: &str, value: &str) -> Result<CString> {
    CString::new(value).map_err(|_| Error::invalid(format!("{what} {value:?} contains a NUL byte")))
}

/// Calls `f` with `value` as a C string: copied to the stack when it is short, so that the
/// series name of every `record()` costs no allocation; to the heap otherwise. An interior NUL
/// is an invalid argument naming `what`.
pub(crate) fn with_c_str<R>(what: &str, value: &str, f: impl FnOnce(&CStr) -> R) -> Result<R> {
    const STACK: usize = 128;
    if value.len() < STACK {
        let mut buffer = [0u8; STACK];
        buffer[..value.len()].copy_from_slice(value.as_bytes());
        match CStr::from_bytes_with_nul(&buffer[..=value.len()]) {
            Ok(text) => Ok(f(text)),
            Err(_) => Err(Error::invalid(format!("{what} {value:?} contains a NUL byte"))),
        }
    } else {
        Ok(f(&c_string(what, value)?))
    }
}

/// A timeout in whole milliseconds for the C ABI (saturating at u32::MAX, about 49 days).
pub(crate) fn millis(timeout: Duration) -> u32 {
    u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)
}

/// Takes a string twinlink returned through `char **out`: copies it and releases the original.
///
/// # Safety
/// `text` is NULL or a string allocated by twinlink that nothing else frees.
pub(crate) unsafe fn take_string(text: *mut c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    let owned = CStr::from_ptr(text).to_string_lossy().into_owned();
    sys::tl_free(text.cast());
    owned
}

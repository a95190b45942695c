use std::ffi::{c_char, CStr, CString};
use std::time::Duration;

use twinlink_sys as sys;

use crate::error::{Error, Result};

/// A Rust string as a C string; an interior NUL is an invalid argument naming `what`.
pub(crate) fn c_string(what: &str, value: &str) -> Result<CString> {
    CString::new(value).map_err(|_| Error::invalid(format!("{what} {value:?} contains a NUL byte")))
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

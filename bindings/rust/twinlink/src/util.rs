use std::ffi::{c_char, CStr, CString};
use std::ptr;
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
#[inline]
pub(crate) fn with_c_str<R>(what: &str, value: &str, f: impl FnOnce(&CStr) -> R) -> Result<R> {
    const STACK: usize = 128;
    let bytes = value.as_bytes();
    if bytes.len() >= STACK {
        return Ok(f(&c_string(what, value)?));
    }
    if bytes.contains(&0) {
        return Err(Error::invalid(format!("{what} {value:?} contains a NUL byte")));
    }
    let mut buffer = std::mem::MaybeUninit::<[u8; STACK]>::uninit();
    let start = buffer.as_mut_ptr().cast::<u8>();
    // SAFETY: bytes.len() + 1 <= STACK bytes are written, then read back as the C string's
    // bytes: no NUL inside (checked above), one at the end.
    let text = unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), start, bytes.len());
        start.add(bytes.len()).write(0);
        CStr::from_bytes_with_nul_unchecked(std::slice::from_raw_parts(start, bytes.len() + 1))
    };
    Ok(f(text))
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

use std::ffi::CStr;
use std::fmt;

use twinlink_sys as sys;

/// What went wrong: one kind per `tl_status` of the C ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A parameter is empty, out of range or malformed (`TL_EINVAL`).
    InvalidArgument,
    /// An allocation failed (`TL_ENOMEM`).
    OutOfMemory,
    /// The operation did not complete in the time given (`TL_ETIMEOUT`).
    Timeout,
    /// The broker could not be reached or refused the connection (`TL_ECONNECT`).
    Connect,
    /// TLS handshake or certificate verification failed (`TL_ETLS`).
    Tls,
    /// The broker refused the credentials (`TL_EAUTH`).
    Auth,
    /// The operation needs a connection and there is none (`TL_ENOTCONN`).
    NotConnected,
    /// The offline queue is full (`TL_EQUEUE_FULL`).
    QueueFull,
    /// Dropped from a full queue (`TL_EDROPPED`).
    Dropped,
    /// Abandoned because the handle was stopped or freed (`TL_ECANCELED`).
    Canceled,
    /// The broker refused a subscription (`TL_ESUBSCRIBE`).
    Subscribe,
    /// Not valid in the handle's current state (`TL_ESTATE`).
    State,
    /// The peer broke the protocol (`TL_EPROTOCOL`).
    Protocol,
    /// A bug in twinlink or an unexpected failure of a dependency (`TL_EINTERNAL`).
    Internal,
    /// A file could not be read or written (`TL_EIO`).
    Io,
    /// The cloud rejected a shadow request (`TL_EREJECTED`).
    Rejected,
    /// A shadow update carried a stale version (`TL_ECONFLICT`).
    Conflict,
    /// The shadow does not exist (`TL_ENOTFOUND`).
    NotFound,
    /// A status this version of the crate does not know (a newer library).
    Unknown(i32),
}

impl ErrorKind {
    pub(crate) fn from_status(status: sys::tl_status) -> ErrorKind {
        match status {
            sys::TL_EINVAL => ErrorKind::InvalidArgument,
            sys::TL_ENOMEM => ErrorKind::OutOfMemory,
            sys::TL_ETIMEOUT => ErrorKind::Timeout,
            sys::TL_ECONNECT => ErrorKind::Connect,
            sys::TL_ETLS => ErrorKind::Tls,
            sys::TL_EAUTH => ErrorKind::Auth,
            sys::TL_ENOTCONN => ErrorKind::NotConnected,
            sys::TL_EQUEUE_FULL => ErrorKind::QueueFull,
            sys::TL_EDROPPED => ErrorKind::Dropped,
            sys::TL_ECANCELED => ErrorKind::Canceled,
            sys::TL_ESUBSCRIBE => ErrorKind::Subscribe,
            sys::TL_ESTATE => ErrorKind::State,
            sys::TL_EPROTOCOL => ErrorKind::Protocol,
            sys::TL_EINTERNAL => ErrorKind::Internal,
            sys::TL_EIO => ErrorKind::Io,
            sys::TL_EREJECTED => ErrorKind::Rejected,
            sys::TL_ECONFLICT => ErrorKind::Conflict,
            sys::TL_ENOTFOUND => ErrorKind::NotFound,
            other => ErrorKind::Unknown(other),
        }
    }
}

/// The error of every fallible call: its kind, the C status code and the library's message
/// (from `tl_last_error()`, which names the bad value and what was expected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    code: i32,
    message: String,
}

impl Error {
    /// The error of a failed C call; reads `tl_last_error()`, so it must run on the thread of
    /// the call, right after it.
    pub(crate) fn last(status: sys::tl_status) -> Error {
        // SAFETY: tl_last_error never returns NULL and the text stays valid until the next call.
        let message = unsafe { CStr::from_ptr(sys::tl_last_error()) }
            .to_string_lossy()
            .into_owned();
        Error::with_message(status, message)
    }

    pub(crate) fn with_message(status: sys::tl_status, message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::from_status(status),
            code: status,
            message: message.into(),
        }
    }

    /// An invalid argument caught on the Rust side, before the C call.
    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::with_message(sys::TL_EINVAL, message)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The `tl_status` value (negative).
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The library's message, naming the bad value and what was expected (may be empty).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: tl_status_str returns static storage, never NULL.
        let name = unsafe { CStr::from_ptr(sys::tl_status_str(self.code)) };
        if self.message.is_empty() {
            write!(f, "{}", name.to_string_lossy())
        } else {
            write!(f, "{}: {}", name.to_string_lossy(), self.message)
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Error {
        Error::invalid(format!("JSON: {error}"))
    }
}

/// The result of every fallible call of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Ok(())` for TL_OK, else the error with the calling thread's last message.
pub(crate) fn check(status: sys::tl_status) -> Result<()> {
    if status == sys::TL_OK {
        Ok(())
    } else {
        Err(Error::last(status))
    }
}

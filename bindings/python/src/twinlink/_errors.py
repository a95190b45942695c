"""The twinlink exceptions: one class per C status code (``tl_status``), under :class:`Error`.

Each also derives from the built-in exception a Python programmer would catch for it:
:class:`Timeout` is a :class:`TimeoutError`, :class:`InvalidArgument` a :class:`ValueError`,
:class:`NotConnected` and the connection failures :class:`ConnectionError`, and so on.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Type

__all__ = [
    "Error",
    "InvalidArgument",
    "OutOfMemory",
    "Timeout",
    "ConnectFailed",
    "TlsError",
    "AuthError",
    "NotConnected",
    "QueueFull",
    "Dropped",
    "Canceled",
    "SubscribeFailed",
    "InvalidState",
    "ProtocolError",
    "InternalError",
    "StorageError",
    "ShadowRejected",
    "Conflict",
    "NotFound",
]


class Error(Exception):
    """A twinlink call failed.

    ``status`` is the C status code (a negative ``tl_status``), ``status_name`` its stable name
    (``"timeout"``, ``"queue full"``, ...) and ``message`` what went wrong.
    """

    status: int = -14  # TL_EINTERNAL, for an Error made without a status
    status_name: str

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message
        self.status_name = _status_name(self.status)

    def __reduce__(self) -> Tuple[Type["Error"], Tuple[str, int]]:  # picklable, for multiprocessing and concurrent.futures
        return (type(self), (self.message, self.status))


class InvalidArgument(Error, ValueError):
    """An argument is out of range, malformed or missing (TL_EINVAL)."""

    status = -1


class OutOfMemory(Error, MemoryError):
    """An allocation failed (TL_ENOMEM)."""

    status = -2


class Timeout(Error, TimeoutError):
    """The operation did not complete in the time given (TL_ETIMEOUT)."""

    status = -3


class ConnectFailed(Error, ConnectionError):
    """The broker could not be reached or refused the connection (TL_ECONNECT)."""

    status = -4


class TlsError(Error, ConnectionError):
    """TLS handshake or certificate verification failed (TL_ETLS)."""

    status = -5


class AuthError(Error, ConnectionError):
    """The broker refused the credentials or the client certificate (TL_EAUTH)."""

    status = -6


class NotConnected(Error, ConnectionError):
    """The operation needs a connection and there is none (TL_ENOTCONN)."""

    status = -7


class QueueFull(Error):
    """The offline queue or the datapoint backlog is full (TL_EQUEUE_FULL)."""

    status = -8


class Dropped(Error):
    """The message was dropped from a full queue (TL_EDROPPED)."""

    status = -9


class Canceled(Error):
    """Abandoned because the client was stopped or closed (TL_ECANCELED)."""

    status = -10


class SubscribeFailed(Error):
    """The broker refused a subscription (TL_ESUBSCRIBE)."""

    status = -11


class InvalidState(Error):
    """Not valid in the object's current state, e.g. after close() (TL_ESTATE)."""

    status = -12


class ProtocolError(Error):
    """The peer sent something that breaks the protocol (TL_EPROTOCOL)."""

    status = -13


class InternalError(Error):
    """A bug in twinlink or an unexpected failure of a dependency (TL_EINTERNAL)."""

    status = -14


class StorageError(Error, OSError):
    """A file (spool, persisted shadow) could not be read or written (TL_EIO)."""

    status = -15


class ShadowRejected(Error):
    """The cloud rejected a shadow request (TL_EREJECTED: 400, 413, 500; see the message)."""

    status = -16


class Conflict(ShadowRejected):
    """A shadow update carried a stale version (409, TL_ECONFLICT)."""

    status = -17


class NotFound(ShadowRejected, LookupError):
    """The shadow does not exist (404, TL_ENOTFOUND)."""

    status = -18


_BY_STATUS: Dict[int, Type[Error]] = {
    cls.status: cls
    for cls in (
        InvalidArgument,
        OutOfMemory,
        Timeout,
        ConnectFailed,
        TlsError,
        AuthError,
        NotConnected,
        QueueFull,
        Dropped,
        Canceled,
        SubscribeFailed,
        InvalidState,
        ProtocolError,
        InternalError,
        StorageError,
        ShadowRejected,
        Conflict,
        NotFound,
    )
}


for _cls in (Error, *_BY_STATUS.values()):
    _cls.__module__ = "twinlink"  # tracebacks name them twinlink.Timeout, not twinlink._errors.Timeout
del _cls


def error_class(status: int) -> Type[Error]:
    """The exception class of a C status code (:class:`Error` for one this version does not know)."""
    return _BY_STATUS.get(status, Error)


def from_status(status: int, message: str) -> Error:
    """The exception for a failed call; used by the native module."""
    return error_class(status)(message or _status_name(status), status)


def _status_name(status: int) -> str:
    from . import _native  # loaded after this module; only needed once an error exists

    return _native.status_name(status)

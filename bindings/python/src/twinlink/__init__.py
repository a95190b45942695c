"""twinlink: device shadows and batched telemetry over MQTT, for Linux IoT devices.

::

    import twinlink

    with twinlink.Device("sensor-42", broker="mqtt://127.0.0.1:1883") as dev:
        dev.shadow.on_delta(lambda delta, version: dev.shadow.report(delta))
        dev.shadow.report({"fw": "1.2.0", "led": "off"})
        dev.datapoints.record("temp", 21.5)

The asyncio API is :mod:`twinlink.aio`. Logs go to the ``logging`` logger "twinlink". The guide is
docs/python.md in the twinlink repository.
"""

import atexit as _atexit

# _errors and _log first: the native module looks them up when it loads.
from ._errors import (
    AuthError,
    Canceled,
    Conflict,
    ConnectFailed,
    Dropped,
    Error,
    InternalError,
    InvalidArgument,
    InvalidState,
    NotConnected,
    NotFound,
    OutOfMemory,
    ProtocolError,
    QueueFull,
    ShadowRejected,
    StorageError,
    SubscribeFailed,
    Timeout,
    TlsError,
)
from . import _events, _log, _native
from ._events import Registration
from ._options import ClientOptions, DatapointOptions, DeviceOptions
from ._types import (
    Backpressure,
    ClientStats,
    ConnectionEvent,
    ConnectionState,
    DatapointStats,
    Delivery,
    DeviceStats,
    DropEvent,
    Encoding,
    Fsync,
    Message,
    Overflow,
    Profile,
)
from .client import Client, Subscription
from .datapoints import Datapoints
from .device import Device
from .runtime import Runtime
from ._model import ModelError, ModelShadow, Partial
from .shadow import Delta, Shadow


def _package_version() -> str:
    # The wheel's metadata, which the build read from the top-level CMakeLists.txt, the source of
    # libtwinlink's version too; without metadata (a build tree on sys.path), the library's.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twinlink")
    except PackageNotFoundError:
        return _native.version()


__version__ = _package_version()


def library_version() -> str:
    """The version of the libtwinlink in use ("MAJOR.MINOR.PATCH")."""
    return _native.version()


# Before the interpreter finalizes: close what is still open, so that no twinlink thread calls
# into Python while it goes away.
def _shutdown() -> None:
    _events.mark_exiting()
    _native.shutdown()


_atexit.register(_shutdown)

__all__ = [
    "Device",
    "Runtime",
    "Client",
    "Shadow",
    "Datapoints",
    "Subscription",
    "Registration",
    "Delta",
    "ModelShadow",
    "Partial",
    "ModelError",
    "Message",
    "ConnectionEvent",
    "ConnectionState",
    "DropEvent",
    "ClientStats",
    "DatapointStats",
    "DeviceStats",
    "Profile",
    "Encoding",
    "Backpressure",
    "Delivery",
    "Fsync",
    "Overflow",
    "ClientOptions",
    "DatapointOptions",
    "DeviceOptions",
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
    "library_version",
]

"""twinlink.Device: one device's client, shadows and datapoints in one object (tl_device)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Dict, Optional

from . import _native
from ._errors import Error
from ._events import ConnectionEvents, ErrorHook, ErrorHooks, Listener, Registration
from ._log import logger
from ._options import Brokers, broker_list, device_options, milliseconds
from ._types import ConnectionState, DeviceStats
from .client import Client
from .datapoints import Datapoints
from .shadow import Shadow

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._options import DeviceOptions

__all__ = ["Device"]


class Device:
    """A device: its MQTT client, its shadows and its datapoint pipeline.

    ::

        with twinlink.Device("sensor-42", broker="mqtt://127.0.0.1:1883") as dev:
            dev.shadow.on_delta(lambda delta, version: dev.shadow.report(delta))
            dev.shadow.report({"fw": "1.2.0"})
            dev.datapoints.record("temp", 21.5)

    The constructor connects and waits until online (up to ``timeout`` seconds) unless
    ``connect=False``; register handlers before connect() to also receive a delta that was
    pending while the device was offline. Every option of the core is a keyword argument (see
    :class:`~twinlink.DeviceOptions`). Leaving the ``with`` block calls close(). A Device that is
    garbage-collected without close() is freed in the background.
    """

    def __init__(
        self,
        device_id: str,
        broker: Brokers = None,
        *,
        connect: bool = True,
        timeout: float = 10.0,
        **options: "Unpack[DeviceOptions]",
    ) -> None:
        if not isinstance(device_id, str):
            raise TypeError(f"device_id must be a str, not {type(device_id).__name__}")
        self._errors = ErrorHooks()
        on_error = options.pop("on_error", None)
        if on_error is not None:
            self._errors.add(on_error)
        self._events = ConnectionEvents(self._errors)
        on_connection = options.pop("on_connection", None)
        if on_connection is not None:
            self._events.add(on_connection)
        native_options, self._shadow_defaults = device_options(broker_list(broker), options, self._events, self._errors)
        self._native = _native.Device(device_id, native_options)
        self._lock = threading.Lock()
        self._client: Optional[Client] = None
        self._shadows: Dict[str, Shadow] = {}
        self._datapoints: Optional[Datapoints] = None
        if connect:
            try:
                self.connect(timeout)
            except BaseException:
                self._native.close()
                raise

    @property
    def id(self) -> str:
        return self._native.id

    # -- connection ---------------------------------------------------------------------------

    def connect(self, timeout: float = 10.0) -> None:
        """Connects and waits until online, up to ``timeout`` seconds (Timeout; TlsError and
        AuthError at once). The device then stays connected, reconnecting after every loss, until
        disconnect() or close(); after an error it keeps trying in the background."""
        self._native.connect(milliseconds(timeout, "timeout"))

    def disconnect(self, timeout: float = 5.0) -> None:
        """Waits up to ``timeout`` seconds for queued messages, publishes the offline presence
        and disconnects. connect() again to resume."""
        self._native.disconnect(milliseconds(timeout, "timeout"))

    def close(self, timeout: float = 5.0) -> None:
        """Flushes the datapoints (when connected), disconnects, and frees the device with its
        client, shadows and datapoints; each step waits at most ``timeout`` seconds. Waits for
        calls in progress on other threads. Idempotent."""
        if self._native.closed:
            return
        try:
            datapoints = self._datapoints
            if datapoints is not None and self.is_connected and not datapoints.closed:
                try:
                    datapoints.flush(timeout)
                except Error as e:
                    logger.warning("%s: datapoints not flushed at close: %s", self.id, e)
            try:
                self.disconnect(timeout)
            except Error as e:
                logger.warning("%s: disconnect at close: %s", self.id, e)
        finally:
            self._native.close()

    @property
    def closed(self) -> bool:
        return self._native.closed

    @property
    def state(self) -> ConnectionState:
        return ConnectionState(self._native.client().state)

    @property
    def is_connected(self) -> bool:
        return self.state == ConnectionState.CONNECTED

    def on_connection(self, callback: Listener) -> Registration:
        """Calls ``callback(event)`` on every connection state change (ConnectionEvent), on the
        dispatcher thread. Returns a Registration whose remove() unregisters it."""
        return self._events.add(callback)

    def on_error(self, callback: ErrorHook) -> Registration:
        """Calls ``callback(exception, kind)`` for every exception raised in a callback of this
        device (connection listeners, shadow delta and change handlers, message handlers,
        publish completions, the drop callback), on the thread that ran it, after it was logged.
        ``kind`` names the callback: "connection", "shadow delta", "shadow change", "message",
        "publish", "datapoint drop". An exception raised in ``callback`` is only logged. Also
        the ``on_error=`` option. Returns a Registration whose remove() unregisters it."""
        return self._errors.add(callback)

    # -- the parts ----------------------------------------------------------------------------

    @property
    def client(self) -> Client:
        """The device's MQTT client, for publish() and subscribe() on topics of your own."""
        with self._lock:
            if self._client is None:
                self._client = Client._borrowed(self._native.client(), self._events, self._shadow_defaults, self._errors)
            return self._client

    @property
    def shadow(self) -> Shadow:
        """The device's classic shadow (made on first use; that subscribes, so it may wait for the
        broker when connected)."""
        return self.shadow_named("")

    def shadow_named(self, name: str) -> Shadow:
        """The device's named shadow ``name`` ("" is the classic one)."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        shadow = self._shadows.get(name)
        if shadow is None:
            native = self._native.shadow(name)
            with self._lock:
                shadow = self._shadows.setdefault(name, Shadow(native, self.id, name, owned=False, errors=self._errors))
        return shadow

    @property
    def datapoints(self) -> Datapoints:
        """The device's datapoint pipeline (started on first use, or at once with a spool)."""
        datapoints = self._datapoints
        if datapoints is None:
            native = self._native.datapoints()
            with self._lock:
                if self._datapoints is None:
                    self._datapoints = Datapoints(native, owned=False)
                datapoints = self._datapoints
        return datapoints

    def stats(self) -> DeviceStats:
        """The counters of the client and, once used, of the datapoints."""
        client = self.client.stats()
        datapoints = None if self._datapoints is None else self._datapoints.stats()
        return DeviceStats(self.state, client, datapoints)

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._native.closed:
            return "<twinlink.Device closed>"
        return f"<twinlink.Device {self.id!r} {self.state.name.lower()}>"

"""The generic MQTT client: publish, subscribe, connection events, and shadows of any device."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Union

from . import _native
from ._errors import InvalidState
from ._events import ConnectionEvents, ErrorHook, ErrorHooks, Listener, Registration
from ._options import (
    Brokers,
    PathLike,
    broker_list,
    client_options,
    datapoint_options,
    milliseconds,
    shadow_options,
    split_client_options,
    _Taken,
)
from ._types import ClientStats, ConnectionState, Message
from .datapoints import Datapoints
from .shadow import Shadow

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._options import ClientOptions, DatapointOptions

__all__ = ["Client", "Subscription", "Payload"]

#: bytes-like objects are sent as they are, str as UTF-8, dict and list as JSON
Payload = Union[bytes, bytearray, memoryview, str, Dict[str, Any], List[Any]]


def payload_bytes(payload: Any) -> Any:
    if isinstance(payload, (dict, list)):
        return json.dumps(payload, separators=(",", ":"))
    return payload


class Subscription:
    """A subscription made by :meth:`Client.subscribe`; ``unsubscribe()`` or a ``with`` block ends it."""

    def __init__(self, client: "_native.Client", filter: str, subscription_id: int) -> None:
        self._client = client
        self.filter = filter
        self.id = subscription_id
        self._active = True

    def unsubscribe(self) -> None:
        """Ends the subscription; when this returns, its callback is not called again. Idempotent."""
        if self._active:
            self._active = False
            self._client.unsubscribe(self.id)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if not self._client.closed:
            self.unsubscribe()

    def __repr__(self) -> str:
        return f"<twinlink.Subscription {self.filter!r} id={self.id}>"


class Client:
    """An MQTT client connection (tl_client).

    A device uses the client of its :class:`~twinlink.Device` (``dev.client``); an application or
    backend makes its own to publish and subscribe, and to read or set the shadows of devices::

        with twinlink.Client("mqtt://127.0.0.1:1883") as app:
            app.shadow("sensor-42").desire({"led": "on"})

    The constructor connects and waits up to ``timeout`` seconds unless ``connect=False``.
    Every option of :class:`~twinlink.ClientOptions` is a keyword argument.
    """

    def __init__(
        self,
        broker: Brokers = None,
        *,
        connect: bool = True,
        timeout: float = 10.0,
        **options: "Unpack[ClientOptions]",
    ) -> None:
        self._errors = ErrorHooks()
        on_error = options.pop("on_error", None)
        if on_error is not None:
            self._errors.add(on_error)
        self._events = ConnectionEvents(self._errors)
        on_connection = options.pop("on_connection", None)
        if on_connection is not None:
            self._events.add(on_connection)
        taken, self._shadow_defaults = split_client_options(options)
        native_options = client_options(broker_list(broker), taken, self._events)
        taken.finish("Client()")
        self._owned = True
        self._native = _native.Client(native_options)
        if connect:
            try:
                self.connect(timeout)
            except BaseException:
                self._native.close()
                raise

    @classmethod
    def _borrowed(
        cls, native: "_native.Client", events: ConnectionEvents, shadow_defaults: Dict[str, Any], errors: ErrorHooks
    ) -> "Client":
        """The client of a Device: closed with the device."""
        self = cls.__new__(cls)
        self._errors = errors
        self._events = events
        self._shadow_defaults = shadow_defaults
        self._owned = False
        self._native = native
        return self

    # -- connection ---------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The MQTT client id in use."""
        return self._native.id

    @property
    def state(self) -> ConnectionState:
        return ConnectionState(self._native.state)

    @property
    def is_connected(self) -> bool:
        return self._native.state == ConnectionState.CONNECTED

    def connect(self, timeout: float = 10.0) -> None:
        """Starts connecting and waits until connected, up to ``timeout`` seconds (Timeout;
        TlsError and AuthError at once). The client then stays connected, reconnecting after
        every loss, until disconnect(); after an error it keeps trying in the background."""
        self._native.connect(milliseconds(timeout, "timeout"))

    def start(self) -> None:
        """Starts connecting in the background and returns at once."""
        self._native.start()

    def disconnect(self, timeout: float = 5.0) -> None:
        """Waits up to ``timeout`` seconds for queued messages to be acknowledged, then
        disconnects and stops reconnecting. Unsent messages stay queued for the next connect."""
        self._native.disconnect(milliseconds(timeout, "timeout"))

    def close(self, timeout: float = 5.0) -> None:
        """Disconnects (see disconnect()) and frees the client and the shadows made from it.
        Idempotent. The client of a Device is closed with the device."""
        if not self._owned:
            raise InvalidState("this is the client of a Device: close the device", -12)
        if self._native.closed:
            return
        try:
            self.disconnect(timeout)
        finally:
            self._native.close()

    @property
    def closed(self) -> bool:
        return self._native.closed

    def on_connection(self, callback: Listener) -> Registration:
        """Calls ``callback(event)`` on every connection state change (ConnectionEvent), on the
        dispatcher thread. Returns a Registration whose remove() unregisters it."""
        return self._events.add(callback)

    def on_error(self, callback: ErrorHook) -> Registration:
        """Calls ``callback(exception, kind)`` for every exception raised in a callback of this
        client (message handlers, connection listeners, shadow handlers, publish completions, drop
        callbacks), on the thread that ran it, after it was logged. ``kind`` names the callback:
        "message", "connection", "shadow delta", "shadow change", "publish", "datapoint drop". An
        exception raised in ``callback`` is only logged. Returns a Registration."""
        return self._errors.add(callback)

    def stats(self) -> ClientStats:
        return ClientStats._from_dict(self._native.stats())

    # -- publish and subscribe ----------------------------------------------------------------

    def publish(
        self,
        topic: str,
        payload: Payload,
        qos: int = 1,
        retain: bool = False,
        on_complete: Optional[Callable[[int, Optional[Exception]], Any]] = None,
    ) -> int:
        """Queues a message and returns its id at once; it is sent when connected, in order.
        ``on_complete(message_id, error)`` is called once it is acknowledged (error None) or has
        failed (Timeout, Dropped, Canceled), on the dispatcher thread. Raises QueueFull when the
        offline queue is full (policy "reject_new")."""
        callback = None if on_complete is None else self._errors.guard("publish", _completion(on_complete))
        return self._native.publish(topic, payload_bytes(payload), qos, retain, callback)

    def publish_nowait(self, topic: str, payload: Payload, qos: int = 1, retain: bool = False) -> int:
        """Queues a message and returns its id at once (publish() without on_complete; the name
        twinlink.aio.Client uses for the call that does not wait)."""
        return self._native.publish(topic, payload_bytes(payload), qos, retain, None)

    def publish_wait(
        self, topic: str, payload: Payload, qos: int = 1, retain: bool = False, timeout: float = 10.0
    ) -> None:
        """Publishes and waits until the broker acknowledged it (QoS 1/2) or it was written
        (QoS 0), up to ``timeout`` seconds (Timeout: the message stays queued)."""
        self._native.publish_wait(topic, payload_bytes(payload), qos, retain, milliseconds(timeout, "timeout"))

    def subscribe(self, filter: str, callback: Callable[[Message], Any], qos: int = 1) -> Subscription:
        """Calls ``callback(message)`` for every message matching ``filter`` (``+`` and ``#``
        wildcards), on the dispatcher thread. When connected, waits for the broker's SUBACK; the
        subscription is renewed after every reconnect."""
        if not callable(callback):
            raise TypeError("callback must be callable")

        def received(topic: str, payload: bytes, qos: int, retained: bool) -> None:
            callback(Message(topic, payload, qos, retained))

        return Subscription(self._native, filter, self._native.subscribe(filter, qos, self._errors.guard("message", received)))

    # -- shadows and datapoints of any device --------------------------------------------------

    def shadow(
        self,
        device_id: str,
        name: Optional[str] = None,
        *,
        persist_path: Optional[PathLike] = None,
        request_timeout: Optional[float] = None,
    ) -> Shadow:
        """A shadow of ``device_id`` (the classic one, or the named shadow ``name``) on this
        client: what a backend uses to read a device's shadow and set its desired state. Subscribes
        to the shadow's responses (waits for the broker when connected). Closed with the client."""
        defaults = self._shadow_defaults
        timeout = defaults["request_timeout"] if request_timeout is None else request_timeout
        options = shadow_options(defaults["profile"], timeout, name, persist_path)
        return Shadow(_native.Shadow(self._native, device_id, options), device_id, name or "", owned=True, errors=self._errors)

    def datapoints(self, device_id: str, **options: "Unpack[DatapointOptions]") -> Datapoints:
        """A datapoint pipeline of ``device_id`` on this client (a Device has its own:
        ``dev.datapoints``). Closed with the client."""
        taken = _Taken(options)
        native_options = datapoint_options(taken, self._errors)
        taken.finish("datapoints()")
        return Datapoints(_native.Datapoints(self._native, device_id, native_options), owned=True)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._owned:
            self.close()

    def __repr__(self) -> str:
        if self._native.closed:
            return "<twinlink.Client closed>"
        return f"<twinlink.Client {self.id!r} {self.state.name.lower()}>"


def _completion(on_complete: Callable[[int, Optional[Exception]], Any]) -> Callable[[int, int], None]:
    from ._errors import from_status

    def completed(message_id: int, status: int) -> None:
        on_complete(message_id, None if status == 0 else from_status(status, "publish failed"))

    return completed

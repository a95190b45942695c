"""Value types of the public API: enums of the options, events, messages and counters."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, fields
from typing import Any, Dict, Optional, Type, TypeVar, Union

from ._errors import Error, error_class

__all__ = [
    "ConnectionState",
    "ConnectionEvent",
    "Message",
    "Profile",
    "Encoding",
    "Backpressure",
    "Fsync",
    "Overflow",
    "DropEvent",
    "ClientStats",
    "DatapointStats",
    "DeviceStats",
]


class _Choice(enum.IntEnum):
    """An option with a few values, given as the enum member or its lower-case name."""

    @classmethod
    def parse(cls, value: "Union[_Choice, str, int]", option: str) -> int:
        if isinstance(value, cls):
            return int(value)
        if isinstance(value, str):
            try:
                return int(cls[value.upper().replace("-", "_")])
            except KeyError:
                pass
        names = ", ".join(repr(m.name.lower()) for m in cls)
        from ._errors import InvalidArgument

        raise InvalidArgument(f"{option} must be one of {names}, not {value!r}", -1)


class ConnectionState(enum.IntEnum):
    """tl_connection_state."""

    DISCONNECTED = 0  #: not started, or stopped by disconnect()
    CONNECTING = 1  #: an attempt is under way
    CONNECTED = 2
    RECONNECTING = 3  #: waiting ``retry_in`` seconds before the next attempt


class Profile(_Choice):
    """Topic profile of shadows and default topics (docs/protocol.md)."""

    TWINLINK = 0  #: ``{prefix}/{device}/...``
    AWS = 1  #: ``$aws/things/{device}/shadow/...``


class Encoding(_Choice):
    """Encoding of datapoint batches."""

    JSON = 0
    CBOR = 1
    COMPACT = 2  #: compressed columns for sensor series (docs/protocol.md, "The compact encoding")


class Backpressure(_Choice):
    """What recording does when the datapoint backlog is full."""

    DROP_OLDEST = 0  #: the oldest unacknowledged batch is discarded (reported to on_drop)
    DROP_NEWEST = 1  #: record() raises QueueFull
    BLOCK = 2  #: record() waits up to backpressure_timeout, then raises Timeout


class Delivery(_Choice):
    """When a datapoint batch counts as delivered and leaves the device (docs/reliability.md)."""

    BROKER = 0  #: at the broker's acknowledgement: for sinks that send no receipts
    RECEIPT = 1  #: when the sink's receipt confirms it is stored (twinlink serve sends them)


class Fsync(_Choice):
    """When the datapoint spool calls fsync (docs/reliability.md)."""

    EVERY_BATCH = 0
    INTERVAL = 1
    NEVER = 2


class Overflow(_Choice):
    """What publish() does when the offline queue is full."""

    REJECT_NEW = 0  #: publish() raises QueueFull
    DROP_OLDEST = 1  #: the oldest queued message is dropped (its completion reports Dropped)


@dataclass(frozen=True)
class ConnectionEvent:
    """A change of the connection state, as given to ``on_connection`` and ``events()``."""

    state: ConnectionState
    #: why the connection ended or an attempt failed (a negative tl_status); 0 otherwise
    reason: int
    message: str
    broker: str
    #: with RECONNECTING: seconds before the next attempt
    retry_in: float
    #: consecutive failed attempts so far
    attempt: int

    @property
    def error(self) -> Optional[Error]:
        """``reason`` as an exception (TlsError, AuthError, ...), or None."""
        if self.reason == 0:
            return None
        return error_class(self.reason)(self.message or "connection failed", self.reason)

    @classmethod
    def _from_native(
        cls, state: int, reason: int, message: str, broker: str, retry_in_ms: int, attempt: int
    ) -> "ConnectionEvent":
        return cls(ConnectionState(state), reason, message, broker, retry_in_ms / 1000.0, attempt)


@dataclass(frozen=True)
class Message:
    """A message received through a subscription."""

    topic: str
    payload: bytes
    qos: int
    retained: bool

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass(frozen=True)
class DropEvent:
    """Datapoints discarded under backpressure, as given to ``on_drop``."""

    policy: Backpressure
    points: int
    batches: int
    reason: str


_S = TypeVar("_S", bound="_Counters")


class _Counters:
    @classmethod
    def _from_dict(cls: Type[_S], values: Dict[str, int]) -> _S:
        return cls(**{f.name: values[f.name] for f in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class ClientStats(_Counters):
    """Counters of an MQTT client (tl_client_stats)."""

    messages_out: int  #: publishes completed (acknowledged for QoS 1/2)
    bytes_out: int
    messages_in: int
    bytes_in: int
    connects: int  #: successful connections, the first included
    reconnects: int  #: successful connections after a lost one
    connect_failures: int
    queued_messages: int  #: now waiting in the offline queue
    queued_bytes: int
    inflight: int  #: now sent and not yet acknowledged
    dropped: int
    rejected: int
    ack_timeouts: int
    resent: int
    callback_queue: int  #: callbacks waiting for the dispatcher thread


@dataclass(frozen=True)
class DatapointStats(_Counters):
    """Counters of a datapoint pipeline (tl_datapoint_stats)."""

    recorded: int  #: points accepted
    batched: int  #: points in closed batches
    batches: int
    sent: int  #: batch publishes started (resends included)
    acked_batches: int  #: acknowledged by the broker, each batch counted once
    acked_points: int
    dropped_points: int
    dropped_batches: int
    rejected_points: int
    recovered_batches: int  #: found unacknowledged in the spool at start
    pending_points: int  #: recorded, not yet in a closed batch
    backlog_batches: int  #: closed, not yet delivered
    backlog_points: int
    backlog_bytes: int
    spooled_bytes: int
    confirmed_batches: int  #: confirmed stored by the sink's receipts (delivery "receipt")
    confirmed_points: int
    receipt_timeouts: int  #: batches sent again because no receipt came in time
    receipts_ignored: int  #: receipts not applied: malformed, for another device, or too many unread


@dataclass(frozen=True)
class DeviceStats:
    """Counters of a device: its client, and its datapoints once used."""

    state: ConnectionState
    client: ClientStats
    datapoints: Optional[DatapointStats]

"""Datapoints: recording telemetry, sent in batches."""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

from . import _native
from ._errors import InvalidState
from ._options import milliseconds
from ._types import DatapointStats

__all__ = ["Datapoints", "Value", "Timestamp"]

#: a float, int, bool, str or dict (a JSON object)
Value = Union[float, int, bool, str, Dict[str, Any]]
#: milliseconds since the Unix epoch (int or float), a datetime, or None for now
Timestamp = Any


class Datapoints:
    """The datapoint pipeline of a device (tl_datapoints): record() appends to memory and returns
    at once; a batcher thread encodes batches and publishes them at QoS 1. Safe to use from any
    number of threads."""

    def __init__(self, native: "_native.Datapoints", owned: bool) -> None:
        self._native = native
        self._owned = owned
        # The hot paths go straight to the native methods.
        self.record = native.record  # type: ignore[method-assign]
        self.record_many = native.record_many  # type: ignore[method-assign]

    def record(self, name: str, value: Value, timestamp: Timestamp = None) -> None:  # noqa: F811
        """Records one point of series ``name`` at ``timestamp`` (default: now): an int is
        milliseconds since the epoch, a float seconds (as ``time.time()`` gives), or a datetime or
        numpy.datetime64. A time outside 2000..2200 raises InvalidArgument (a unit mistake).
        Raises InvalidArgument, QueueFull, Timeout."""
        self._native.record(name, value, timestamp)

    def record_many(self, name: str, values: Any, timestamps: Optional[Any] = None) -> None:  # noqa: F811
        """Records many points of one series at once, all or nothing. ``values`` is a sequence
        of numbers or a buffer of float64 or int64 (a numpy array, ``array('d')``, a memoryview),
        used without a copy; ``timestamps`` the same in int64 milliseconds, or None for now."""
        self._native.record_many(name, values, timestamps)

    def flush(self, timeout: float = 10.0) -> None:
        """Closes the open batches and waits until every point recorded before the call is
        acknowledged (or dropped by the policy). Raises Timeout."""
        self._native.flush(milliseconds(timeout, "timeout"))

    def stats(self) -> DatapointStats:
        return DatapointStats._from_dict(self._native.stats())

    def close(self) -> None:
        """Stops a pipeline made with ``client.datapoints()``; what is not acknowledged is kept
        in the spool, or discarded without one (flush first). Idempotent. A device's datapoints
        are closed with the device."""
        if not self._owned:
            raise InvalidState("these are the datapoints of a Device: close the device", -12)
        self._native.close()

    @property
    def closed(self) -> bool:
        return self._native.closed

    def __repr__(self) -> str:
        return "<twinlink.Datapoints closed>" if self.closed else "<twinlink.Datapoints>"

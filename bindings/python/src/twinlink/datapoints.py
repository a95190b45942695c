"""Datapoints: recording telemetry, sent in batches."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

from . import _native
from ._errors import InvalidState
from ._options import milliseconds
from ._types import DatapointStats

__all__ = ["Datapoints", "Value", "Timestamp"]

#: a float, int, bool, str or dict (a JSON object)
Value = Union[float, int, bool, str, Dict[str, Any]]
#: milliseconds since the Unix epoch (int or float), a datetime, or None for now
Timestamp = Any


def columns(values: Any, timestamps: Any) -> Tuple[Any, Any]:
    """pandas and numpy.datetime64 inputs of record_many() as what the extension reads: numpy
    arrays, converted by numpy in one pass (never element by element in Python)."""
    if timestamps is None and type(values).__module__.startswith("pandas") and hasattr(values, "index"):
        index = values.index
        if getattr(getattr(index, "dtype", None), "kind", None) != "M":
            raise TypeError(
                "a pandas Series needs a DatetimeIndex for its timestamps (or pass timestamps=), "
                f"not a {type(index).__name__}"
            )
        values, timestamps = values.to_numpy(), index
    elif hasattr(values, "to_numpy") and type(values).__module__.startswith("pandas"):
        values = values.to_numpy()
    if timestamps is not None and getattr(getattr(timestamps, "dtype", None), "kind", None) == "M":
        timestamps = _milliseconds(timestamps)
    return values, timestamps


def _milliseconds(datetimes: Any) -> Any:
    """datetime64 values (numpy array, pandas DatetimeIndex or Series) as int64 milliseconds."""
    if getattr(datetimes, "tz", None) is not None:  # a tz-aware DatetimeIndex: its UTC instants
        datetimes = datetimes.tz_convert("UTC").tz_localize(None)
    if hasattr(datetimes, "to_numpy"):
        datetimes = datetimes.to_numpy()
    return datetimes.astype("datetime64[ms]").astype("int64")


class Datapoints:
    """The datapoint pipeline of a device (tl_datapoints): record() appends to memory and returns
    at once; a batcher thread encodes batches and publishes them at QoS 1. Safe to use from any
    number of threads."""

    def __init__(self, native: "_native.Datapoints", owned: bool) -> None:
        self._native = native
        self._owned = owned
        # The hot path: a vectorcall function that records the common calls without pybind11's
        # dispatch and passes every other call to the native method.
        self.record = native.fast_record()  # type: ignore[method-assign]

    def record(self, name: str, value: Value, timestamp: Timestamp = None) -> None:  # noqa: F811
        """Records one point of series ``name`` at ``timestamp`` (default: now): an int is
        milliseconds since the epoch, a float seconds (as ``time.time()`` gives), or a datetime or
        numpy.datetime64. A time outside 2000..2200 raises InvalidArgument (a unit mistake).
        Raises InvalidArgument, QueueFull, Timeout."""
        self._native.record(name, value, timestamp)

    def record_many(self, name: str, values: Any, timestamps: Optional[Any] = None) -> None:
        """Records many points of one series at once, all or nothing. ``values`` is a sequence
        of numbers or a one-dimensional buffer (a numpy array, ``array('d')``, a memoryview):
        float64 and int64 buffers are used without a copy, other numeric ones (float32, smaller
        integers, strided views) converted in one pass in C++. ``timestamps``: the same, integers
        in milliseconds since the epoch and floats in seconds (as in record()), or an array of
        numpy.datetime64 (a pandas DatetimeIndex), or None for now; a time outside 2000..2200
        raises InvalidArgument. A pandas Series with a DatetimeIndex gives both values and timestamps.
        Arrays of 4096 points or more are recorded without the GIL."""
        values, timestamps = columns(values, timestamps)
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

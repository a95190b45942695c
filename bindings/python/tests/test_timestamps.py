"""Timestamps of record(): ints are milliseconds, floats seconds (as time.time() gives them),
datetimes and numpy.datetime64 are taken as they are, and implausible values are refused."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

import twinlink


def test_units_and_range(own_broker, device_id):
    with twinlink.Device(device_id, broker=own_broker.uri, connect=False, delivery="broker") as dev:
        dp = dev.datapoints
        dp.record("t", 1.0, time.time())  # seconds
        dp.record("t", 1.0, int(time.time() * 1000))  # milliseconds
        dp.record("t", 1.0, datetime(2024, 1, 1, tzinfo=timezone.utc))
        with pytest.raises(twinlink.InvalidArgument, match="outside 2000..2200"):
            dp.record("t", 1.0, 1.0)  # a float of seconds in 1970
        with pytest.raises(twinlink.InvalidArgument, match="outside 2000..2200"):
            dp.record("t", 1.0, int(time.time()))  # seconds passed as an int of milliseconds
        with pytest.raises(twinlink.InvalidArgument, match="outside 2000..2200"):
            dp.record("t", 1.0, time.time() * 1000)  # milliseconds passed as a float of seconds
        numpy = pytest.importorskip("numpy")
        dp.record("t", 1.0, numpy.datetime64("2024-05-01T12:00:00.250"))
        with pytest.raises(twinlink.InvalidArgument):
            dp.record("t", 1.0, numpy.datetime64("1970-01-02"))
        assert dp.stats().recorded == 4


def test_record_many_takes_the_same_units_and_refuses_the_same_mistakes(own_broker, device_id):
    import array

    with twinlink.Device(device_id, broker=own_broker.uri, connect=False, delivery="broker") as dev:
        dp = dev.datapoints
        now = time.time()
        dp.record_many("t", [1.0, 2.0], [now, now + 0.5])  # floats: seconds
        dp.record_many("t", [1.0, 2.0], [int(now * 1000), int(now * 1000) + 1])  # ints: milliseconds
        dp.record_many("t", array.array("d", [1.0, 2.0]), array.array("d", [now, now + 1]))  # a float buffer
        with pytest.raises(twinlink.InvalidArgument, match=r"timestamps\[1\].*outside 2000..2200"):
            dp.record_many("t", [1.0, 2.0], [now, 5.0])
        with pytest.raises(twinlink.InvalidArgument, match="outside 2000..2200"):
            dp.record_many("t", [1.0], [int(now)])  # seconds given as an int of milliseconds
        with pytest.raises(twinlink.InvalidArgument, match="outside 2000..2200"):
            dp.record_many("t", array.array("d", [1.0]), array.array("d", [now * 1000]))  # ms as float seconds
        assert dp.stats().recorded == 6  # all or nothing: the refused calls recorded nothing

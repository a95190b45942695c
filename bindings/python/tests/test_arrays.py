"""record_many() with numpy and pandas: float32 and strided arrays converted in one pass, a large
array recorded without the GIL, a Series with a DatetimeIndex, numpy.datetime64 timestamps."""

from __future__ import annotations

import array
from datetime import datetime

import pytest

import twinlink
from local_cloud import stored_points, wait_until

np = pytest.importorskip("numpy")

TIMEOUT = 10.0
T0 = 1_732_460_000_000  # ms


def stored(cloud, device_id, series, count):
    """The points `twinlink serve` stored for ``series`` as (timestamp ms, value) pairs."""
    lines = []

    def complete():
        nonlocal lines
        lines = stored_points(cloud, device_id, series) or []
        return len(lines) >= count

    wait_until(complete, TIMEOUT, what=f"{count} points of {series} at the sink")
    return [parse(line) for line in lines]


def parse(line):
    # "2024-11-24T14:53:20.000Z series value"
    fields = line.split()
    when = datetime.fromisoformat(fields[0].replace("Z", "+00:00"))
    return round(when.timestamp() * 1000), float(fields[-1])


def test_large_arrays_float32_and_strided_reach_the_sink(broker, cloud, device_id):
    n = 10_000  # above 4096: recorded without the GIL
    values = (np.arange(2 * n, dtype=np.float64) / 4)[::2]  # strided: i / 2, exact in float32 too
    assert not values.flags.c_contiguous
    timestamps = T0 + np.arange(n, dtype=np.int64)
    with twinlink.Device(device_id, broker=broker.uri, batch_linger=0.02) as dev:
        dp = dev.datapoints
        dp.record_many("big", values, timestamps)
        dp.record_many("f32", values[:100].astype(np.float32), timestamps[:100])
        dp.record_many("i32", np.arange(5, dtype=np.int32), timestamps[:10:2])  # strided int64
        column = np.stack([values[:50], values[:50] * 2], axis=1)[:, 1]  # a column of a 2-D array
        dp.record_many("column", column, timestamps[:50])
        # a reversed float32 view, with timestamps as a float buffer of seconds
        dp.record_many("mv", memoryview(array.array("f", [1.5, 2.5]))[::-1], array.array("d", [T0 / 1000, T0 / 1000 + 1]))
        dp.flush(TIMEOUT)
        assert dp.stats().confirmed_points == n + 100 + 5 + 50 + 2
    big = stored(cloud, device_id, "big", n)
    assert big[0] == (T0, 0.0) and big[-1] == (T0 + n - 1, (n - 1) / 2)
    assert sorted(v for _, v in big) == [i / 2 for i in range(n)]
    assert [v for _, v in stored(cloud, device_id, "f32", 100)] == [i / 2 for i in range(100)]
    assert [v for _, v in stored(cloud, device_id, "column", 50)] == [i for i in range(50)]
    assert sorted(stored(cloud, device_id, "mv", 2)) == [(T0, 2.5), (T0 + 1000, 1.5)]


def test_conversions_and_refusals(own_broker, device_id):
    with twinlink.Device(device_id, broker=own_broker.uri, connect=False, delivery="broker") as dev:
        dp = dev.datapoints
        with pytest.raises(TypeError, match="bool"):
            dp.record_many("b", np.array([True, False]))
        with pytest.raises(twinlink.InvalidArgument, match="one-dimensional"):
            dp.record_many("m", np.zeros((2, 2)))
        with pytest.raises(twinlink.InvalidArgument, match="int64 range"):
            dp.record_many("u", np.array([2**63], dtype=np.uint64))
        dp.record_many("u8", np.arange(3, dtype=np.uint8)[::-1])
        dp.record_many("dt", [1.0, 2.0], np.array(["2024-11-24T15:33:20.001", "2024-11-24T15:33:20.002"], dtype="datetime64[ns]"))
        assert dp.stats().recorded == 5


def test_pandas_series_with_datetime_index(broker, cloud, device_id):
    pd = pytest.importorskip("pandas")
    index = pd.date_range(pd.Timestamp(T0, unit="ms"), periods=20, freq="10ms")
    series = pd.Series(np.linspace(0.0, 1.9, 20, dtype=np.float32), index=index)
    aware = pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2024-11-24 16:33:20", "2024-11-24 16:33:21"]).tz_localize("Europe/Paris"))
    with twinlink.Device(device_id, broker=broker.uri, batch_linger=0.02) as dev:
        dev.datapoints.record_many("s", series)
        dev.datapoints.record_many("aware", aware)
        with pytest.raises(TypeError, match="DatetimeIndex"):
            dev.datapoints.record_many("plain", pd.Series([1.0, 2.0]))
        dev.datapoints.flush(TIMEOUT)
    points = stored(cloud, device_id, "s", 20)
    assert [t for t, _ in points] == [T0 + 10 * i for i in range(20)]
    assert [round(v, 3) for _, v in points] == [round(0.1 * i, 3) for i in range(20)]
    assert [t for t, _ in stored(cloud, device_id, "aware", 2)] == [1732462400000, 1732462401000]


def test_record_with_numpy_datetime64(broker, cloud, device_id):
    with twinlink.Device(device_id, broker=broker.uri, batch_linger=0.02) as dev:
        dev.datapoints.record("t", 1.0, np.datetime64(T0, "ms"))
        dev.datapoints.record("t", 2.0, np.datetime64(T0 * 1_000_000 + 1_000_000, "ns"))
        with pytest.raises(twinlink.InvalidArgument):
            dev.datapoints.record("t", 3.0, np.datetime64(1, "s"))  # 1970: refused
        dev.datapoints.flush(TIMEOUT)
    assert stored(cloud, device_id, "t", 2) == [(T0, 1.0), (T0 + 1, 2.0)]

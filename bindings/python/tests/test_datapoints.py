"""Datapoints: exactly-once delivery into the cloud's store, values of every type, arrays, and
recording from many threads."""

from __future__ import annotations

import array
import threading
import time

import pytest

import twinlink
from local_cloud import BatchCollector, stored_points, wait_until

TIMEOUT = 15.0


def assert_exactly_once(cloud, collector, device_id, series, expected_values):
    """Every value arrives once: at an independent subscriber (after dropping redeliveries), and
    in the store of `twinlink serve` when this build has its datapoint sink."""
    expected = sorted(expected_values)
    wait_until(lambda: len(collector.points(series)) >= len(expected), TIMEOUT, what="all batches at the subscriber")
    assert sorted(v for _, v in collector.points(series)) == expected
    if cloud.stores_datapoints():
        lines = wait_until(
            lambda: (lambda got: got if got is not None and len(got) >= len(expected) else None)(
                stored_points(cloud, device_id, series)
            ),
            TIMEOUT,
            interval=0.2,
            what="all points in the store",
        )
        assert len(lines) == len(expected), "the store holds duplicates"
        assert sorted(float(line.split()[-1]) for line in lines) == [float(v) for v in expected]


def test_record_n_points_exactly_once(broker, cloud, device_id):
    n = 20000
    collector = BatchCollector(broker.uri, f"tl/{device_id}/dp")
    try:
        with twinlink.Device(device_id, broker=broker.uri, batch_max_points=1000, batch_linger=0.05) as dev:
            dp = dev.datapoints
            t0 = int(time.time() * 1000) - n
            for i in range(n):
                dp.record("seq", i, t0 + i)
            dp.flush(timeout=TIMEOUT)
            stats = dp.stats()
            assert stats.recorded == n and stats.acked_points == n
            assert stats.dropped_points == 0 and stats.backlog_points == 0
        assert_exactly_once(cloud, collector, device_id, "seq", list(range(n)))
    finally:
        collector.close()


def test_compact_encoding_reaches_the_store(broker, cloud, device_id):
    with twinlink.Device(device_id, broker=broker.uri, encoding="compact") as dev:
        dp = dev.datapoints
        t0 = int(time.time() * 1000) - 600000
        for i in range(500):
            dp.record("temp", 20 + i / 100, t0 + i * 1000)
            dp.record("n", i, t0 + i * 1000)
        dp.record("on", True, t0)
        dp.record("mode", "eco", t0)
        dp.flush(timeout=TIMEOUT)
        stats = dp.stats()
        assert stats.recorded == 1002 and stats.acked_points == 1002 and stats.dropped_points == 0
    assert twinlink.Encoding.parse("compact", "encoding") == twinlink.Encoding.COMPACT == 2
    if cloud.stores_datapoints():
        lines = wait_until(
            lambda: (lambda got: got if got is not None and len(got) >= 500 else None)(
                stored_points(cloud, device_id, "temp")
            ),
            TIMEOUT,
            interval=0.2,
            what="all points in the store",
        )
        assert sorted(round(float(line.split()[-1]), 2) for line in lines) == [round(20 + i / 100, 2) for i in range(500)]


def test_exactly_once_when_the_connection_drops(broker, cloud, device_id):
    """The device's connection is cut while batches are in flight (the sink's is not): batches
    whose acknowledgement was lost are sent again, and the sink stores each point once."""
    from local_cloud import TcpProxy

    n = 6000
    proxy = TcpProxy(broker.port)
    collector = BatchCollector(broker.uri, f"tl/{device_id}/dp")
    try:
        with twinlink.Device(
            device_id, broker=proxy.uri, batch_max_points=100, batch_linger=0.01, reconnect_backoff=(0.05, 0.2)
        ) as dev:
            dp = dev.datapoints
            for i in range(n):
                dp.record("n", i)
                if i % 2000 == 1000:
                    proxy.cut()
            dp.flush(timeout=TIMEOUT)
            assert dp.stats().acked_points == n
            assert dev.stats().client.reconnects >= 1
        assert_exactly_once(cloud, collector, device_id, "n", list(range(n)))
    finally:
        collector.close()
        proxy.close()


def test_values_of_every_type(broker, device_id):
    collector = BatchCollector(broker.uri, f"tl/{device_id}/dp")
    try:
        with twinlink.Device(device_id, broker=broker.uri, batch_linger=0.02) as dev:
            dp = dev.datapoints
            dp.record("double", 21.5)
            dp.record("int", -3)
            dp.record("big", 2**62)
            dp.record("bool", True)
            dp.record("text", "ok ✓")
            dp.record("object", {"a": 1, "b": [1, 2], "c": {"d": "e"}})
            dp.record("at", 1.0, 1_700_000_000_123)
            from datetime import datetime, timezone

            dp.record("at", 2.0, datetime(2024, 11, 24, 12, 0, 0, 500000, tzinfo=timezone.utc))
            dp.flush(timeout=TIMEOUT)
        wait_until(lambda: len(collector.points("at")) == 2, TIMEOUT, what="the batches")
        assert collector.points("double")[0][1] == 21.5
        assert collector.points("int")[0][1] == -3
        assert collector.points("big")[0][1] == 2**62
        assert collector.points("bool")[0][1] is True
        assert collector.points("text")[0][1] == "ok ✓"
        assert collector.points("object")[0][1] == {"a": 1, "b": [1, 2], "c": {"d": "e"}}
        assert sorted(collector.points("at")) == [(1_700_000_000_123, 1.0), (1_732_449_600_500, 2.0)]
        now = time.time() * 1000
        assert abs(collector.points("double")[0][0] - now) < 60_000  # "now" by default
    finally:
        collector.close()


def test_record_takes_the_short_path_or_the_method_with_the_same_results(broker, device_id):
    """record() is a vectorcall function for (str, float | int | bool); every other call goes to
    the native method. Both record the same points and raise the same errors."""
    import numpy as np

    collector = BatchCollector(broker.uri, f"tl/{device_id}/dp")
    try:
        with twinlink.Device(device_id, broker=broker.uri, batch_linger=0.02, delivery="broker") as dev:
            dp = dev.datapoints
            short, method = dp.record, dp._native.record
            assert short is not method
            for record in (short, method):
                record("f", 1.5)
                record("i", -7)
                record("i", 2**63 - 1)
                record("b", False)
                record("f", 2.5, None)
                record(name="k", value=3)  # keywords: the method
                record("n", np.float64(0.25))  # numpy scalars: the method
                record("n", np.int32(4))
                record("s", "text")
                with pytest.raises(twinlink.InvalidArgument, match="series name"):
                    record("bad/name", 1.0)  # refused by the C ABI
                with pytest.raises(twinlink.InvalidArgument, match="NUL"):
                    record("nul\0name", 1.0)
                with pytest.raises(twinlink.InvalidArgument, match="64 bits"):
                    record("i", 2**64)
                with pytest.raises(twinlink.InvalidArgument):
                    record("f", float("nan"))
                with pytest.raises(TypeError):
                    record(b"bytes", 1.0)
                with pytest.raises(TypeError):
                    record("f")
            dp.flush(timeout=TIMEOUT)
            assert dp.stats().recorded == 2 * 9
        wait_until(lambda: len(collector.points("s")) == 2, TIMEOUT, what="the batches")
        assert [v for _, v in collector.points("f")] == [1.5, 2.5, 1.5, 2.5]
        assert [v for _, v in collector.points("i")] == [-7, 2**63 - 1] * 2
        assert [v for _, v in collector.points("b")] == [False, False]
        assert [v for _, v in collector.points("n")] == [0.25, 4, 0.25, 4]
        with pytest.raises(twinlink.InvalidState):
            short("f", 1.0)  # closed
    finally:
        collector.close()


def test_record_many_from_lists_and_buffers(broker, device_id):
    collector = BatchCollector(broker.uri, f"tl/{device_id}/dp")
    try:
        with twinlink.Device(device_id, broker=broker.uri, batch_linger=0.02) as dev:
            dp = dev.datapoints
            ts = [1_700_000_000_000 + i for i in range(4)]
            dp.record_many("list", [1.5, 2.5, 3.5, 4.5], ts)
            dp.record_many("ints", [1, 2, 3, 4], array.array("q", ts))
            dp.record_many("array", array.array("d", [0.25] * 4), memoryview(array.array("q", ts)))
            dp.record_many("view", memoryview(array.array("q", [7, 8, 9, 10])))
            dp.record_many("strided", memoryview(array.array("d", range(8)))[::2], ts)
            dp.record_many("float32", array.array("f", [0.5, 1.5]))
            try:
                import numpy as np
            except ImportError:
                pass
            else:
                dp.record_many("numpy", np.arange(4, dtype=np.float64), np.array(ts, dtype=np.int64))
                dp.record_many("numpy", np.arange(4, dtype=np.int64))
                dp.record("numpy-scalar", np.float32(1.5))
                dp.record("numpy-scalar", np.int64(7))
            dp.flush(timeout=TIMEOUT)
        wait_until(lambda: len(collector.points("float32")) == 2, TIMEOUT, what="the batches")
        assert sorted(collector.points("list")) == list(zip(ts, [1.5, 2.5, 3.5, 4.5]))
        assert [v for _, v in sorted(collector.points("ints"))] == [1, 2, 3, 4]
        assert [v for _, v in collector.points("array")] == [0.25] * 4
        assert sorted(v for _, v in collector.points("view")) == [7, 8, 9, 10]
        assert sorted(v for _, v in collector.points("strided")) == [0.0, 2.0, 4.0, 6.0]
        assert sorted(v for _, v in collector.points("float32")) == [0.5, 1.5]
    finally:
        collector.close()


def test_threads_record_concurrently(broker, cloud, device_id):
    threads_count, per_thread = 4, 5000
    collector = BatchCollector(broker.uri, f"tl/{device_id}/dp")
    try:
        with twinlink.Device(device_id, broker=broker.uri, batch_max_points=1000, batch_linger=0.05) as dev:
            dp = dev.datapoints
            start = threading.Barrier(threads_count)
            errors = []

            def work(k: int) -> None:
                try:
                    start.wait(TIMEOUT)
                    for i in range(per_thread):
                        dp.record("mix", k * per_thread + i)
                        if i % 1000 == 0:
                            dp.record_many("arrays", [float(k)] * 10)
                except Exception as e:  # pragma: no cover - reported below
                    errors.append(e)

            workers = [threading.Thread(target=work, args=(k,)) for k in range(threads_count)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(TIMEOUT * 2)
            assert not errors
            dp.flush(timeout=TIMEOUT)
            total = threads_count * (per_thread + 50)
            assert dp.stats().acked_points == total
        assert_exactly_once(cloud, collector, device_id, "mix", list(range(threads_count * per_thread)))
        assert len(collector.points("arrays")) == threads_count * 50
    finally:
        collector.close()


def test_backpressure_drop_newest_raises_queue_full(own_broker, device_id):
    own_broker.stop()
    drops = []
    with twinlink.Device(
        device_id, broker=own_broker.uri, connect=False, backpressure="drop_newest",
        backlog_max_bytes=4096, batch_max_bytes=1024, batch_max_points=10, batch_linger=0.001,
        on_drop=drops.append,
    ) as dev:
        dp = dev.datapoints

        def full() -> bool:
            try:
                for _ in range(100):
                    dp.record("x", 1.0)
            except twinlink.QueueFull as e:
                assert e.status == -8 and e.status_name == "queue full"
                return True
            return False

        wait_until(full, TIMEOUT, interval=0.01, what="QueueFull")
        assert dp.stats().rejected_points > 0


def test_receipts_confirm_what_the_sink_stored(broker, cloud, device_id):
    """With the default delivery ("receipt"), a batch counts as delivered when `twinlink serve`
    says it is stored, and flush() waits for that."""
    with twinlink.Device(device_id, broker=broker.uri, batch_linger=0.02) as dev:
        dev.datapoints.record_many("r", list(range(300)))
        dev.datapoints.flush(TIMEOUT)
        stats = dev.datapoints.stats()
        assert stats.confirmed_points == 300 and stats.acked_points == 300
        assert stats.backlog_points == 0 and stats.receipt_timeouts == 0 and stats.receipts_ignored == 0
    lines = stored_points(cloud, device_id, "r")
    assert lines is not None and len(lines) == 300


def test_without_a_sink_receipts_never_come_and_broker_delivery_is_the_way(own_broker, device_id):
    with twinlink.Device(device_id, broker=own_broker.uri, batch_linger=0.02, receipt_timeout=60) as dev:
        dev.datapoints.record("x", 1.0)
        with pytest.raises(twinlink.Timeout):
            dev.datapoints.flush(0.5)
        assert dev.datapoints.stats().acked_points == 1
        assert dev.datapoints.stats().confirmed_points == 0
    with twinlink.Device(device_id + "-b", broker=own_broker.uri, batch_linger=0.02, delivery="broker") as dev:
        dev.datapoints.record("x", 1.0)
        dev.datapoints.flush(TIMEOUT)
        assert dev.datapoints.stats().acked_points == 1


@pytest.mark.parametrize(
    "options, error",
    [
        ({"delivery": "sometimes"}, twinlink.InvalidArgument),
        ({"delivery": 3}, twinlink.InvalidArgument),
        ({"receipt_timeout": 0}, twinlink.InvalidArgument),
        ({"receipt_timeout": "soon"}, TypeError),
        ({"max_unconfirmed_batches": 0}, twinlink.InvalidArgument),
        ({"max_unconfirmed_batches": 1.5}, TypeError),
    ],
)
def test_bad_delivery_options_are_refused(own_broker, device_id, options, error):
    with pytest.raises(error):
        with twinlink.Device(device_id, broker=own_broker.uri, **options) as dev:
            dev.datapoints.record("x", 1.0)


def test_flush_and_close_from_a_callback_do_not_wait_for_themselves(broker, cloud, device_id):
    """Acknowledgements and receipts reach the pipeline without the callback thread, so a flush()
    or a close() made inside a callback with points pending completes instead of timing out."""
    outcome: "list[object]" = []
    done = threading.Event()
    dev = twinlink.Device(device_id, broker=broker.uri, batch_linger=0.02)
    dev.datapoints.record_many("cb", list(range(1000)))

    def on_message(message):
        started = time.monotonic()
        try:
            dev.datapoints.flush(10.0)
            dev.close()
            outcome.append(time.monotonic() - started)
        except BaseException as e:  # reported to the test, not swallowed
            outcome.append(e)
        finally:
            done.set()

    dev.client.subscribe(f"test/{device_id}/go", on_message)
    dev.client.publish(f"test/{device_id}/go", b"now")
    assert done.wait(30), "the callback never finished"
    assert isinstance(outcome[0], float), outcome[0]
    assert outcome[0] < 5.0
    lines = stored_points(cloud, device_id, "cb")
    assert lines is not None and len(lines) == 1000

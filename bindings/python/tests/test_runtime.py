"""twinlink.Runtime: many devices sharing a few threads. 200 devices on one runtime connect
concurrently, each round-trips a shadow report and a datapoint through `twinlink serve`, and the
devices add no thread: their connection loops, shadows and batchers run on the runtime's threads."""

from __future__ import annotations

import gc
from concurrent.futures import ThreadPoolExecutor

import pytest

import twinlink
from local_cloud import stored_points, wait_until

TIMEOUT = 30.0
DEVICES = 200


def threads_now() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line in /proc/self/status")


def added_threads_at_most(before: int, most: int) -> None:
    """Waits (5 s at most) until the process has at most ``most`` threads more than ``before``."""
    try:
        wait_until(lambda: threads_now() - before <= most, 5.0, what=f"at most {most} added threads")
    except AssertionError:
        raise AssertionError(f"{threads_now() - before} threads added, at most {most} expected") from None


def test_runtime_arguments():
    with pytest.raises(TypeError):
        twinlink.Runtime(threads="2")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        twinlink.Runtime(threads=0)
    with pytest.raises(twinlink.InvalidArgument):
        twinlink.Runtime(threads=1000)
    rt = twinlink.Runtime(threads=3)
    assert rt.threads == 3 and rt.clients == 0
    with pytest.raises(TypeError):
        twinlink.Device("rt-bad", "mqtt://127.0.0.1:1", connect=False, runtime="shared")  # type: ignore[typeddict-item]


def test_two_hundred_devices_on_one_runtime(broker, cloud, device_id):
    rt = twinlink.Runtime(threads=4)
    before = threads_now()
    devices = [
        twinlink.Device(f"{device_id}-{i}", broker=broker.uri, runtime=rt, connect=False, batch_linger=0.02)
        for i in range(DEVICES)
    ]
    try:
        assert rt.clients == DEVICES
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda d: d.connect(TIMEOUT), devices))
        assert all(d.is_connected for d in devices)
        # No thread per device: the runtime's threads (4 dispatch, 2 network, 1 timer) were there
        # before; Paho adds two for the process. Without a runtime each device has three. The
        # executor's threads may still be ending at the OS level after its shutdown joined them,
        # so the count is awaited (bounded): threads of the devices would stay and fail it.
        added_threads_at_most(before, 4)

        def round_trip(dev: twinlink.Device) -> None:
            accepted = dev.shadow.report({"n": dev.id}, timeout=TIMEOUT)
            assert accepted["state"]["reported"]["n"] == dev.id
            dev.datapoints.record("rt", 1.0)
            dev.datapoints.flush(TIMEOUT)
            assert dev.datapoints.stats().confirmed_points == 1

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(round_trip, devices))
        # Each device now has a shadow and a datapoint pipeline too: still no thread of its own.
        added_threads_at_most(before, 4)
        if cloud.stores_datapoints():
            for dev in devices[:: DEVICES // 10]:
                lines = stored_points(cloud, dev.id, "rt")
                assert lines is not None and len(lines) == 1
    finally:
        for dev in devices:
            dev.close()
    # A client may be released just after close() returns, on one of twinlink's threads (the
    # C ABI allows it: common.h); one that stays is a leak, which this bounded wait reports.
    wait_until(lambda: rt.clients == 0, TIMEOUT, what="every client of the runtime to be released")
    del devices
    gc.collect()
    wait_until(lambda: threads_now() <= before + 8, TIMEOUT, what="the devices' threads to end")


def test_runtime_dropped_before_its_devices(broker, device_id):
    rt = twinlink.Runtime(threads=1)
    devices = [twinlink.Device(f"{device_id}-{i}", broker=broker.uri, runtime=rt) for i in range(5)]
    del rt  # the devices keep it
    gc.collect()
    got = []
    devices[0].client.subscribe(f"{device_id}/x", lambda message: got.append(message.payload))
    devices[1].client.publish(f"{device_id}/x", b"hello", qos=1)
    wait_until(lambda: got, TIMEOUT, what="the message")
    for dev in devices:
        dev.close()

"""Options end to end: the datapoint spool and shadow persistence across restarts, the AWS topic
profile, MQTT 5, and backpressure "block"."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import twinlink
import twinlink.aio as aio
from local_cloud import Cloud, stored_points, wait_until

TIMEOUT = 10.0
T0 = 1_732_460_000_000


def test_spool_keeps_unsent_points_across_a_restart(broker, cloud, device_id, tmp_path):
    spool = tmp_path / "spool"
    # Never connected: the batches wait in the spool, and close() leaves them there.
    with twinlink.Device(device_id, broker=broker.uri, connect=False, spool_dir=spool, batch_linger=0.01) as dev:
        dev.datapoints.record_many("spooled", [float(i) for i in range(200)], [T0 + i for i in range(200)])
        wait_until(lambda: dev.datapoints.stats().pending_points == 0, TIMEOUT, what="batches in the spool")
    assert any(spool.iterdir()), "nothing was written to the spool"

    with twinlink.Device(device_id, broker=broker.uri, spool_dir=spool, batch_linger=0.01) as dev:
        assert dev.datapoints.stats().recovered_batches > 0
        dev.datapoints.flush(TIMEOUT)
        assert dev.datapoints.stats().backlog_batches == 0
    wait_until(lambda: len(stored_points(cloud, device_id, "spooled") or []) >= 200, TIMEOUT, what="200 points at the sink")
    assert len(stored_points(cloud, device_id, "spooled")) == 200  # each exactly once


def test_shadow_persist_dir_restores_the_document_offline(broker, cloud, device_id, tmp_path):
    persist = tmp_path / "shadows"
    persist.mkdir()
    with twinlink.Device(device_id, broker=broker.uri, shadow_persist_dir=persist) as dev:
        version = dev.shadow.report({"fw": "2.0", "led": "off"}, timeout=TIMEOUT)["version"]
    with twinlink.Device(device_id, broker="mqtt://127.0.0.1:1", connect=False, shadow_persist_dir=persist) as dev:
        # No broker: what the device knows comes from the file.
        assert dev.shadow.reported == {"fw": "2.0", "led": "off"}
        assert dev.shadow.document["version"] == version


def test_aws_profile_topics_and_shadow_service(broker, device_id, tmp_path):
    # A client id of its own: two `twinlink serve` under the same (persistent) id would take the
    # broker connection from each other, the session's cloud included.
    aws_cloud = Cloud(broker.uri, tmp_path, "--profile", "aws", "--client-id", "twinlink-serve-aws").start()
    try:
        seen = []
        with twinlink.Client(broker.uri) as spy:
            spy.subscribe(f"$aws/things/{device_id}/shadow/#", lambda m: seen.append(m.topic))
            with twinlink.Device(device_id, broker=broker.uri, profile="aws") as dev, twinlink.Client(
                broker.uri, profile="aws"
            ) as app:
                assert dev.shadow.report({"led": "off"}, timeout=TIMEOUT)["state"]["reported"]["led"] == "off"
                deltas = []
                dev.shadow.on_delta(lambda delta, version: deltas.append(delta))
                app.shadow(device_id).desire({"led": "on"}, timeout=TIMEOUT)
                wait_until(lambda: deltas, TIMEOUT, what="the delta on the aws topics")
                assert deltas[-1] == {"led": "on"}
            wait_until(lambda: f"$aws/things/{device_id}/shadow/update/accepted" in seen, TIMEOUT, what="aws topics")
        assert f"$aws/things/{device_id}/shadow/update" in seen
        assert not any(t.startswith("tl/") for t in seen)
    finally:
        aws_cloud.stop()


def test_mqtt5_device_shadow_and_datapoints(broker, cloud, device_id):
    async def main():
        async with aio.Device(device_id, broker=broker.uri, mqtt_version=5, batch_linger=0.01) as dev:
            accepted = await dev.shadow.report({"v5": True})
            assert accepted["state"]["reported"]["v5"] is True
            dev.datapoints.record_many("v5", [1.0, 2.0, 3.0], [T0, T0 + 1, T0 + 2])
            await dev.datapoints.flush(TIMEOUT)
            assert dev.stats().datapoints.confirmed_points == 3

    asyncio.run(asyncio.wait_for(main(), 60))


def test_backpressure_block_waits_then_times_out_without_the_gil(own_broker, device_id):
    own_broker.stop()
    with twinlink.Device(
        device_id, broker=own_broker.uri, connect=False, delivery="broker", backpressure="block",
        backpressure_timeout=0.2, max_pending_points=100, backlog_max_bytes=4096,
        batch_max_points=10, batch_max_bytes=1024, batch_linger=0.001,
    ) as dev:
        dp = dev.datapoints
        ticks = []
        stop = threading.Event()

        def ticker():
            while not stop.is_set():
                ticks.append(time.monotonic())
                time.sleep(0.005)

        thread = threading.Thread(target=ticker)
        thread.start()
        try:
            with pytest.raises(twinlink.Timeout):
                for _ in range(10_000):
                    started = time.monotonic()
                    dp.record("x", 1.0)
            waited = time.monotonic() - started
        finally:
            stop.set()
            thread.join(TIMEOUT)
        assert waited >= 0.15  # the last record() waited for room, then gave up
        during = [t for t in ticks if started <= t <= started + waited]
        assert len(during) >= 5, "record() held the GIL while blocked"
        assert dp.stats().dropped_points == 0  # "block" never discards

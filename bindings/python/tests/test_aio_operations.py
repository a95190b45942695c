"""twinlink.aio on libtwinlink's completions: no thread per await, cancellation that reaches the
native operation, and bounded streams."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import twinlink
import twinlink.aio as aio


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def test_many_concurrent_reports_create_no_thread(broker, cloud, device_id):
    async def main():
        async with aio.Device(device_id, broker=broker.uri) as dev:
            await dev.shadow.report({"warm": True})
            threads = threading.active_count()
            results = await asyncio.gather(*(dev.shadow.report({"n": i}) for i in range(300)))
            assert threading.active_count() == threads
            assert all(r["version"] >= 1 for r in results)
            document = await dev.shadow.get()
            assert document["state"]["reported"]["n"] == 299

    run(main())


def test_cancelling_an_await_cancels_the_native_operation(own_broker, device_id):
    # No shadow service answers on this broker: the report waits until it is cancelled.
    async def main():
        async with aio.Device(device_id, broker=own_broker.uri) as dev:
            task = asyncio.ensure_future(dev.shadow.report({"a": 1}, timeout=60))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - started < 1.0
            # The native side ended too: a short timeout still reports Timeout, not a hang.
            with pytest.raises(twinlink.Timeout):
                await dev.shadow.report({"a": 2}, timeout=0.2)

    run(main())


def test_connect_timeout_and_cancel(device_id):
    async def main():
        dev = aio.Device(device_id, broker="mqtt://127.0.0.1:1", timeout=0.3)
        with pytest.raises(twinlink.Timeout):
            async with dev:
                pass
        assert dev.closed  # a failed __aenter__ leaves nothing running
        client = aio.Client("mqtt://127.0.0.1:1")
        task = asyncio.ensure_future(client.connect(timeout=60))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.close()

    run(main())


def test_flush_completes_without_a_thread(broker, device_id):
    async def main():
        async with aio.Device(device_id, broker=broker.uri, delivery="broker") as dev:
            threads = threading.active_count()
            for i in range(100):
                dev.datapoints.record("t", float(i))
            await dev.datapoints.flush()
            assert threading.active_count() == threads
            assert dev.datapoints.stats().acked_points == 100

    run(main())


def test_streams_are_bounded_and_drop_the_oldest(broker, device_id):
    async def main():
        async with aio.Client(broker.uri) as app:

            async def never(_stream):
                return lambda: None

            stream = aio.Stream(never, max_queue=3)
            for i in range(5):
                stream._put(i)
            assert stream.dropped == 2
            stream._registered(lambda: None)
            assert [await stream.__anext__() for _ in range(3)] == [2, 3, 4]
            await stream.aclose()
            assert app.is_connected

    run(main())

"""twinlink.aio: the same scenarios through asyncio (plain pytest: each test runs its own loop)."""

from __future__ import annotations

import asyncio
import time

import pytest

import twinlink
import twinlink.aio as aio
from twinlink.shadow import Delta

TIMEOUT = 10.0


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def test_device_shadow_deltas_and_report(broker, cloud, device_id):
    async def main():
        async with aio.Device(device_id, broker=broker.uri) as dev, aio.Client(broker.uri) as app:
            assert dev.is_connected
            accepted = await dev.shadow.report({"fw": "1.2.0", "led": "off"})
            assert accepted["state"]["reported"]["fw"] == "1.2.0"
            async with dev.shadow.deltas() as deltas:
                await app.shadow(device_id).desire({"led": "on"})
                delta = await asyncio.wait_for(deltas.__anext__(), TIMEOUT)
                assert delta.state == {"led": "on"} and delta.version > 0
                await dev.shadow.report(delta.state)
            while dev.shadow.document["state"].get("delta"):
                await asyncio.sleep(0.05)
            doc = await app.shadow(device_id).get()
            assert doc["state"]["reported"]["led"] == "on"
            # The same native objects behind both APIs.
            assert dev.sync.shadow.reported["led"] == "on"

    run(main())


def test_async_for_over_deltas(broker, cloud, device_id):
    async def main():
        async with aio.Device(device_id, broker=broker.uri) as dev, aio.Client(broker.uri) as app:
            seen = []

            async def follow():
                async for delta in dev.shadow.deltas():
                    seen.append(delta.state)
                    await dev.shadow.report(delta.state)
                    if len(seen) == 2:
                        break

            follower = asyncio.ensure_future(follow())
            await dev.shadow.report({"n": 0})
            other = app.shadow(device_id)
            await other.desire({"n": 1})
            while dev.shadow.document["state"]["reported"].get("n") != 1:
                await asyncio.sleep(0.05)
            await other.desire({"n": 2})
            await asyncio.wait_for(follower, TIMEOUT)
            assert seen == [{"n": 1}, {"n": 2}]

    run(main())


async def eventually(predicate, what, timeout=TIMEOUT):
    """Awaits until the coroutine function ``predicate`` returns true, for at most ``timeout`` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_deltas_registers_at_the_call_and_starts_with_the_pending_delta(broker, cloud, device_id):
    async def main():
        async with aio.Device(device_id, broker=broker.uri) as dev, aio.Client(broker.uri) as app:
            other = app.shadow(device_id)
            await dev.shadow.report({"led": "off"})
            # The delta's own message, not only the document's version: the document can arrive
            # first, and a stream registered in between would then see this delta as a new one.
            first = dev.shadow.deltas(initial=False)
            version = (await other.desire({"led": "on"}))["version"]
            assert await asyncio.wait_for(first.__anext__(), TIMEOUT) == Delta({"led": "on"}, version)
            await first.aclose()

            async def device_has(v):
                return dev.shadow.document["version"] == v

            await eventually(lambda: device_has(version), "the device to see the delta")
            pending = dev.shadow.deltas()  # registered after connect and after the delta came
            assert await asyncio.wait_for(pending.__anext__(), TIMEOUT) == Delta({"led": "on"}, version)

            later = dev.shadow.deltas(initial=False)  # registered here, not at the first __anext__
            await other.desire({"marker": 1})
            await eventually(lambda: device_has(version + 1), "the device to see the marker")
            assert await asyncio.wait_for(later.__anext__(), TIMEOUT) == Delta({"led": "on", "marker": 1}, version + 1)
            assert await asyncio.wait_for(pending.__anext__(), TIMEOUT) == Delta({"led": "on", "marker": 1}, version + 1)
            await later.aclose()
            await pending.aclose()

            seen = []

            async def got_one():
                return bool(seen)

            dev.shadow.on_delta(lambda state, v: seen.append((state, v)))
            await eventually(got_one, "the pending delta")
            assert seen == [({"led": "on", "marker": 1}, version + 1)]

    run(main())


def test_publish_subscribe_and_events(broker, device_id):
    async def main():
        app = aio.Client(broker.uri)
        events = app.events()
        async with app:
            first = await asyncio.wait_for(events.__anext__(), TIMEOUT)
            while first.state != twinlink.ConnectionState.CONNECTED:
                first = await asyncio.wait_for(events.__anext__(), TIMEOUT)
            topic = f"test/{device_id}/echo"
            async with await app.subscribe(f"test/{device_id}/#") as messages:
                ids = [await app.publish(topic, {"i": i}) for i in range(3)]
                assert len(set(ids)) == 3
                received = [await asyncio.wait_for(messages.__anext__(), TIMEOUT) for _ in range(3)]
                assert [m.json()["i"] for m in received] == [0, 1, 2]
                assert received[0].topic == topic and received[0].qos == 1
        await events.aclose()
        assert app.closed

    run(main())


def test_datapoints_and_callbacks_on_the_loop(broker, cloud, device_id):  # flush() waits for the sink's receipts
    async def main():
        loop = asyncio.get_running_loop()
        threads = []
        async with aio.Device(device_id, broker=broker.uri, batch_linger=0.05) as dev:
            dev.on_connection(lambda event: threads.append(asyncio.get_running_loop() is loop))
            dev.datapoints.record("temp", 21.5)
            t0 = int(time.time() * 1000)
            dev.datapoints.record_many("vib", [1.0, 2.0, 3.0], [t0, t0 + 1, t0 + 2])
            await dev.datapoints.flush(TIMEOUT)
            stats = dev.stats()
            assert stats.datapoints.acked_points == 4
            await dev.disconnect()
            while not threads:
                await asyncio.sleep(0.01)
        assert all(threads)

    run(main())


def test_errors_are_raised_in_the_awaiting_task(broker, cloud, device_id):
    async def main():
        async with aio.Client(broker.uri) as app:
            with pytest.raises(twinlink.NotFound):
                await app.shadow(device_id).get()
            with pytest.raises(twinlink.InvalidArgument):
                await app.publish("bad/#/topic", b"x")

    run(main())


def test_connect_failure_in_async_with(own_broker, device_id):
    async def main():
        own_broker.stop()
        with pytest.raises(twinlink.Timeout):
            async with aio.Device(device_id, broker=own_broker.uri, timeout=0.5):
                pass

    run(main())

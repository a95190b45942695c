"""on_error: an exception raised in any kind of user callback is logged and given to the device's
(or client's) on_error hooks with the callback's kind; an exception in a hook is only logged."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time

import twinlink
import twinlink.aio as aio

TIMEOUT = 10.0


class Boom(Exception):
    pass


def kinds_seen(errors: "queue.Queue", count: int):
    seen = {}
    deadline = time.monotonic() + TIMEOUT
    while len(seen) < count and time.monotonic() < deadline:
        try:
            error, kind = errors.get(timeout=0.1)
        except queue.Empty:
            continue
        assert isinstance(error, Boom), (kind, error)
        seen.setdefault(kind, str(error))
    return seen


def test_every_kind_of_sync_callback_reaches_on_error(broker, cloud, device_id, caplog):
    caplog.set_level(logging.ERROR, logger="twinlink")
    errors: "queue.Queue" = queue.Queue()
    hook_threads = set()

    def hook(error, kind):
        hook_threads.add(threading.get_ident())
        errors.put((error, kind))

    def failing_hook(error, kind):
        raise RuntimeError("the hook itself fails")

    def bad_listener(event):
        raise Boom("connection")

    with twinlink.Device(
        device_id, broker=broker.uri, connect=False, on_error=hook, on_connection=bad_listener
    ) as dev:
        dev.on_error(failing_hook)  # only logged; the other hook still runs
        dev.shadow.on_delta(lambda delta, version: (_ for _ in ()).throw(Boom("shadow delta")))
        dev.shadow.on_change(lambda document: (_ for _ in ()).throw(Boom("shadow change")))
        dev.connect(TIMEOUT)
        dev.client.subscribe(f"test/{device_id}/in", lambda m: (_ for _ in ()).throw(Boom("message")))
        dev.client.publish(f"test/{device_id}/in", b"x", on_complete=lambda mid, e: (_ for _ in ()).throw(Boom("publish")))
        with twinlink.Client(broker.uri) as app:
            app.shadow(device_id).desire({"x": 1}, timeout=TIMEOUT)
        seen = kinds_seen(errors, 5)
    assert seen == {k: k for k in ("connection", "shadow delta", "shadow change", "message", "publish")}
    assert threading.get_ident() not in hook_threads  # on the dispatcher thread
    messages = [r.getMessage() for r in caplog.records if r.name == "twinlink"]
    assert any("exception in an on_error hook" in m for m in messages)
    assert any("exception in a shadow delta callback" in m for m in messages)


def test_drop_callback_and_removed_hook(own_broker, device_id):
    own_broker.stop()
    errors: "queue.Queue" = queue.Queue()
    removed: "queue.Queue" = queue.Queue()

    def on_drop(event):
        raise Boom("datapoint drop")

    with twinlink.Device(
        device_id, broker=own_broker.uri, connect=False, delivery="broker", on_drop=on_drop,
        backlog_max_bytes=4096, batch_max_bytes=1024, batch_max_points=10, batch_linger=0.001,
    ) as dev:
        dev.on_error(lambda error, kind: errors.put((error, kind)))
        dev.on_error(lambda error, kind: removed.put(kind)).remove()
        for _ in range(50):
            dev.datapoints.record_many("x", [1.0] * 100)
            if not errors.empty():
                break
            time.sleep(0.01)
        assert kinds_seen(errors, 1) == {"datapoint drop": "datapoint drop"}
    assert removed.empty()


def test_client_on_error_and_aio_callbacks(broker, cloud, device_id):
    async def main():
        loop = asyncio.get_running_loop()
        seen = []
        on_loop = []

        def hook(error, kind):
            on_loop.append(asyncio.get_running_loop() is loop)
            seen.append((kind, str(error)))

        async def async_change(document):
            raise Boom("async shadow change")

        def bad_connection(event):
            raise Boom("aio connection")

        async with aio.Device(device_id, broker=broker.uri, on_error=hook) as dev, aio.Client(broker.uri) as app:
            dev.shadow.on_delta(lambda delta, version: (_ for _ in ()).throw(Boom("aio shadow delta")))
            dev.shadow.on_change(async_change)
            dev.on_connection(bad_connection)
            await app.shadow(device_id).desire({"y": 2})
            deadline = loop.time() + TIMEOUT
            while len(seen) < 2 and loop.time() < deadline:
                await asyncio.sleep(0.02)
            await dev.disconnect()
            while not any(k == "connection" for k, _ in seen) and loop.time() < deadline:
                await asyncio.sleep(0.02)

            # A plain Client has hooks of its own.
            app_errors = []
            app.on_error(lambda error, kind: app_errors.append(kind))
            async with await app.subscribe(f"test/{device_id}/#") as messages:
                app.sync.subscribe(f"test/{device_id}/m", lambda m: (_ for _ in ()).throw(Boom("m")))
                await app.publish(f"test/{device_id}/m", b"1")
                await asyncio.wait_for(messages.__anext__(), TIMEOUT)
                while not app_errors and loop.time() < deadline:
                    await asyncio.sleep(0.02)
            assert app_errors == ["message"]

        assert set(seen) == {
            ("connection", "aio connection"),
            ("shadow change", "async shadow change"),
            ("shadow delta", "aio shadow delta"),
        }
        assert all(on_loop)

    asyncio.run(asyncio.wait_for(main(), 60))

"""twinlink.aio on libtwinlink's completions: no thread per await, cancellation that reaches the
native operation, and bounded streams."""

from __future__ import annotations

import asyncio
import socket
import struct
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


# -- the rest of the calls that wait for the network: native completions too ---------------------


class _ScriptedBroker:
    """A fake MQTT 3.1.1 broker on loopback that answers CONNECT, PINGREQ and (when ``suback``)
    SUBSCRIBE, and nothing else: publishes are never acknowledged, unsubscribes never answered.
    Just enough to leave an operation waiting on purpose."""

    def __init__(self, suback: bool = True) -> None:
        self._suback = suback
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def uri(self) -> str:
        return f"mqtt://127.0.0.1:{self._server.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    @staticmethod
    def _read(connection: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = connection.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(0.2)
        with connection:
            while not self._stop.is_set():
                try:
                    header = self._read(connection, 1)[0]
                    length, shift = 0, 0
                    for _ in range(4):  # MQTT's remaining length: at most 4 bytes
                        byte = self._read(connection, 1)[0]
                        length |= (byte & 0x7F) << shift
                        shift += 7
                        if not byte & 0x80:
                            break
                    body = self._read(connection, length)
                except socket.timeout:
                    continue
                except (ConnectionError, OSError):
                    return
                kind = header >> 4
                if kind == 1:  # CONNECT
                    connection.sendall(b"\x20\x02\x00\x00")
                elif kind == 12:  # PINGREQ
                    connection.sendall(b"\xd0\x00")
                elif kind == 8 and self._suback:  # SUBSCRIBE: grant every filter QoS 1
                    filters, at = 0, 2
                    while at < len(body):
                        at += 2 + struct.unpack(">H", body[at : at + 2])[0] + 1
                        filters += 1
                    connection.sendall(bytes([0x90, 2 + filters]) + body[:2] + b"\x01" * filters)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._server.close()


@pytest.fixture
def scripted():
    brokers = []

    def make(suback: bool = True) -> _ScriptedBroker:
        brokers.append(_ScriptedBroker(suback))
        return brokers[-1]

    yield make
    for b in brokers:
        b.close()


@pytest.fixture
def no_pool(monkeypatch):
    """Fails the test if anything reaches the module's thread pool."""

    def refuse():
        raise AssertionError("twinlink.aio used its thread pool")

    monkeypatch.setattr(aio, "_pool", refuse)


def test_update_delete_publish_subscribe_and_disconnect_use_no_thread(broker, cloud, device_id, no_pool):
    async def main():
        dev = aio.Device(device_id, broker=broker.uri)
        await dev.connect()
        threads = threading.active_count()
        accepted = await dev.shadow.update({"state": {"desired": {"mode": "eco"}}})
        assert accepted["state"]["desired"] == {"mode": "eco"}
        document = await dev.shadow.get()
        with pytest.raises(twinlink.Conflict):
            await dev.shadow.update({"state": {"desired": {"mode": "x"}}, "version": document["version"] + 5})
        topic = f"test/{device_id}/n"
        messages = await dev.client.subscribe(f"test/{device_id}/#")
        await dev.client.publish_wait(topic, b"1")
        received = await asyncio.wait_for(messages.__anext__(), 10)
        assert received.payload == b"1"
        await messages.aclose()
        await dev.shadow.delete()
        with pytest.raises(twinlink.NotFound):
            await dev.shadow.delete()
        assert threading.active_count() == threads
        await dev.disconnect()
        assert not dev.is_connected
        await dev.connect()  # and back, after a disconnect without a waiting thread
        assert dev.is_connected
        await dev.disconnect()
        dev.sync.close()

    run(main())


def test_subscribe_and_unsubscribe_time_out_and_cancel(scripted, device_id):
    silent = scripted(suback=False)  # no SUBACK ever

    async def main():
        async with aio.Client(silent.uri) as app:
            with pytest.raises(twinlink.Timeout):
                await app.subscribe("a/#", timeout=0.2)
            task = asyncio.ensure_future(app.subscribe("b/#", timeout=60))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The native operations ended (and removed their subscriptions): another timeout is
            # still reported as one.
            with pytest.raises(twinlink.Timeout):
                await app.subscribe("c/#", timeout=0.2)
            await app.close(timeout=0.2)

    run(main())

    acking = scripted(suback=True)  # SUBACK, but no UNSUBACK

    async def unsubscribing():
        async with aio.Client(acking.uri) as app:
            stream = await app.subscribe("d/#", timeout=0.2)
            await stream.aclose()  # the UNSUBACK times out; the subscription is gone all the same
            stream = await app.subscribe("e/#", timeout=60)
            task = asyncio.ensure_future(stream.aclose())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert app.is_connected
            await app.close(timeout=0.2)

    run(unsubscribing())


def test_publish_wait_and_disconnect_time_out_and_cancel(scripted, device_id):
    silent = scripted()  # publishes are never acknowledged

    async def main():
        app = aio.Client(silent.uri)
        await app.connect()
        with pytest.raises(twinlink.Timeout):
            await app.publish_wait("t/a", b"x", timeout=0.2)
        task = asyncio.ensure_future(app.publish_wait("t/b", b"y", timeout=60))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert app.stats().inflight == 2  # both stay in flight: cancel ends the wait, not the send

        # The queue never drains: a disconnect gives up at its timeout and completes.
        await app.disconnect(timeout=0.2)
        assert not app.is_connected
        await app.connect()
        task = asyncio.ensure_future(app.disconnect(timeout=60))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await app.close(timeout=0.2)

    run(main())


def test_cancelling_update_and_delete(own_broker, device_id):
    # No shadow service answers on this broker.
    async def main():
        async with aio.Device(device_id, broker=own_broker.uri) as dev:
            for call in (
                lambda: dev.shadow.update({"state": {"desired": {"a": 1}}}, timeout=60),
                lambda: dev.shadow.delete(timeout=60),
            ):
                task = asyncio.ensure_future(call())
                await asyncio.sleep(0.2)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            with pytest.raises(twinlink.Timeout):
                await dev.shadow.update({"state": {"desired": {"a": 2}}}, timeout=0.2)
            with pytest.raises(twinlink.Timeout):
                await dev.shadow.delete(timeout=0.2)

    run(main())

"""Callbacks run on twinlink's dispatcher thread with the GIL taken only for the call; an exception
raised in one is logged on the "twinlink" logger and the dispatcher goes on; twinlink's own log
lines reach the logging module; blocking calls let other Python threads run."""

from __future__ import annotations

import logging
import queue
import threading
import time

import twinlink

TIMEOUT = 10.0


def test_raising_callback_is_logged_and_dispatcher_survives(broker, device_id, caplog):
    caplog.set_level(logging.ERROR, logger="twinlink")
    received: "queue.Queue[bytes]" = queue.Queue()
    callback_threads = set()

    def explode(message: twinlink.Message) -> None:
        callback_threads.add(threading.get_ident())
        raise RuntimeError(f"boom on {message.topic}")

    with twinlink.Client(broker.uri) as app:
        app.subscribe(f"test/{device_id}/boom", explode)
        app.subscribe(f"test/{device_id}/ok", lambda m: received.put(m.payload))
        for i in range(3):
            app.publish(f"test/{device_id}/boom", b"x")
            app.publish(f"test/{device_id}/ok", str(i).encode())
        assert [received.get(timeout=TIMEOUT) for _ in range(3)] == [b"0", b"1", b"2"]

    failures = [r for r in caplog.records if r.name == "twinlink" and "exception in a message callback" in r.message]
    assert len(failures) == 3
    assert failures[0].exc_info and isinstance(failures[0].exc_info[1], RuntimeError)
    assert "boom on" in str(failures[0].exc_info[1])
    assert callback_threads and threading.get_ident() not in callback_threads


def test_raising_delta_and_connection_callbacks(broker, cloud, device_id, caplog):
    caplog.set_level(logging.ERROR, logger="twinlink")
    deltas: "queue.Queue[dict]" = queue.Queue()

    def bad_listener(event):
        raise ValueError("listener failed")

    with twinlink.Device(device_id, broker=broker.uri, connect=False, on_connection=bad_listener) as dev:
        dev.shadow.on_delta(lambda delta, version: 1 / 0)
        dev.shadow.on_delta(lambda delta, version: deltas.put(delta))
        dev.connect(TIMEOUT)
        with twinlink.Client(broker.uri) as app:
            app.shadow(device_id).desire({"x": 1}, timeout=TIMEOUT)
            assert deltas.get(timeout=TIMEOUT) == {"x": 1}
    messages = [r.getMessage() for r in caplog.records if r.name == "twinlink"]
    assert any("exception in a shadow delta callback" in m for m in messages)
    assert any("exception in a connection callback" in m for m in messages)


def test_native_log_lines_reach_logging(own_broker, device_id, caplog):
    caplog.set_level(logging.DEBUG, logger="twinlink")
    with twinlink.Device(device_id, broker=own_broker.uri, log_level="debug"):
        pass
    lines = [r for r in caplog.records if r.name == "twinlink"]
    assert lines, "no log line from the native library"
    assert {r.levelno for r in lines} <= {logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR}


def test_other_threads_run_during_blocking_calls(own_broker, device_id):
    own_broker.stop()
    ticks = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        started = time.monotonic()
        try:
            twinlink.Device(device_id, broker=own_broker.uri, timeout=0.5)
        except twinlink.Timeout:
            pass
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(TIMEOUT)
    during = [t for t in ticks if started <= t <= started + elapsed]
    assert len(during) >= 10, "the GIL was held during connect()"


def test_callbacks_may_close_their_own_device(broker, cloud, device_id):
    closed = threading.Event()
    dev = twinlink.Device(device_id, broker=broker.uri)

    def on_delta(delta, version):
        dev.close()  # from the dispatcher thread: finished in the background
        closed.set()

    dev.shadow.on_delta(on_delta)
    with twinlink.Client(broker.uri) as app:
        app.shadow(device_id).desire({"bye": True}, timeout=TIMEOUT)
        assert closed.wait(TIMEOUT)
    assert dev.closed

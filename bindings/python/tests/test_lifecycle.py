"""Lifetimes: a connected Device dropped without close() is freed (no crash, no hang), the
interpreter exits cleanly with devices still open, and Ctrl-C interrupts a blocking call."""

from __future__ import annotations

import gc
import os
import queue
import signal
import subprocess
import sys
import textwrap
import time
import weakref

import twinlink
from local_cloud import wait_until

TIMEOUT = 15.0


def run_python(code: str, timeout: float = 30.0, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def presence(broker_uri: str, device_id: str) -> "queue.Queue[bytes]":
    statuses: "queue.Queue[bytes]" = queue.Queue()
    watcher = twinlink.Client(broker_uri)
    watcher.subscribe(f"tl/{device_id}/status", lambda m: statuses.put(m.payload))
    statuses.watcher = watcher  # type: ignore[attr-defined]
    return statuses


def test_gc_of_a_connected_device_without_close(broker, device_id):
    statuses = presence(broker.uri, device_id)
    try:
        received = []
        dev = twinlink.Device(device_id, broker=broker.uri)
        dev.client.subscribe(f"test/{device_id}", received.append)
        dev.datapoints.record("x", 1.0)
        dev.shadow.on_delta(lambda d, v: None)
        assert statuses.get(timeout=TIMEOUT) == b"online"
        native = weakref.ref(dev._native)
        del dev
        gc.collect()
        assert native() is None, "the native device is still referenced"
        # Freed in the background: the broker sees the connection end (the last will says offline).
        assert statuses.get(timeout=TIMEOUT) == b"offline"
    finally:
        statuses.watcher.close()  # type: ignore[attr-defined]


def test_many_devices_dropped_without_close(broker, device_id):
    for i in range(10):
        dev = twinlink.Device(f"{device_id}-{i}", broker=broker.uri)
        dev.datapoints.record("x", float(i))
        dev.shadow_named("cfg")
    del dev
    gc.collect()
    with twinlink.Device(device_id, broker=broker.uri) as dev:  # everything still works
        assert dev.is_connected


def test_exit_with_open_devices_and_busy_callbacks(broker, device_id):
    result = run_python(
        f"""
        import threading, twinlink
        devices = [twinlink.Device("{device_id}-" + str(i), broker="{broker.uri}") for i in range(3)]
        seen = threading.Event()
        def on_message(m):
            seen.set()
            devices[0].client.publish("test/{device_id}/loop", m.payload)  # keeps the dispatcher busy
        devices[0].client.subscribe("test/{device_id}/loop", on_message)
        devices[0].client.publish("test/{device_id}/loop", b"go")
        assert seen.wait(10)
        for d in devices:
            d.datapoints.record("x", 1.0)
        print("leaving")
        """
    )
    assert result.returncode == 0, result.stderr
    assert "leaving" in result.stdout
    assert "Fatal" not in result.stderr and "Traceback" not in result.stderr


def test_exit_from_a_thread_while_a_device_connects(own_broker, device_id):
    own_broker.stop()
    result = run_python(
        f"""
        import threading, twinlink
        def connect():
            try:
                twinlink.Device("{device_id}", broker="{own_broker.uri}", timeout=5)
            except twinlink.Timeout:
                pass
        threading.Thread(target=connect, daemon=True).start()
        print("leaving")
        """
    )
    assert result.returncode == 0, result.stderr


def test_ctrl_c_interrupts_a_blocking_call(own_broker, device_id):
    own_broker.stop()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import faulthandler, signal, time, twinlink
                # As at a terminal. A job started in the background by a shell without job control
                # (CI runners do that) inherits SIGINT ignored, and Python then installs no handler.
                signal.signal(signal.SIGINT, signal.default_int_handler)
                # Should it hang, its threads' stacks (stderr) say where, before the parent gives up.
                faulthandler.dump_traceback_later({TIMEOUT - 5}, exit=True)
                dev = twinlink.Device("{device_id}", broker="{own_broker.uri}", connect=False)
                print("connecting", flush=True)
                started = time.monotonic()
                try:
                    dev.connect(timeout=60)
                except KeyboardInterrupt:
                    print("interrupted after %.1f s" % (time.monotonic() - started), flush=True)
                dev.close(timeout=1)
                print("closed", flush=True)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "connecting"
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, out + err
    assert "interrupted after" in out
    assert float(out.split("after")[1].split()[0]) < 5
    assert "closed" in out


def test_close_waits_for_calls_in_progress(own_broker, device_id):
    own_broker.stop()
    import threading

    dev = twinlink.Device(device_id, broker=own_broker.uri, connect=False)
    outcome = []

    def connect() -> None:
        try:
            dev.connect(timeout=1)
        except twinlink.Error as e:
            outcome.append(type(e))

    thread = threading.Thread(target=connect)
    thread.start()
    time.sleep(0.2)
    dev.close(timeout=0.1)
    thread.join(TIMEOUT)
    assert outcome and issubclass(outcome[0], (twinlink.Timeout, twinlink.Canceled, twinlink.InvalidState))
    assert dev.closed

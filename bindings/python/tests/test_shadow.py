"""Shadows against `twinlink serve`: the device reports, an application sets desired state, the
device gets the delta and reports it, and the delta goes away."""

from __future__ import annotations

import queue
import threading

import pytest

import twinlink
from local_cloud import wait_until

TIMEOUT = 10.0


def test_round_trip_and_delta(broker, cloud, device_id):
    deltas: "queue.Queue[tuple]" = queue.Queue()

    with twinlink.Device(device_id, broker=broker.uri) as dev, twinlink.Client(broker.uri) as app:
        assert dev.is_connected and dev.id == device_id

        def on_delta(delta, version):
            deltas.put((delta, version))
            dev.shadow.report(delta)  # reporting from the dispatcher thread is the usual pattern

        dev.shadow.on_delta(on_delta)
        accepted = dev.shadow.report({"fw": "1.2.0", "led": "off"}, timeout=TIMEOUT)
        assert accepted["state"]["reported"] == {"fw": "1.2.0", "led": "off"}
        assert accepted["version"] >= 1

        other = app.shadow(device_id)  # the application side: any device's shadow on a plain client
        desired = other.desire({"led": "on"}, timeout=TIMEOUT)
        assert desired["state"]["desired"] == {"led": "on"}

        delta, version = deltas.get(timeout=TIMEOUT)
        assert delta == {"led": "on"}
        assert version >= desired["version"]

        def in_sync():
            doc = other.get(timeout=TIMEOUT)
            return doc if doc["state"]["reported"].get("led") == "on" else None

        doc = wait_until(in_sync, TIMEOUT, interval=0.1, what="the device's report of led=on")
        assert doc["state"].get("delta", {}) == {}
        assert doc["state"]["desired"] == {"led": "on"}
        assert doc["state"]["reported"] == {"fw": "1.2.0", "led": "on"}
        wait_until(lambda: dev.shadow.delta == {}, TIMEOUT, what="the local delta to clear")
        assert dev.shadow.reported["led"] == "on"


def test_delta_handler_with_json_pointer_and_removal(broker, cloud, device_id):
    leds: "queue.Queue[object]" = queue.Queue()
    with twinlink.Device(device_id, broker=broker.uri) as dev, twinlink.Client(broker.uri) as app:
        registration = dev.shadow.on_delta(lambda value, version: leds.put(value), path="/led")
        other = app.shadow(device_id)
        other.desire({"fan": 3}, timeout=TIMEOUT)
        other.desire({"led": "blue"}, timeout=TIMEOUT)
        assert leds.get(timeout=TIMEOUT) == "blue"
        registration.remove()
        other.desire({"led": "red"}, timeout=TIMEOUT)
        wait_until(lambda: dev.shadow.delta.get("led") == "red", TIMEOUT, what="the second delta")
        assert leds.empty()


def test_a_handler_registered_after_connect_gets_the_pending_delta(broker, cloud, device_id):
    whole: "queue.Queue[tuple]" = queue.Queue()
    leds: "queue.Queue[tuple]" = queue.Queue()
    later: "queue.Queue[tuple]" = queue.Queue()
    threads = []
    probe: "queue.Queue[int]" = queue.Queue()
    with twinlink.Device(device_id, broker=broker.uri) as dev, twinlink.Client(broker.uri) as app:
        dev.shadow.report({"led": "off"}, timeout=TIMEOUT)
        # To know when the delta event has come: the document of its version can come first, and
        # a handler that skips the pending delta still hears a delta event arriving after it.
        dev.shadow.on_delta(lambda delta, v: probe.put(v))
        other = app.shadow(device_id)
        version = other.desire({"led": "on"}, timeout=TIMEOUT)["version"]
        assert probe.get(timeout=TIMEOUT) == version
        wait_until(lambda: dev.shadow.document["version"] == version, TIMEOUT, what="the device to see the delta")

        def on_whole(delta, v):
            threads.append(threading.get_ident())
            whole.put((delta, v))

        dev.shadow.on_delta(on_whole)
        dev.shadow.on_delta(lambda value, v: leds.put((value, v)), path="/led")
        dev.shadow.on_delta(lambda delta, v: later.put((delta, v)), initial=False)
        assert whole.get(timeout=TIMEOUT) == ({"led": "on"}, version)
        assert leds.get(timeout=TIMEOUT) == ("on", version)
        assert threads == [threads[0]] and threads[0] != threading.get_ident()  # the dispatcher's

        # A marker: the next delta. The handler that opted out sees it first; the others see it
        # once, after the pending delta and nothing else.
        other.desire({"marker": 1}, timeout=TIMEOUT)
        assert later.get(timeout=TIMEOUT) == ({"led": "on", "marker": 1}, version + 1)
        assert whole.get(timeout=TIMEOUT) == ({"led": "on", "marker": 1}, version + 1)
        assert leds.get(timeout=TIMEOUT) == ("on", version + 1)
        assert whole.empty() and leds.empty() and later.empty()


def test_named_shadow_and_change_callback(broker, cloud, device_id):
    changes: "queue.Queue[dict]" = queue.Queue()
    with twinlink.Device(device_id, broker=broker.uri) as dev, twinlink.Client(broker.uri) as app:
        cfg = dev.shadow_named("cfg")
        assert cfg is dev.shadow_named("cfg") and cfg.name == "cfg"
        cfg.on_change(changes.put)
        cfg.report({"interval": 5}, timeout=TIMEOUT)
        assert changes.get(timeout=TIMEOUT)["state"]["reported"] == {"interval": 5}
        seen = app.shadow(device_id, "cfg").get(timeout=TIMEOUT)
        assert seen["state"]["reported"] == {"interval": 5}
        with pytest.raises(twinlink.NotFound) as not_found:  # the classic shadow was never written
            app.shadow(device_id).get(timeout=TIMEOUT)
        assert not_found.value.status == -18 and isinstance(not_found.value, twinlink.ShadowRejected)


def test_version_conflict_and_delete(broker, cloud, device_id):
    with twinlink.Client(broker.uri) as app:
        shadow = app.shadow(device_id)
        first = shadow.update({"state": {"desired": {"a": 1}}}, timeout=TIMEOUT)
        with pytest.raises(twinlink.Conflict) as conflict:
            shadow.update({"state": {"desired": {"a": 2}}, "version": first["version"] + 5}, timeout=TIMEOUT)
        assert conflict.value.status_name and "409" in str(conflict.value) or "onflict" in str(conflict.value)
        shadow.delete(timeout=TIMEOUT)
        with pytest.raises(twinlink.NotFound):
            shadow.get(timeout=TIMEOUT)


def test_report_while_offline_is_sent_after_connect(broker, cloud, device_id):
    dev = twinlink.Device(device_id, broker=broker.uri, connect=False)
    try:
        dev.shadow.report_nowait({"boot": 1})
        dev.shadow.report_nowait({"mode": "eco"})  # merged with the first into one update
        dev.connect(TIMEOUT)
        with twinlink.Client(broker.uri) as app:
            other = app.shadow(device_id)

            def reported():
                try:
                    return other.get(timeout=TIMEOUT)["state"]["reported"] == {"boot": 1, "mode": "eco"}
                except twinlink.NotFound:
                    return False

            wait_until(reported, TIMEOUT, interval=0.1, what="the offline reports")
    finally:
        dev.close()


def test_shadows_from_many_threads(broker, cloud, device_id):
    with twinlink.Device(device_id, broker=broker.uri) as dev:
        errors = []

        def report(i: int) -> None:
            try:
                dev.shadow.report({f"k{i}": i}, timeout=TIMEOUT)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=report, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 2)
        assert not errors
        assert all(dev.shadow.reported[f"k{i}"] == i for i in range(8))

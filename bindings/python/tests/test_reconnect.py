"""A device rides out a broker restart: it reconnects by itself, reports the connection events,
keeps its subscriptions, and sends what was queued meanwhile."""

from __future__ import annotations

import queue

import twinlink
from local_cloud import wait_until

TIMEOUT = 15.0


def test_reconnect_after_broker_restart(own_broker, device_id):
    events: "queue.Queue[twinlink.ConnectionEvent]" = queue.Queue()
    received: "queue.Queue[twinlink.Message]" = queue.Queue()
    with twinlink.Device(
        device_id, broker=own_broker.uri, reconnect_backoff=(0.05, 0.3), on_connection=events.put,
        batch_linger=0.02, delivery="broker",  # no sink on this broker sends receipts
    ) as dev:
        dev.client.subscribe(f"test/{device_id}/#", received.put)
        assert dev.stats().client.connects == 1

        own_broker.stop()
        wait_until(lambda: not dev.is_connected, TIMEOUT, what="the device to notice the outage")
        dev.client.publish(f"test/{device_id}/queued", b"sent while offline")
        dev.datapoints.record("temp", 20.0)

        own_broker.start()
        wait_until(lambda: dev.is_connected, TIMEOUT, what="the reconnect")
        message = received.get(timeout=TIMEOUT)  # through the renewed subscription
        assert message.payload == b"sent while offline"
        dev.datapoints.flush(TIMEOUT)

        stats = dev.stats()
        assert stats.client.reconnects >= 1
        assert stats.datapoints is not None and stats.datapoints.acked_points == 1

    states = []
    while not events.empty():
        states.append(events.get().state)
    assert twinlink.ConnectionState.RECONNECTING in states
    assert states.count(twinlink.ConnectionState.CONNECTED) >= 2
    assert states[-1] == twinlink.ConnectionState.DISCONNECTED


def test_disconnect_and_connect_again(own_broker, device_id):
    with twinlink.Device(device_id, broker=own_broker.uri) as dev:
        dev.disconnect()
        assert dev.state == twinlink.ConnectionState.DISCONNECTED
        dev.connect(TIMEOUT)
        assert dev.is_connected

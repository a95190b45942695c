"""The synchronous API and twinlink.aio have one shape: the same public names on Device, Client,
Shadow and Datapoints, each of the same kind, except that what waits is a coroutine in aio. The
differences that are meant are listed here, each with its reason; anything else is a mistake."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect

import pytest

import twinlink
import twinlink.aio as aio

# Methods that wait (for the broker, the cloud or a worker thread): plain and blocking in the
# synchronous API, coroutines in aio.
WAITING = {
    "Device": {"connect", "disconnect", "close"},
    "Client": {"connect", "disconnect", "close", "publish_wait", "subscribe"},
    "Shadow": {"report", "desire", "update", "get", "delete", "close"},
    "Datapoints": {"flush", "close"},
    "ModelShadow": {"report", "desire"},
}

# Names only aio has.
AIO_ONLY = {
    # every aio object exposes the synchronous one behind it (same native handles)
    "Device": {"sync", "events"},  # events(): connection events as an async iterator
    "Client": {"sync", "events"},
    "Shadow": {"sync", "deltas", "changes"},  # async iterators of what on_delta/on_change give
    "Datapoints": {"sync"},
    "ModelShadow": set(),
}

# Names only the synchronous API has: none.
SYNC_ONLY = {"Device": set(), "Client": set(), "Shadow": set(), "Datapoints": set(), "ModelShadow": set()}

# Same name, another kind (name -> (sync kind, aio kind)).
OTHER_KIND = {
    # Client.publish: sync queues at once and reports through on_complete (publish_wait waits);
    # in aio it is awaited until acknowledged (publish_nowait queues). Both APIs have all three.
    "Client": {"publish": ("method", "coroutine")},
    # subscribe waits for the SUBACK in both; sync takes a callback, aio returns a Stream.
    # close(): a device's shadow is closed with its device, the other shadows wait for the unsubscribe.
}


@dataclasses.dataclass
class State:
    led: str = "off"


def kind(obj, name):
    try:
        attribute = inspect.getattr_static(type(obj), name)
    except AttributeError:
        return "attribute"  # set by __init__
    if isinstance(attribute, property):
        return "property"
    if inspect.iscoroutinefunction(attribute):
        return "coroutine"
    if callable(attribute):
        return "method"
    return "attribute"


def public(obj):
    return {name for name in dir(obj) if not name.startswith("_")}


def test_same_names_and_kinds(device_id):
    # Instances, so that attributes set by __init__ count too; offline: nothing connects.
    async def main():
        unreachable = "mqtt://127.0.0.1:1"
        with twinlink.Device(device_id, broker=unreachable, connect=False) as sync_dev:
            sync_app = twinlink.Client(unreachable, connect=False)
            aio_dev = aio.Device(device_id, broker=unreachable)
            aio_app = aio.Client(unreachable)
            try:
                pairs = {
                    "Device": (sync_dev, aio_dev),
                    "Client": (sync_app, aio_app),
                    "Shadow": (sync_dev.shadow, aio_dev.shadow),
                    "Datapoints": (sync_dev.datapoints, aio_dev.datapoints),
                    "ModelShadow": (sync_dev.shadow.model(State), aio_dev.shadow.model(State)),
                }
                for what, (sync_obj, aio_obj) in pairs.items():
                    check(what, sync_obj, aio_obj)
            finally:
                sync_app.close()
                await aio_app.close()
                await aio_dev.close()

    asyncio.run(main())


def check(what, sync_obj, aio_obj):
    sync_names, aio_names = public(sync_obj), public(aio_obj)
    assert sync_names - aio_names == SYNC_ONLY[what], what
    assert aio_names - sync_names == AIO_ONLY[what], what
    for name in sorted(sync_names & aio_names):
        expected = OTHER_KIND.get(what, {}).get(name)
        if expected is None:
            sync_kind = kind(sync_obj, name)
            assert sync_kind != "coroutine", f"{what}.{name}"
            aio_kind = "coroutine" if name in WAITING[what] else sync_kind
            expected = (sync_kind, aio_kind)
        assert (kind(sync_obj, name), kind(aio_obj, name)) == expected, f"{what}.{name}"


def test_registration_and_nowait_are_plain_calls_in_aio(broker, cloud, device_id):
    async def main():
        async with aio.Device(device_id, broker=broker.uri) as dev:
            # Made by connect: nothing here awaits.
            registration = dev.shadow.on_delta(lambda state, version: None)
            assert isinstance(registration, twinlink.Registration)
            assert isinstance(dev.shadow.on_change(lambda document: None), twinlink.Registration)
            assert isinstance(dev.on_connection(lambda event: None), twinlink.Registration)
            assert isinstance(dev.on_error(lambda error, where: None), twinlink.Registration)
            assert dev.shadow.report_nowait({"boot": 1}) is None
            assert dev.shadow.reported["boot"] == 1  # merged into the local copy at once
            assert "state" in dev.shadow.document and dev.shadow.delta == {} and dev.shadow.desired == {}
            registration.remove()
            # report_nowait() may still be waiting behind an update in flight: a get() now could
            # reach the service before any report of this new device (404). An awaited report is
            # accepted, so the shadow exists for the get().
            await dev.shadow.report({"boot": 1})
            await dev.shadow.get()

        # A shadow of another device, asked for while connected: made on the pool; registrations
        # and _nowait calls made meanwhile are applied once it exists.
        async with aio.Client(broker.uri) as app:
            other = app.shadow(device_id)
            changes = []
            other.on_change(changes.append)
            other.desire_nowait({"led": "on"})
            document = await other.get()
            assert other.desired["led"] == "on" or document["state"]["desired"]["led"] == "on"
            deadline = asyncio.get_running_loop().time() + 10
            while not changes and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
            assert changes

    asyncio.run(asyncio.wait_for(main(), 60))

#!/usr/bin/env python3
"""An asyncio gateway: several devices behind one process, each with its own connection, shadow
and datapoints. Each follows its desired "rate" (readings per second) and streams readings.

    twinlink serve --broker mqtt://127.0.0.1:1883 --db cloud.db
    python3 examples/python/gateway_asyncio.py --broker mqtt://127.0.0.1:1883 --devices 4
    twinlink shadow desire gw-node-1 '{"rate": 20}' --broker mqtt://127.0.0.1:1883
"""

import argparse
import asyncio
import contextlib
import logging
import random

import twinlink
from twinlink.aio import Device


async def run_device(device: Device, stop: asyncio.Event) -> None:
    """One device: applies rate deltas, and records readings at that rate until `stop`."""
    state = {"rate": 2.0}
    await device.shadow.report({"rate": state["rate"], "kind": "vibration-node"})
    # Registered here, once connected: a rate desired while the device was offline comes first.
    # (connect() made the shadow: registration and the local document never wait.)
    print(f"{device.id}: shadow version {device.shadow.document.get('version', 0)}", flush=True)
    deltas = device.shadow.deltas()

    async def follow_deltas() -> None:
        async with deltas:  # unregistered when the task is cancelled
            async for delta in deltas:
                rate = delta.state.get("rate")
                if isinstance(rate, (int, float)) and 0 < rate <= 1000:
                    state["rate"] = float(rate)
                    print(f"{device.id}: rate is now {rate}/s (version {delta.version})", flush=True)
                    await device.shadow.report({"rate": rate})

    follower = asyncio.ensure_future(follow_deltas())
    try:
        while not stop.is_set():
            # A burst of readings at once, the way a sensor with a FIFO delivers them.
            burst = [random.gauss(0.0, 1.0) for _ in range(max(1, int(state["rate"] / 2)))]
            device.datapoints.record_many("vibration", burst)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
    await device.datapoints.flush(10)


async def watch(device: Device) -> None:
    async with device.events() as events:  # unregistered when the task is cancelled
        async for event in events:
            print(f"{device.id}: {event.state.name.lower()} {event.message}".rstrip(), flush=True)


async def main() -> int:
    parser = argparse.ArgumentParser(description="a twinlink gateway of several devices, on asyncio")
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--devices", type=int, default=3)
    parser.add_argument("--prefix", default="gw-node", help="device ids are PREFIX-1, PREFIX-2, ...")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(args.seconds, stop.set)
    with contextlib.suppress(NotImplementedError):
        import signal

        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)

    def on_error(error: BaseException, kind: str) -> None:
        print(f"error in a {kind} callback: {error!r}", flush=True)

    # on_error: called on this loop for an exception raised in any callback of the device.
    devices = [Device(f"{args.prefix}-{i + 1}", broker=args.broker, on_error=on_error) for i in range(args.devices)]
    watchers = [asyncio.ensure_future(watch(d)) for d in devices]
    try:
        await asyncio.gather(*(d.connect() for d in devices))
        await asyncio.gather(*(run_device(d, stop) for d in devices))
        for d in devices:
            stats = d.stats()
            print(f"{d.id}: {stats.datapoints.acked_points if stats.datapoints else 0} points sent", flush=True)
    finally:
        for w in watchers:
            w.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        await asyncio.gather(*(d.close() for d in devices), return_exceptions=True)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(asyncio.run(main()))
    except twinlink.Error as e:
        raise SystemExit(f"gateway: {e}")

#!/usr/bin/env python3
"""A sensor device: reports its state to its shadow, follows the desired state of its LED, and
streams temperature readings as datapoints.

Run the local cloud and this device, then change the LED from another terminal:

    twinlink serve --broker mqtt://127.0.0.1:1883 --db cloud.db
    python3 examples/python/sensor.py --broker mqtt://127.0.0.1:1883 --device sensor-42
    twinlink shadow desire sensor-42 '{"led": "on"}' --broker mqtt://127.0.0.1:1883
"""

import argparse
import logging
import math
import random
import time

import twinlink


def main() -> int:
    parser = argparse.ArgumentParser(description="a twinlink sensor device")
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--device", default="sensor-42")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to run (default 30)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between readings")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    # connect=False: to print the connection events from the first one on.
    with twinlink.Device(args.device, broker=args.broker, connect=False, batch_linger=1.0) as dev:
        led = {"value": "off"}
        dev.on_connection(lambda event: print(f"connection: {event.state.name.lower()} {event.message}", flush=True))
        # A callback that raises is logged; this hook also sees it (kind: "shadow delta", ...).
        dev.on_error(lambda error, kind: print(f"error in a {kind} callback: {error!r}", flush=True))
        dev.connect(timeout=10)

        accepted = dev.shadow.report({"fw": "1.2.0", "led": led["value"], "model": "th-1"})
        print(f"reported state, shadow version {accepted['version']}", flush=True)

        def on_led(value: object, version: int) -> None:
            if value not in ("on", "off"):
                logging.warning("ignoring led=%r (version %d)", value, version)
                return
            led["value"] = value
            print(f"LED is now {value} (shadow version {version})", flush=True)
            dev.shadow.report({"led": value})  # blocking calls are fine in a callback

        # Registered once connected: a change made while the device was offline is the first delta
        # it gets (on_delta delivers the pending one, unless initial=False).
        dev.shadow.on_delta(on_led, path="/led")

        deadline = time.monotonic() + args.seconds
        started = time.monotonic()
        while time.monotonic() < deadline:
            t = time.monotonic() - started
            dev.datapoints.record("temp", round(21.0 + 2 * math.sin(t / 10) + random.gauss(0, 0.05), 2))
            dev.datapoints.record("humidity", round(40 + random.random() * 5, 1))
            time.sleep(args.interval)

        dev.datapoints.flush(timeout=10)
        points = dev.datapoints.stats()
        print(
            f"sent {points.acked_points} points in {points.acked_batches} batches, "
            f"{dev.client.stats().messages_out} MQTT messages in all",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

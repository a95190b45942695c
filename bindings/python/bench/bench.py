#!/usr/bin/env python3
"""The Python benchmark of `make bench`: datapoints per second through twinlink's Python binding
against one MQTT message per point with paho-mqtt (and awscrt, the AWS IoT Device SDK v2's client,
when it is installed), all in one run on one private mosquitto; then the import time of twinlink
and the memory of a connected Device. Prints a table and writes build/bench/python.json.

Every twinlink figure counts until the last batch is acknowledged by the broker (flush()), and every
baseline until the last PUBACK, so they compare delivered points. The ratios are what to read:
absolute numbers drift on a shared machine.

    bench.py [--points N] [--baseline-points N] [--out PATH]
"""

from __future__ import annotations

import argparse
import array
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[3]
BROKER_SCRIPT = REPO / "scripts" / "broker"
WAIT = 120.0  # seconds any single wait may take


class Broker:
    """scripts/broker: a mosquitto on a free loopback port, pinned to core 0 when there are two."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="twinlink-pybench.")
        out = subprocess.run([str(BROKER_SCRIPT), "start", self.dir], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise SystemExit(f"bench: could not start mosquitto: {out.stderr}")
        self.port = int(out.stdout.strip())
        self.uri = f"mqtt://127.0.0.1:{self.port}"
        self.pinned = False
        if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
            pid = int(Path(self.dir, "pid").read_text())
            try:
                os.sched_setaffinity(pid, {0})
                os.sched_setaffinity(0, {1})
                self.pinned = True
            except OSError:
                pass

    def stop(self) -> None:
        subprocess.run([str(BROKER_SCRIPT), "stop", self.dir], capture_output=True, timeout=30)
        subprocess.run(["rm", "-rf", self.dir], timeout=30)


def timed(run: Callable[[], int]) -> Dict[str, float]:
    started = time.perf_counter()
    points = run()
    seconds = time.perf_counter() - started
    return {"points": points, "seconds": seconds, "points_per_s": points / seconds}


# -- twinlink ----------------------------------------------------------------------------------


def twinlink_device(broker: str, name: str, **options: Any):
    import twinlink

    # Room for everything a run records, so that nothing is dropped and recording never waits.
    return twinlink.Device(
        f"bench-{name}-{os.getpid()}", broker=broker, backlog_max_bytes=512 * 1024 * 1024,
        max_pending_points=20_000_000, delivery="broker", **options,  # judged at the broker, like the baseline
    )


def check_delivered(dev, points: int) -> None:
    stats = dev.datapoints.stats()
    if stats.acked_points != points or stats.dropped_points:
        raise SystemExit(f"bench: {stats.acked_points} of {points} points acknowledged, {stats.dropped_points} dropped")


def bench_record(broker: str, points: int, encoding: str = "json") -> Dict[str, float]:
    with twinlink_device(broker, "record-" + encoding, encoding=encoding) as dev:
        record = dev.datapoints.record
        flush = dev.datapoints.flush

        def run() -> int:
            for i in range(points):
                record("temp", 20.0 + (i % 100) * 0.01)
            flush(WAIT)
            return points

        result = timed(run)
        check_delivered(dev, points)
    return result


def bench_record_many(broker: str, points: int, chunk: int, encoding: str = "json") -> Dict[str, Any]:
    try:
        import numpy

        values: Any = numpy.linspace(20.0, 21.0, chunk)
        kind = "numpy float64"
    except ImportError:
        values = array.array("d", (20.0 + i / chunk for i in range(chunk)))
        kind = "array('d')"
    with twinlink_device(broker, "many-" + encoding, encoding=encoding) as dev:
        record_many = dev.datapoints.record_many
        flush = dev.datapoints.flush
        chunks = points // chunk

        def run() -> int:
            for _ in range(chunks):
                record_many("vib", values)
            flush(WAIT)
            return chunks * chunk

        result: Dict[str, Any] = timed(run)
        check_delivered(dev, chunks * chunk)
    result["array"] = kind
    result["chunk"] = chunk
    return result


# -- baselines: one message per point -----------------------------------------------------------


def point_payload(i: int) -> bytes:
    return json.dumps({"t": 1_700_000_000_000 + i, "v": 20.0 + (i % 100) * 0.01}).encode()


@contextlib.contextmanager
def paho_client(port: int, name: str, inflight: int) -> Iterator[Tuple[Any, threading.Semaphore]]:
    """A connected paho-mqtt client with its network thread running, and a semaphore released once
    per PUBACK."""
    import paho.mqtt.client as mqtt

    acked = threading.Semaphore(0)
    connected = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{name}-{os.getpid()}")
    client.max_inflight_messages_set(inflight)
    client.max_queued_messages_set(0)
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.on_publish = lambda c, u, mid, rc, p: acked.release()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if not connected.wait(WAIT):
            raise SystemExit("bench: paho-mqtt did not connect")
        yield client, acked
    finally:
        client.loop_stop()
        client.disconnect()


def wait_acks(acked: threading.Semaphore, messages: int) -> None:
    for _ in range(messages):
        if not acked.acquire(timeout=WAIT):
            raise SystemExit("bench: paho-mqtt PUBACKs missing")


def bench_paho(port: int, points: int, inflight: int) -> Dict[str, float]:
    with paho_client(port, "paho", inflight) as (client, acked):
        payloads = [point_payload(i) for i in range(points)]

        def run() -> int:
            for payload in payloads:
                client.publish("bench/paho", payload, qos=1)
            wait_acks(acked, points)
            return points

        return timed(run)


def bench_paho_batched(port: int, points: int, batch: int, inflight: int) -> Dict[str, float]:
    """What a competent engineer writes without twinlink: each point (a timestamp taken from the
    clock and a value) appended to a list, sent as one JSON message of `batch` points at QoS 1."""
    with paho_client(port, "paho-batched", inflight) as (client, acked):

        def run() -> int:
            now = time.time
            dumps = json.dumps
            messages = 0
            pending: List[tuple] = []
            for i in range(points):
                pending.append((int(now() * 1000), 20.0 + (i % 100) * 0.01))
                if len(pending) == batch:
                    client.publish("bench/paho-batched", dumps({"series": "temp", "points": pending}), qos=1)
                    messages += 1
                    pending = []
            if pending:
                client.publish("bench/paho-batched", dumps({"series": "temp", "points": pending}), qos=1)
                messages += 1
            wait_acks(acked, messages)
            return points

        return timed(run)


def bench_awscrt(port: int, points: int) -> Optional[Dict[str, float]]:
    try:
        from awscrt import io, mqtt
    except ImportError:
        return None
    bootstrap = io.ClientBootstrap(io.EventLoopGroup(1), io.DefaultHostResolver(io.EventLoopGroup(1)))
    connection = mqtt.Connection(
        client=mqtt.Client(bootstrap), host_name="127.0.0.1", port=port,
        client_id=f"bench-awscrt-{os.getpid()}", clean_session=True, keep_alive_secs=30,
    )
    connection.connect().result(WAIT)
    try:
        payloads = [point_payload(i) for i in range(points)]

        def run() -> int:
            futures = [connection.publish("bench/awscrt", p, mqtt.QoS.AT_LEAST_ONCE)[0] for p in payloads]
            for future in futures:
                future.result(WAIT)
            return points

        return timed(run)
    finally:
        connection.disconnect().result(WAIT)


# -- footprint ---------------------------------------------------------------------------------


def import_time(runs: int = 5) -> float:
    """Fastest of `runs` fresh interpreters: seconds `import twinlink` takes."""
    code = "import time; t = time.perf_counter(); import twinlink; print(time.perf_counter() - t)"
    return min(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout)
        for _ in range(runs)
    )


def device_memory(broker: str) -> Dict[str, float]:
    """Resident memory (MiB) of a fresh interpreter, after `import twinlink`, and with a connected
    Device that has used its shadow and recorded datapoints."""
    code = f"""
import json, os, time
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024
base = rss()
import twinlink
imported = rss()
dev = twinlink.Device("bench-rss-{os.getpid()}", broker="{broker}", delivery="broker")
dev.shadow.report_nowait({{"fw": "1.0"}})  # no cloud answers here
for i in range(10000):
    dev.datapoints.record("temp", 20.0)
dev.datapoints.flush(30)
time.sleep(0.2)
connected = rss()
dev.close()
print(json.dumps({{"interpreter_mib": base, "imported_mib": imported, "connected_device_mib": connected}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"bench: the memory probe failed:\n{out.stderr}")
    return json.loads(out.stdout)


# -- report ------------------------------------------------------------------------------------


def rate(x: Dict[str, float]) -> str:
    return f"{x['points_per_s']:>14,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="points through record() (default 1000000)")
    parser.add_argument("--many-points", type=int, default=5_000_000, help="points through record_many()")
    parser.add_argument("--baseline-points", type=int, default=20_000, help="messages of each baseline")
    parser.add_argument("--inflight", type=int, default=256, help="paho-mqtt's in-flight window (twinlink's default)")
    parser.add_argument("--out", default=str(REPO / "build" / "bench" / "python.json"))
    args = parser.parse_args()

    import twinlink

    broker = Broker()
    try:
        if broker.pinned:
            print("bench.py: broker pinned to core 0, benchmark to core 1")
        results: Dict[str, Any] = {}
        results["paho_mqtt_qos1"] = bench_paho(broker.port, args.baseline_points, args.inflight)
        results["awscrt_qos1"] = bench_awscrt(broker.port, args.baseline_points)
        results["paho_mqtt_batched"] = dict(bench_paho_batched(broker.port, args.points, 5000, args.inflight), batch=5000)
        results["record"] = bench_record(broker.uri, args.points)
        results["record_cbor"] = bench_record(broker.uri, args.points, "cbor")
        results["record_many"] = bench_record_many(broker.uri, args.many_points, 10_000)
        results["record_many_cbor"] = bench_record_many(broker.uri, args.many_points, 10_000, "cbor")
        footprint = device_memory(broker.uri)
        footprint["import_s"] = import_time()
    finally:
        broker.stop()

    paho = results["paho_mqtt_qos1"]["points_per_s"]
    rows: List[tuple] = [
        ("paho-mqtt, 1 message per point, QoS 1", results["paho_mqtt_qos1"], "1.0x (baseline)"),
    ]
    if results["awscrt_qos1"] is not None:
        rows.append(("awscrt (AWS IoT SDK v2), 1 message per point, QoS 1", results["awscrt_qos1"], None))
    rows.append(("paho-mqtt, 5000 points per JSON message by hand, QoS 1", results["paho_mqtt_batched"], None))
    rows += [
        ("twinlink record(), 1 call per point, JSON", results["record"], None),
        ("twinlink record(), 1 call per point, CBOR", results["record_cbor"], None),
        (f"twinlink record_many() of {results['record_many']['array']} x 10000, JSON", results["record_many"], None),
        (f"twinlink record_many() of {results['record_many']['array']} x 10000, CBOR", results["record_many_cbor"], None),
    ]
    ratios = {}
    print()
    batched = results["paho_mqtt_batched"]["points_per_s"]
    print(f"{'datapoints delivered (acknowledged by the broker)':<62} {'points/s':>14}  {'vs paho-mqtt':>14}"
          f"  {'vs by hand':>10}")
    for label, result, fixed in rows:
        ratio = result["points_per_s"] / paho
        ratios[label] = ratio
        print(f"{label:<62} {rate(result)}  {fixed or f'{ratio:,.1f}x':>14}  {result['points_per_s'] / batched:>9,.1f}x")
    if results["awscrt_qos1"] is None:
        print(f"{'awscrt (AWS IoT SDK v2)':<62} {'not installed':>14}")
    print()
    print(f"import twinlink: {footprint['import_s'] * 1000:.1f} ms")
    print(
        f"resident memory: interpreter {footprint['interpreter_mib']:.1f} MiB, + import "
        f"{footprint['imported_mib'] - footprint['interpreter_mib']:.1f} MiB, + connected Device "
        f"{footprint['connected_device_mib'] - footprint['imported_mib']:.1f} MiB "
        f"(total {footprint['connected_device_mib']:.1f} MiB)"
    )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "twinlink": twinlink.library_version(),
                "cpu_pinned": broker.pinned,
                "results": results,
                "speedup_vs_paho_mqtt_batched": {
                    key: results[key]["points_per_s"] / batched
                    for key in ("record", "record_cbor", "record_many", "record_many_cbor")
                },
                "speedup_vs_paho_mqtt": {
                    "record": results["record"]["points_per_s"] / paho,
                    "record_cbor": results["record_cbor"]["points_per_s"] / paho,
                    "record_many": results["record_many"]["points_per_s"] / paho,
                    "record_many_cbor": results["record_many_cbor"]["points_per_s"] / paho,
                    "awscrt": None
                    if results["awscrt_qos1"] is None
                    else results["awscrt_qos1"]["points_per_s"] / paho,
                },
                "footprint": footprint,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"bench.py: wrote {os.path.relpath(out, Path.cwd())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""How many threads and how long 1,000 concurrent ``await dev.shadow.report(...)`` take with
twinlink.aio, against ``twinlink serve`` on a private mosquitto. Prints a table and writes
build/bench/python_aio.json.

Threads are counted twice, by Python (threading.active_count()) and by the kernel (Threads in
/proc/self/status, which also sees twinlink's native threads): before the awaits start, at the
highest point while they are pending, and after.

    aio_concurrency.py [--awaits N] [--out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "bindings" / "python" / "tests"))

from local_cloud import Broker, Cloud  # noqa: E402  (the test fixtures: mosquitto and twinlink serve)

import twinlink  # noqa: E402
from twinlink import aio  # noqa: E402


def kernel_threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


async def run(broker: str, awaits: int) -> Dict[str, Any]:
    async with aio.Device("bench-aio", broker=broker) as dev:
        await dev.shadow.report({"warm": True})  # the shadow is made and subscribed
        before = {"python": threading.active_count(), "kernel": kernel_threads()}
        peak = dict(before)
        stop = asyncio.Event()

        async def sample() -> None:
            while not stop.is_set():
                peak["python"] = max(peak["python"], threading.active_count())
                peak["kernel"] = max(peak["kernel"], kernel_threads())
                await asyncio.sleep(0.005)

        sampler = asyncio.ensure_future(sample())
        started = time.perf_counter()
        results = await asyncio.gather(*(dev.shadow.report({"n": i}, timeout=60) for i in range(awaits)))
        elapsed = time.perf_counter() - started
        stop.set()
        await sampler
        after = {"python": threading.active_count(), "kernel": kernel_threads()}
        assert len(results) == awaits
        return {"awaits": awaits, "seconds": elapsed, "before": before, "peak": peak, "after": after}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--awaits", type=int, default=1000)
    parser.add_argument("--out", default=str(REPO / "build" / "bench" / "python_aio.json"))
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="twinlink-aio-bench."))
    broker = Broker(directory).start()
    cloud = Cloud(broker.uri, directory).start()
    try:
        result = asyncio.run(run(broker.uri, args.awaits))
    finally:
        cloud.stop()
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)
    result["twinlink"] = twinlink.__version__
    print(f"{args.awaits} concurrent `await dev.shadow.report()` against twinlink serve")
    print(f"{'':10}{'python threads':>16}{'kernel threads':>16}")
    for key in ("before", "peak", "after"):
        print(f"{key:10}{result[key]['python']:>16}{result[key]['kernel']:>16}")
    print(f"wall time {result['seconds']:.3f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The examples in examples/python run against the local cloud, and react to a desired change."""

from __future__ import annotations

import subprocess
import sys
import time

import twinlink
from local_cloud import REPO_ROOT, wait_until

EXAMPLES = REPO_ROOT / "examples" / "python"


def start(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(EXAMPLES / script), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(process: subprocess.Popen, timeout: float = 30.0) -> str:
    try:
        out, _ = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, out
    return out


def test_sensor(broker, cloud, device_id):
    process = start("sensor.py", "--broker", broker.uri, "--device", device_id, "--seconds", "3", "--interval", "0.01")
    with twinlink.Client(broker.uri) as app:
        shadow = app.shadow(device_id)

        def reported():
            try:
                return shadow.get(timeout=5)["state"]["reported"].get("fw") == "1.2.0"
            except twinlink.NotFound:
                return False

        wait_until(reported, 20, interval=0.1, what="the sensor's first report")
        shadow.desire({"led": "on"}, timeout=5)
    out = finish(process)
    assert "LED is now on" in out
    assert "points in" in out


def test_gateway(broker, cloud, device_id):
    prefix = device_id[-30:]
    process = start("gateway_asyncio.py", "--broker", broker.uri, "--devices", "3", "--prefix", prefix, "--seconds", "4")
    with twinlink.Client(broker.uri) as app:
        shadow = app.shadow(f"{prefix}-2")

        def reported():
            try:
                return shadow.get(timeout=5)["state"]["reported"].get("rate") == 2.0
            except twinlink.NotFound:
                return False

        wait_until(reported, 20, interval=0.1, what="the gateway's first report")
        time.sleep(0.2)
        shadow.desire({"rate": 40}, timeout=5)
    out = finish(process)
    assert f"{prefix}-2: rate is now 40/s" in out
    for i in (1, 2, 3):
        assert f"{prefix}-{i}: " in out and "points sent" in out

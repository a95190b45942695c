"""No twinlink callback runs on Paho's threads, and native calls that enter Paho do not hold the GIL.

Paho holds its own lock while it handles an acknowledgement. If the warning about a publish the
broker refused went to the ``logging`` module right there, the thread handling the PUBACK would wait
for the GIL while holding Paho's lock, and a Python thread that publishes (holding the GIL, waiting
for Paho's lock) would deadlock with it. The scenario runs in a subprocess with a timeout, so a
deadlock fails the test instead of hanging the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from local_cloud import Broker

DEADLOCK_TIMEOUT = 60.0

SCRIPT = textwrap.dedent(
    """
    import logging
    import sys
    import threading

    import twinlink

    uri, device = sys.argv[1], sys.argv[2]


    class Counting(logging.Handler):
        # Needs the GIL for every line, like any handler written in Python.
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.refused = 0

        def emit(self, record):
            if "refused a publish" in record.getMessage():
                self.refused += 1


    handler = Counting()
    logger = logging.getLogger("twinlink")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    app = twinlink.Client(uri, mqtt_version=5, log_level="warning")
    noise = twinlink.Client(uri, log_level="error")
    shadow = app.shadow(device)  # its response handler logs every response that is not JSON
    done = threading.Event()


    def publish_refused():
        # The broker refuses every one of these (PUBACK reason code 0x87): each is logged.
        for i in range(3000):
            app.publish(f"denied/{device}", b"x", qos=1)
        done.set()


    def publish_noise():
        for i in range(3000):
            if done.is_set():
                break
            noise.publish(f"tl/{device}/shadow/get/accepted", b"not json", qos=1)


    threads = [threading.Thread(target=publish_refused), threading.Thread(target=publish_noise)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    app.publish_wait(f"test/{device}/last", b"x", qos=1)  # after the refusals, in order
    noise.close()
    app.close()
    print("refused", handler.refused, flush=True)
    """
)


class RefusingBroker(Broker):
    """A mosquitto that refuses publishes to denied/# (MQTT 5 clients get PUBACK 0x87)."""

    def _config(self) -> str:
        acl = self.directory / "acl"
        acl.write_text("topic readwrite #\ntopic deny denied/#\n")
        return super()._config() + f"acl_file {acl}\n"


@pytest.fixture
def refusing_broker(tmp_path):
    b = RefusingBroker(tmp_path / "refusing-broker").start()
    yield b
    b.stop()


def test_log_handler_needing_the_gil_while_another_thread_publishes(refusing_broker, device_id):
    try:
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, refusing_broker.uri, device_id],
            capture_output=True,
            text=True,
            timeout=DEADLOCK_TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"deadlock: the publishing script did not finish within {DEADLOCK_TIMEOUT} s\n{e.stderr or ''}")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("refused ")]
    assert lines, result.stdout + result.stderr
    assert int(lines[0].split()[1]) > 0, "the refused publishes were not logged"

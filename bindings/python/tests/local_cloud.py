"""What the tests run against, all on loopback and started by the tests themselves: a mosquitto
with a plain, a TLS and a mutual-TLS listener (certificates made with openssl at test time), and
the reference cloud service ``twinlink serve``. Every wait here is bounded."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

REPO_ROOT = Path(__file__).resolve().parents[3]
TWINLINK_CLI = REPO_ROOT / "build" / "tools" / "twinlink" / "twinlink"
MOSQUITTO = os.environ.get("TWINLINK_MOSQUITTO", "/usr/sbin/mosquitto")

READY_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


class FixtureError(RuntimeError):
    pass


def wait_until(condition, timeout: float, interval: float = 0.02, what: str = "condition"):
    """Polls ``condition`` until it returns something true, for ``timeout`` seconds at most."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)


# -- certificates ----------------------------------------------------------------------------

_OPENSSL_CONFIG = """# Written by the twinlink Python tests.
[req]
distinguished_name = req_dn
[req_dn]

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path  # a CA that signed nothing the broker uses


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise FixtureError(f"openssl {' '.join(args)} failed:\n{result.stderr}")


def make_tls_files(directory: Path) -> TlsFiles:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "openssl.cnf"
    config.write_text(_OPENSSL_CONFIG)
    # Our own config, so that neither the system's openssl.cnf nor $OPENSSL_CONF changes anything.
    env_config = ["-config", str(config)]

    def key(path: Path) -> None:
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))

    def ca(name: str, stem: str) -> None:
        key(directory / f"{stem}.key")
        _openssl("req", *env_config, "-new", "-x509", "-sha256", "-days", "2", "-set_serial", "1",
                 "-subj", f"/CN={name}", "-extensions", "ca_ext", "-key", str(directory / f"{stem}.key"),
                 "-out", str(directory / f"{stem}.crt"))

    def signed(stem: str, common_name: str, extensions: str, serial: str) -> None:
        key(directory / f"{stem}.key")
        request = directory / f"{stem}.csr"
        _openssl("req", *env_config, "-new", "-sha256", "-subj", f"/CN={common_name}",
                 "-key", str(directory / f"{stem}.key"), "-out", str(request))
        _openssl("x509", "-req", "-sha256", "-days", "2", "-set_serial", serial, "-in", str(request),
                 "-CA", str(directory / "ca.crt"), "-CAkey", str(directory / "ca.key"),
                 "-extfile", str(config), "-extensions", extensions, "-out", str(directory / f"{stem}.crt"))
        request.unlink()

    ca("twinlink python test CA", "ca")
    signed("server", "localhost", "server_ext", "2")
    signed("client", "twinlink-python-test-client", "client_ext", "3")
    ca("twinlink python other CA", "other-ca")
    return TlsFiles(
        ca_cert=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
        other_ca_cert=directory / "other-ca.crt",
    )


# -- mosquitto -------------------------------------------------------------------------------


class Broker:
    """A mosquitto on free loopback ports: plain (``uri``), TLS (``tls_uri``) and mutual TLS
    (``mtls_uri``) when ``tls`` is given. stop()/start() keep the ports, so clients can reconnect."""

    def __init__(self, directory: Path, tls: Optional[TlsFiles] = None) -> None:
        if not os.access(MOSQUITTO, os.X_OK):
            raise FixtureError(f"{MOSQUITTO} not found (scripts/bootstrap installs mosquitto)")
        self.directory = directory
        self.tls = tls
        self.process: Optional[subprocess.Popen] = None
        self.ports: List[int] = []
        directory.mkdir(parents=True, exist_ok=True)
        self.log = directory / "mosquitto.log"

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def uri(self) -> str:
        return f"mqtt://127.0.0.1:{self.ports[0]}"

    @property
    def tls_uri(self) -> str:
        return f"mqtts://localhost:{self.ports[1]}"

    @property
    def mtls_uri(self) -> str:
        return f"mqtts://localhost:{self.ports[2]}"

    def _config(self) -> str:
        lines = ["# Written by the twinlink Python tests."]
        if os.geteuid() == 0:
            lines.append("user root")  # as root, mosquitto would switch to a user that may not write here
        lines += [
            "per_listener_settings false",
            "allow_anonymous true",
            "persistence false",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "max_inflight_messages 0",
            "max_queued_messages 1000000",
            f"listener {self.ports[0]} 127.0.0.1",
        ]
        if self.tls is not None:
            lines += [
                f"listener {self.ports[1]} 127.0.0.1",
                f"certfile {self.tls.server_cert}",
                f"keyfile {self.tls.server_key}",
                f"listener {self.ports[2]} 127.0.0.1",
                f"certfile {self.tls.server_cert}",
                f"keyfile {self.tls.server_key}",
                f"cafile {self.tls.ca_cert}",
                "require_certificate true",
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> "Broker":
        """Starts it, on the same ports as before if it ran already."""
        keep_ports = bool(self.ports)
        for _attempt in range(20):
            if not keep_ports:
                count = 3 if self.tls is not None else 1
                self.ports = [free_port() for _ in range(count)]
                if len(set(self.ports)) != count:
                    continue
            if self._launch():
                return self
            if keep_ports:
                time.sleep(0.1)  # the old listener's port may still be held for a moment
        raise FixtureError(f"mosquitto did not start (see {self.log})")

    def _launch(self) -> bool:
        config = self.directory / "mosquitto.conf"
        config.write_text(self._config())
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")[offset:] if self.log.exists() else ""
            if self.process.poll() is not None:
                if "Address already in use" in text:
                    return False
                raise FixtureError(f"mosquitto exited while starting:\n{text}")
            # "running" is logged once every listener is open.
            if " running" in text and all(accepts_connections(p) for p in self.ports):
                return True
            time.sleep(0.02)
        stop_process(self.process, signal.SIGKILL)
        raise FixtureError(f"mosquitto did not get ready in {READY_TIMEOUT} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def kill(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGKILL)
            self.process = None


# -- twinlink serve --------------------------------------------------------------------------


class Cloud:
    """``twinlink serve --broker URI --db PATH``: the shadow service (and datapoint sink) of the
    repository's C++ build."""

    def __init__(self, broker_uri: str, directory: Path, *extra: str) -> None:
        if not os.access(TWINLINK_CLI, os.X_OK):
            raise FixtureError(f"{TWINLINK_CLI} is missing: run `make build` first")
        self.broker_uri = broker_uri
        self.db = directory / "cloud.db"
        self.log = directory / "serve.log"
        self.process: Optional[subprocess.Popen] = None
        self.extra = list(extra)  # more options of `twinlink serve`, e.g. "--profile", "aws"

    def start(self) -> "Cloud":
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(TWINLINK_CLI), "serve", "--broker", self.broker_uri, "--db", str(self.db), *self.extra],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise FixtureError(f"twinlink serve exited:\n{self.log.read_text()}")
            return "twinlink serve: ready" in self.log.read_text(errors="replace")

        wait_until(ready, READY_TIMEOUT, what="twinlink serve to get ready")
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def cli(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Runs ``twinlink ARGS...`` against this cloud's database."""
        return subprocess.run(
            [str(TWINLINK_CLI), *args], capture_output=True, text=True, timeout=timeout
        )

    def stores_datapoints(self) -> bool:
        """Whether this build's `twinlink serve` runs the datapoint sink (read with `twinlink dp query`)."""
        serve = self.cli("serve", "--help", timeout=10)
        query = self.cli("dp", "query", "--help", timeout=10)
        return "datapoint sink" in serve.stdout and query.returncode == 0


def tool_exists(name: str) -> bool:
    return shutil.which(name) is not None


# -- an independent receiver of datapoint batches -----------------------------------------------


class BatchCollector:
    """Receives a device's datapoint batches with paho-mqtt (not twinlink), decodes them (JSON, as
    docs/protocol.md describes them) and drops redeliveries by (device, seq, batch id), the way a
    sink does."""

    def __init__(self, broker_uri: str, topic: str) -> None:
        import threading

        import paho.mqtt.client as mqtt

        host, port = broker_uri.split("://", 1)[1].rsplit(":", 1)
        self._lock = threading.Lock()
        self.batches = {}  # (device, seq, batch id) -> decoded batch
        self.deliveries = 0
        subscribed = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, clean_session=True)
        self._client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect(host, int(port))
        self._client.loop_start()
        if not subscribed.wait(READY_TIMEOUT):
            self.close()
            raise FixtureError(f"paho-mqtt could not subscribe to {topic} on {broker_uri}")

    def _on_message(self, client, userdata, message) -> None:
        import json

        batch = json.loads(message.payload)
        with self._lock:
            self.deliveries += 1
            self.batches.setdefault((batch["device"], batch["seq"], batch["batch"]), batch)

    def points(self, series: str) -> list:
        """(timestamp ms, value) of every point of ``series`` received, duplicates dropped."""
        with self._lock:
            batches = list(self.batches.values())
        out = []
        for batch in batches:
            data = batch["series"].get(series)
            if data:
                out += [(batch["t0"] + t, v) for t, v in zip(data["t"], data["v"])]
        return out

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def stored_points(cloud: "Cloud", device: str, series: str) -> Optional[List[str]]:
    """The lines `twinlink dp query DEVICE SERIES --db PATH` prints (one per point), or None
    while the device has none stored."""
    result = cloud.cli("dp", "query", device, series, "--db", str(cloud.db))
    if result.returncode != 0:
        if "no datapoints" in result.stderr or "has no series" in result.stderr:
            return None
        raise AssertionError(f"twinlink dp query failed: {result.stderr}")
    return result.stdout.splitlines()


# -- a TCP proxy whose connections can be cut ----------------------------------------------------


class TcpProxy:
    """Forwards loopback connections to ``target_port``; cut() drops every connection at once,
    as a network failure would, while the broker and its other clients carry on."""

    def __init__(self, target_port: int) -> None:
        import selectors
        import threading

        self._target = target_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._peers = {}  # socket -> the socket it forwards to
        self._lock = threading.Lock()
        self._cut_requested = False
        self._stopped = False
        self.cuts = 0
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def cut(self) -> None:
        with self._lock:
            self._cut_requested = True

    def close(self) -> None:
        self._stopped = True
        self._thread.join(STOP_TIMEOUT)

    def _drop(self, sock) -> None:
        peer = self._peers.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._peers.pop(s, None)
            try:
                self._selector.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    def _run(self) -> None:
        import selectors

        while not self._stopped:
            with self._lock:
                cut, self._cut_requested = self._cut_requested, False
            if cut:
                for sock in list(self._peers):
                    self._drop(sock)
                self.cuts += 1
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                if sock is self._listener:
                    try:
                        client, _ = self._listener.accept()
                        upstream = socket.create_connection(("127.0.0.1", self._target), timeout=2)
                    except OSError:
                        continue
                    for s in (client, upstream):
                        s.setblocking(False)
                        self._selector.register(s, selectors.EVENT_READ, None)
                    self._peers[client], self._peers[upstream] = upstream, client
                    continue
                if sock not in self._peers:
                    continue
                try:
                    data = sock.recv(65536)
                    if data:
                        self._peers[sock].setblocking(True)
                        self._peers[sock].sendall(data)
                        self._peers[sock].setblocking(False)
                        continue
                except OSError:
                    pass
                self._drop(sock)
        for sock in list(self._peers):
            self._drop(sock)
        self._selector.close()
        self._listener.close()

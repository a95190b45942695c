"""Fixtures: one mosquitto (plain, TLS, mutual TLS) and one `twinlink serve` for the session, a
broker of its own for the tests that stop it, and a fresh device id per test."""

from __future__ import annotations

import re
import uuid

import pytest

from local_cloud import Broker, Cloud, make_tls_files


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def broker(tmp_path_factory, tls_files):
    b = Broker(tmp_path_factory.mktemp("broker"), tls=tls_files).start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def cloud(broker, tmp_path_factory):
    c = Cloud(broker.uri, tmp_path_factory.mktemp("cloud")).start()
    yield c
    c.stop()


@pytest.fixture
def own_broker(tmp_path):
    """A broker that the test may stop and start again."""
    b = Broker(tmp_path / "own-broker").start()
    yield b
    b.stop()


@pytest.fixture
def device_id(request) -> str:
    """A device id no other test uses: shadows and datapoints of earlier tests stay apart."""
    stem = re.sub(r"[^A-Za-z0-9_:.-]", "-", request.node.name)[:60]
    return f"{stem}-{uuid.uuid4().hex[:8]}"

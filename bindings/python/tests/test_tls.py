"""TLS: the right CA connects, a wrong CA fails with TlsError at once, mutual TLS with a client
certificate."""

from __future__ import annotations

import time

import pytest

import twinlink

TIMEOUT = 10.0


def test_right_ca(broker, tls_files, device_id):
    with twinlink.Device(device_id, broker=broker.tls_uri, tls_ca=tls_files.ca_cert, timeout=TIMEOUT) as dev:
        assert dev.is_connected
        dev.client.publish_wait(f"test/{device_id}", b"over tls", timeout=TIMEOUT)


def test_wrong_ca_raises_tls_error(broker, tls_files, device_id):
    started = time.monotonic()
    with pytest.raises(twinlink.TlsError) as e:
        twinlink.Device(device_id, broker=broker.tls_uri, tls_ca=tls_files.other_ca_cert, timeout=TIMEOUT)
    assert e.value.status == -5 and isinstance(e.value, ConnectionError)
    assert time.monotonic() - started < TIMEOUT / 2, "a certificate failure is reported at once"


def test_mutual_tls(broker, tls_files, device_id):
    with twinlink.Client(
        broker.mtls_uri, tls_ca=str(tls_files.ca_cert), tls_cert=tls_files.client_cert,
        tls_key=tls_files.client_key, timeout=TIMEOUT,
    ) as app:
        assert app.is_connected
    with pytest.raises((twinlink.TlsError, twinlink.AuthError, twinlink.Timeout)):
        twinlink.Client(broker.mtls_uri, tls_ca=tls_files.ca_cert, timeout=2)  # no client certificate


def test_insecure_skips_verification(broker, tls_files, device_id, caplog):
    with twinlink.Client(broker.tls_uri, tls_insecure=True, timeout=TIMEOUT) as app:
        assert app.is_connected

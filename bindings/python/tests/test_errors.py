"""Bad arguments raise clear errors; the error classes carry the C status."""

from __future__ import annotations

import pickle

import pytest

import twinlink


def test_error_hierarchy():
    assert issubclass(twinlink.InvalidArgument, ValueError)
    assert issubclass(twinlink.Timeout, TimeoutError)
    assert issubclass(twinlink.NotConnected, ConnectionError)
    assert issubclass(twinlink.TlsError, ConnectionError)
    assert issubclass(twinlink.Conflict, twinlink.ShadowRejected)
    assert issubclass(twinlink.NotFound, twinlink.ShadowRejected)
    for cls in (twinlink.QueueFull, twinlink.StorageError, twinlink.InvalidState):
        assert issubclass(cls, twinlink.Error)
    e = twinlink.Timeout("took too long")
    assert e.status == -3 and e.status_name == "timeout" and str(e) == "took too long"
    copy = pickle.loads(pickle.dumps(e))
    assert type(copy) is twinlink.Timeout and copy.status == -3 and copy.message == "took too long"


def test_bad_broker_uri():
    with pytest.raises(twinlink.InvalidArgument) as e:
        twinlink.Device("dev-1", broker="http://example.invalid", connect=False)
    assert e.value.status == -1 and e.value.status_name == "invalid argument"
    assert "http://example.invalid" in str(e.value) and "scheme" in str(e.value)


def test_no_broker(monkeypatch):
    monkeypatch.delenv("TWINLINK_BROKER", raising=False)
    with pytest.raises(twinlink.InvalidArgument, match="broker"):
        twinlink.Device("dev-1")


def test_bad_device_id(broker):
    with pytest.raises(twinlink.InvalidArgument) as e:
        twinlink.Device("bad/id", broker=broker.uri, connect=False)
    assert "bad/id" in str(e.value)
    with pytest.raises(TypeError):
        twinlink.Device(42, broker=broker.uri)  # type: ignore[arg-type]


def test_unknown_option_is_a_type_error(broker):
    with pytest.raises(TypeError, match="unexpected keyword argument 'batch_max_pionts'"):
        twinlink.Device("dev-1", broker=broker.uri, connect=False, batch_max_pionts=10)
    with pytest.raises(TypeError, match="unexpected keyword argument 'encoding'"):
        twinlink.Client(broker.uri, connect=False, encoding="cbor")


@pytest.mark.parametrize(
    "options, words",
    [
        ({"encoding": "xml"}, ["encoding", "'json'", "'cbor'"]),
        ({"backpressure": "panic"}, ["backpressure", "'block'"]),
        ({"mqtt_version": 6}, ["mqtt_version"]),
        ({"keepalive": -1}, ["keepalive"]),
        ({"batch_max_bytes": 10}, ["max_bytes"]),
        ({"reconnect_backoff": (5, 1)}, ["min_ms"]),
        ({"prefix": "a/+/b"}, ["prefix"]),
        ({"tls_cert": "/x.pem"}, ["tls_cert", "tls_key"]),
        ({"spool_fsync": "never"}, ["spool_dir"]),
    ],
)
def test_invalid_options_name_the_problem(broker, options, words):
    with pytest.raises(twinlink.InvalidArgument) as e:
        twinlink.Device("dev-1", broker=broker.uri, connect=False, **options)
    for word in words:
        assert word in str(e.value), f"{word!r} not in {str(e.value)!r}"


def test_invalid_calls(broker, device_id):
    with twinlink.Device(device_id, broker=broker.uri) as dev:
        dp = dev.datapoints
        with pytest.raises(twinlink.InvalidArgument, match="name"):
            dp.record("a/b", 1.0)
        with pytest.raises(twinlink.InvalidArgument):
            dp.record("", 1.0)
        with pytest.raises(twinlink.InvalidArgument):
            dp.record("nan", float("nan"))
        with pytest.raises(twinlink.InvalidArgument, match="64 bits"):
            dp.record("huge", 2**70)
        with pytest.raises(TypeError, match="list"):
            dp.record("list", [1, 2])
        with pytest.raises(TypeError, match="timestamp"):
            dp.record("t", 1.0, "yesterday")
        with pytest.raises(twinlink.InvalidArgument, match="3 elements but values has 2"):
            dp.record_many("v", [1.0, 2.0], [1, 2, 3])
        with pytest.raises(TypeError):
            dp.record_many("v", 5)
        with pytest.raises(TypeError, match="bool"):
            dp.record_many("v", [True, False])
        assert dp.stats().recorded == 0
        client = dev.client
        with pytest.raises(twinlink.InvalidArgument, match="topic"):
            client.publish("a/+/b", b"x")
        with pytest.raises(twinlink.InvalidArgument):
            client.publish("a/b", b"x", qos=3)
        with pytest.raises(TypeError, match="payload"):
            client.publish("a/b", 12)  # type: ignore[arg-type]
        with pytest.raises(twinlink.InvalidArgument):
            client.subscribe("a/#/b", lambda m: None)
        with pytest.raises(twinlink.InvalidArgument):
            dev.shadow.report({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}})
        with pytest.raises(TypeError, match="dict"):
            dev.shadow.report(["not", "an", "object"])  # type: ignore[arg-type]
        with pytest.raises(twinlink.InvalidArgument):
            dev.shadow.on_delta(lambda d, v: None, path="no-slash")
        with pytest.raises(twinlink.InvalidArgument):
            dev.shadow_named("bad name")
        with pytest.raises(twinlink.InvalidState, match="close the device"):
            client.close()


def test_use_after_close(broker, device_id):
    dev = twinlink.Device(device_id, broker=broker.uri)
    shadow, dp, client = dev.shadow, dev.datapoints, dev.client
    dev.close()
    dev.close()  # idempotent
    assert dev.closed and "closed" in repr(dev)
    for call in (lambda: dp.record("x", 1.0), lambda: shadow.report({"a": 1}), lambda: client.stats(), dev.connect):
        with pytest.raises(twinlink.InvalidState, match="closed"):
            call()


def test_connect_timeout_and_not_connected(own_broker, device_id):
    own_broker.stop()
    with pytest.raises(twinlink.Timeout) as e:
        twinlink.Device(device_id, broker=own_broker.uri, timeout=0.3)
    assert e.value.status == -3
    with twinlink.Client(own_broker.uri, connect=False) as app:
        with pytest.raises(twinlink.NotConnected):
            app.shadow(device_id).get(timeout=1)
        with pytest.raises(twinlink.Timeout):
            app.publish_wait("a/b", "x", timeout=0.2)

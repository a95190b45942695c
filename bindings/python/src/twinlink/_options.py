"""Keyword arguments of Device and Client -> the options objects of the C ABI.

Every option of the core is a keyword argument; an option that is not given keeps the core's
default. Times are in seconds (float), sizes in bytes. The TypedDicts below are the list, and type
checkers check the keyword arguments against them.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, TypedDict, Union

from . import _native
from ._errors import InvalidArgument
from ._events import ErrorHooks
from ._log import LogLevel, emit, native_level
from ._types import Backpressure, ConnectionEvent, Delivery, DropEvent, Encoding, Fsync, Overflow, Profile
from .runtime import Runtime


PathLike = Union[str, "os.PathLike[str]"]
Brokers = Union[str, Sequence[str], None]


class ClientOptions(TypedDict, total=False):
    """Options of the MQTT connection, shared by Device and Client."""

    client_id: str  #: default: the device id (Device), a random "tl-..." id (Client)
    username: str
    password: str
    mqtt_version: Union[int, str]  #: 4 or "3.1.1" (default), 5 or "5"
    clean_session: bool  #: default True
    keepalive: float  #: seconds, default 30
    connect_timeout: float  #: seconds one connection attempt may take, default 10
    reconnect_backoff: Tuple[float, float]  #: (min, max) seconds, full jitter; default (0.5, 30)
    ack_timeout: float  #: seconds until an unacknowledged QoS 1/2 publish fails, default 30
    operation_timeout: float  #: seconds subscribe/unsubscribe wait, default 10
    tls_ca: PathLike  #: PEM file of CA certificates (default: the system's store)
    tls_ca_dir: PathLike  #: directory of hashed CA certificates
    tls_cert: PathLike  #: client certificate (PEM) for mutual TLS
    tls_key: PathLike  #: its private key (PEM)
    tls_key_password: str
    tls_verify_hostname: bool  #: default True
    tls_insecure: bool  #: accept any server certificate (testing only), default False
    presence: str  #: retained presence topic (Device default "{prefix}/{device}/status")
    presence_payloads: Tuple[str, str]  #: (online, offline), default ("online", "offline")
    offline_queue_messages: int  #: default 10000
    offline_queue_bytes: int  #: default 16 MiB
    offline_queue_policy: Union[Overflow, str]  #: "reject_new" (default) or "drop_oldest"
    max_inflight: int  #: messages sent and not yet acknowledged, default 256
    log_level: LogLevel  #: default: the level of the "twinlink" logger
    on_connection: Callable[[ConnectionEvent], Any]  #: called on every connection change
    on_error: Callable[[BaseException, str], Any]  #: ``on_error(exception, kind)``: an exception raised in a callback
    profile: Union[Profile, str]  #: "twinlink" (default) or "aws"
    prefix: str  #: topic prefix of the twinlink profile, default "tl"
    shadow_request_timeout: float  #: seconds before an unanswered shadow update is resent, default 10
    runtime: "Runtime"  #: threads shared with other devices (twinlink.Runtime); default: the device's own


class DatapointOptions(TypedDict, total=False):
    """Options of a datapoint pipeline."""

    datapoint_topic: str  #: default "{prefix}/{device}/dp"; "{series}" gives each series its own topic
    encoding: Union[Encoding, str]  #: "json" (default), "cbor" or "compact"
    batch_max_points: int  #: default 5000
    batch_max_bytes: int  #: encoded bytes, default 65536
    batch_linger: float  #: seconds a batch stays open after its first point, default 0.5
    spool_dir: PathLike  #: durable spool of unacknowledged batches (default: memory only)
    spool_max_bytes: int  #: default 64 MiB
    spool_fsync: Union[Fsync, str]  #: "every_batch", "interval" (default) or "never"
    spool_fsync_interval: float  #: seconds, default 1
    backlog_max_bytes: int  #: unacknowledged batches kept in memory without a spool, default 16 MiB
    max_pending_points: int  #: points recorded and not yet batched, default 1000000
    backpressure: Union[Backpressure, str]  #: "drop_oldest" (default), "drop_newest" or "block"
    backpressure_timeout: float  #: seconds record() may wait under "block", default 1
    max_inflight_batches: int  #: default 16
    max_batches_per_second: float  #: default 0 (no limit)
    delivery: Union[Delivery, str]  #: "receipt" (default: freed when the sink confirms it) or "broker"
    receipt_timeout: float  #: seconds before a batch without a receipt is sent again, default 10
    max_unconfirmed_batches: int  #: batches sent and not yet confirmed, default 64
    on_drop: Callable[[DropEvent], Any]  #: called when points are discarded


class DeviceOptions(ClientOptions, DatapointOptions, total=False):
    """Options of a Device: its client, shadows and datapoints."""

    shadow_persist_dir: PathLike  #: keeps each shadow's last document in a file in this directory


_UINT32_MAX = 2**32 - 1
_DEFAULTS = {
    "reconnect_backoff": (0.5, 30.0),
    "offline_queue": (10000, 16 * 1024 * 1024, "reject_new"),
    "batch": (5000, 65536, 0.5),
    "spool": (64 * 1024 * 1024, "interval", 1.0),
    "backlog": (16 * 1024 * 1024, 1000000),
    "backpressure": ("drop_oldest", 1.0),
    "sending": (16, 0.0),
    "delivery": ("receipt", 10.0, 64),
}


def milliseconds(seconds: Any, name: str) -> int:
    """A duration in seconds as whole milliseconds for the C ABI."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(seconds).__name__}")
    if not math.isfinite(seconds) or seconds < 0 or seconds * 1000 > _UINT32_MAX:
        raise InvalidArgument(f"{name} must be between 0 and {_UINT32_MAX // 1000} seconds, not {seconds!r}", -1)
    return int(round(seconds * 1000))


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise InvalidArgument(f"{name} must not be negative, not {value}", -1)
    return value


def _path(value: Any, name: str) -> str:
    try:
        return str(os.fspath(value))
    except TypeError:
        raise TypeError(f"{name} must be a path, not {type(value).__name__}") from None


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def _pair(value: Any, name: str) -> Tuple[Any, Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (a tuple of two values), not {value!r}")
    return value[0], value[1]


def _mqtt_version(value: Any) -> int:
    versions = {3: 4, 4: 4, "3.1.1": 4, "3": 4, 5: 5, "5": 5, "5.0": 5}
    try:
        return versions[value]
    except (KeyError, TypeError):
        raise InvalidArgument(f"mqtt_version must be 4 (or '3.1.1') or 5, not {value!r}", -1) from None


def broker_list(broker: Brokers) -> Sequence[str]:
    """`broker` as a list of URIs; TWINLINK_BROKER when None."""
    if broker is None:
        broker = os.environ.get("TWINLINK_BROKER")
        if not broker:
            raise InvalidArgument(
                "no broker: pass broker='mqtt://host:1883' (or set TWINLINK_BROKER)", -1
            )
    if isinstance(broker, str):
        return [broker]
    brokers = list(broker)
    if not brokers:
        raise InvalidArgument("broker is an empty list: give at least one broker URI", -1)
    for uri in brokers:
        _text(uri, "broker")
    return brokers


class _Taken:
    """The options given, taken one by one; what is left at the end is a misspelt name."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self._left = dict(options)

    def get(self, name: str, default: Any = None) -> Any:
        value = self._left.pop(name, None)
        return default if value is None else value

    def any(self, *names: str) -> bool:
        return any(self._left.get(n) is not None for n in names)

    def finish(self, what: str) -> None:
        if self._left:
            name = sorted(self._left)[0]
            raise TypeError(f"{what} got an unexpected keyword argument {name!r}")


def client_options(
    brokers: Sequence[str],
    taken: _Taken,
    on_event: Callable[..., None],
) -> "_native.ClientOptions":
    o = _native.ClientOptions()
    for uri in brokers:
        o.add_broker(uri)
    if (client_id := taken.get("client_id")) is not None:
        o.set_client_id(_text(client_id, "client_id"))
    username, password = taken.get("username"), taken.get("password")
    if username is not None or password is not None:
        if username is None:
            raise InvalidArgument("password is given without username", -1)
        o.set_credentials(_text(username, "username"), None if password is None else _text(password, "password"))
    if (version := taken.get("mqtt_version")) is not None:
        o.set_mqtt_version(_mqtt_version(version))
    if (clean := taken.get("clean_session")) is not None:
        o.set_clean_session(bool(clean))
    if (keepalive := taken.get("keepalive")) is not None:
        o.set_keepalive(milliseconds(keepalive, "keepalive") // 1000)
    if (connect_timeout := taken.get("connect_timeout")) is not None:
        o.set_connect_timeout(milliseconds(connect_timeout, "connect_timeout"))
    if (backoff := taken.get("reconnect_backoff")) is not None:
        low, high = _pair(backoff, "reconnect_backoff")
        o.set_reconnect_backoff(milliseconds(low, "reconnect_backoff[0]"), milliseconds(high, "reconnect_backoff[1]"))
    if (ack_timeout := taken.get("ack_timeout")) is not None:
        o.set_ack_timeout(milliseconds(ack_timeout, "ack_timeout"))
    if (operation_timeout := taken.get("operation_timeout")) is not None:
        o.set_operation_timeout(milliseconds(operation_timeout, "operation_timeout"))
    ca, ca_dir = taken.get("tls_ca"), taken.get("tls_ca_dir")
    if ca is not None or ca_dir is not None:
        o.set_tls_ca(None if ca is None else _path(ca, "tls_ca"), None if ca_dir is None else _path(ca_dir, "tls_ca_dir"))
    cert, key, key_password = taken.get("tls_cert"), taken.get("tls_key"), taken.get("tls_key_password")
    if cert is not None or key is not None:
        if cert is None or key is None:
            raise InvalidArgument("mutual TLS needs both tls_cert and tls_key", -1)
        o.set_tls_client_cert(
            _path(cert, "tls_cert"), _path(key, "tls_key"), None if key_password is None else _text(key_password, "tls_key_password")
        )
    elif key_password is not None:
        raise InvalidArgument("tls_key_password is given without tls_cert and tls_key", -1)
    if (verify := taken.get("tls_verify_hostname")) is not None:
        o.set_tls_verify_hostname(bool(verify))
    if (insecure := taken.get("tls_insecure")) is not None:
        o.set_tls_insecure(bool(insecure))
    topic, payloads = taken.get("presence"), taken.get("presence_payloads")
    if topic is not None or payloads is not None:
        online, offline = (None, None) if payloads is None else _pair(payloads, "presence_payloads")
        o.set_presence(None if topic is None else _text(topic, "presence"), online, offline)
    if taken.any("offline_queue_messages", "offline_queue_bytes", "offline_queue_policy"):
        messages, size, policy = _DEFAULTS["offline_queue"]
        messages = _count(taken.get("offline_queue_messages", messages), "offline_queue_messages")
        size = _count(taken.get("offline_queue_bytes", size), "offline_queue_bytes")
        policy = taken.get("offline_queue_policy", policy)
        o.set_offline_queue(messages, size, Overflow.parse(policy, "offline_queue_policy"))
    if (inflight := taken.get("max_inflight")) is not None:
        o.set_max_inflight(_count(inflight, "max_inflight"))
    if (runtime := taken.get("runtime")) is not None:
        if not isinstance(runtime, Runtime):
            raise TypeError(f"runtime must be a twinlink.Runtime, not {type(runtime).__name__}")
        o.set_runtime(runtime._native)
    o.set_log_callback(emit, native_level(taken.get("log_level")))
    o.set_connection_callback(on_event)
    return o


def profile_of(taken: _Taken) -> Tuple[int, Optional[str]]:
    profile = taken.get("profile")
    prefix = taken.get("prefix")
    return (
        Profile.TWINLINK if profile is None else Profile.parse(profile, "profile"),
        None if prefix is None else _text(prefix, "prefix"),
    )


def shadow_options(
    profile: Tuple[int, Optional[str]],
    request_timeout: Optional[float],
    name: Optional[str] = None,
    persist_path: Optional[PathLike] = None,
) -> "_native.ShadowOptions":
    o = _native.ShadowOptions()
    o.set_profile(*profile)
    if name:
        o.set_name(_text(name, "name"))
    if request_timeout is not None:
        o.set_request_timeout(milliseconds(request_timeout, "request_timeout"))
    if persist_path is not None:
        o.set_persist_path(_path(persist_path, "persist_path"))
    return o


def datapoint_options(taken: _Taken, errors: Optional[ErrorHooks] = None) -> "_native.DatapointOptions":
    o = _native.DatapointOptions()
    if (topic := taken.get("datapoint_topic")) is not None:
        o.set_topic(_text(topic, "datapoint_topic"))
    if (encoding := taken.get("encoding")) is not None:
        o.set_encoding(Encoding.parse(encoding, "encoding"))
    if taken.any("batch_max_points", "batch_max_bytes", "batch_linger"):
        points, size, linger = _DEFAULTS["batch"]
        points = taken.get("batch_max_points", points)
        size = taken.get("batch_max_bytes", size)
        linger = taken.get("batch_linger", linger)
        o.set_batch_limits(
            _count(points, "batch_max_points"), _count(size, "batch_max_bytes"), milliseconds(linger, "batch_linger")
        )
    spool_dir = taken.get("spool_dir")
    if spool_dir is not None:
        size, fsync, interval = _DEFAULTS["spool"]
        size = taken.get("spool_max_bytes", size)
        fsync = taken.get("spool_fsync", fsync)
        interval = taken.get("spool_fsync_interval", interval)
        o.set_spool(
            _path(spool_dir, "spool_dir"),
            _count(size, "spool_max_bytes"),
            Fsync.parse(fsync, "spool_fsync"),
            milliseconds(interval, "spool_fsync_interval"),
        )
    elif taken.any("spool_max_bytes", "spool_fsync", "spool_fsync_interval"):
        raise InvalidArgument("spool_max_bytes, spool_fsync and spool_fsync_interval need spool_dir", -1)
    if taken.any("backlog_max_bytes", "max_pending_points"):
        size, points = _DEFAULTS["backlog"]
        o.set_backlog(
            _count(taken.get("backlog_max_bytes", size), "backlog_max_bytes"),
            _count(taken.get("max_pending_points", points), "max_pending_points"),
        )
    if taken.any("backpressure", "backpressure_timeout"):
        policy, block = _DEFAULTS["backpressure"]
        policy = taken.get("backpressure", policy)
        block = taken.get("backpressure_timeout", block)
        o.set_backpressure(Backpressure.parse(policy, "backpressure"), milliseconds(block, "backpressure_timeout"))
    if taken.any("max_inflight_batches", "max_batches_per_second"):
        inflight, rate = _DEFAULTS["sending"]
        inflight = taken.get("max_inflight_batches", inflight)
        rate = taken.get("max_batches_per_second", rate)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise TypeError(f"max_batches_per_second must be a number, not {type(rate).__name__}")
        o.set_sending(_count(inflight, "max_inflight_batches"), float(rate))
    if taken.any("delivery", "receipt_timeout", "max_unconfirmed_batches"):
        mode, timeout, window = _DEFAULTS["delivery"]
        o.set_delivery(
            Delivery.parse(taken.get("delivery", mode), "delivery"),
            milliseconds(taken.get("receipt_timeout", timeout), "receipt_timeout"),
            _count(taken.get("max_unconfirmed_batches", window), "max_unconfirmed_batches"),
        )
    if (on_drop := taken.get("on_drop")) is not None:
        if not callable(on_drop):
            raise TypeError("on_drop must be callable")
        adapter = _drop_adapter(on_drop)
        o.set_drop_callback(adapter if errors is None else errors.guard("datapoint drop", adapter))
    return o


def _drop_adapter(on_drop: Callable[[DropEvent], Any]) -> Callable[[int, int, int, str], None]:
    def dropped(policy: int, points: int, batches: int, reason: str) -> None:
        on_drop(DropEvent(Backpressure(policy), points, batches, reason))

    return dropped


def device_options(
    brokers: Sequence[str], options: Mapping[str, Any], on_event: Callable[..., None], errors: Optional[ErrorHooks] = None
) -> Tuple["_native.DeviceOptions", Dict[str, Any]]:
    """The options of a Device, and the defaults for the shadows its client makes."""
    taken = _Taken(options)
    o = _native.DeviceOptions()
    profile = profile_of(taken)
    o.set_profile(*profile)
    o.set_client(client_options(brokers, taken, on_event))
    request_timeout = taken.get("shadow_request_timeout")
    persist_dir = taken.get("shadow_persist_dir")
    o.set_shadow(shadow_options(profile, request_timeout, persist_path=persist_dir))
    o.set_datapoints(datapoint_options(taken, errors))
    taken.finish("Device()")
    return o, {"profile": profile, "request_timeout": request_timeout}


def split_client_options(options: Mapping[str, Any]) -> Tuple[_Taken, Dict[str, Any]]:
    """For Client: the taken options, and the defaults for the shadows it makes."""
    taken = _Taken(options)
    profile = profile_of(taken)
    return taken, {"profile": profile, "request_timeout": taken.get("shadow_request_timeout")}

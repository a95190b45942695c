"""Typed shadows: shadow.model(State) with dataclasses (and pydantic when installed)."""

from __future__ import annotations

import asyncio
import dataclasses
import queue
from typing import List, Optional

import pytest

import twinlink
import twinlink.aio as aio

TIMEOUT = 10.0


@dataclasses.dataclass
class Net:
    ssid: str = ""
    channel: int = 1


@dataclasses.dataclass
class State:
    led: str = "off"
    rate: float = 1.0
    tags: List[str] = dataclasses.field(default_factory=list)
    net: Net = dataclasses.field(default_factory=Net)
    note: Optional[str] = None


def test_typed_report_deltas_and_validation(broker, cloud, device_id):
    deltas: "queue.Queue" = queue.Queue()
    errors: "queue.Queue" = queue.Queue()
    with twinlink.Device(device_id, broker=broker.uri, on_error=lambda e, kind: errors.put((e, kind))) as dev, \
            twinlink.Client(broker.uri) as app:
        typed = dev.shadow.model(State)
        typed.report(State(), timeout=TIMEOUT)
        assert typed.reported == State()
        typed.on_delta(lambda delta, version: deltas.put(delta))
        other = app.shadow(device_id)

        other.desire({"led": "on", "rate": 2, "net": {"ssid": "lab"}}, timeout=TIMEOUT)
        delta = deltas.get(timeout=TIMEOUT)
        assert isinstance(delta, twinlink.Partial)
        assert delta.led == "on" and delta.rate == 2.0 and isinstance(delta.rate, float)
        assert delta.net.ssid == "lab" and "channel" not in delta.net and "tags" not in delta
        with pytest.raises(AttributeError):
            delta.tags
        target = delta.apply(typed.reported)
        assert target == State(led="on", rate=2.0, net=Net(ssid="lab", channel=1))
        typed.report(delta, timeout=TIMEOUT)
        assert typed.reported == target
        assert typed.desired == State(led="on", rate=2.0, net=Net(ssid="lab"))  # defaults fill the rest
        assert len(typed.delta) == 0

        # A delta that does not fit: reported to on_error, the handler not called.
        other.desire({"rate": "fast", "colour": 1}, timeout=TIMEOUT)
        error, kind = errors.get(timeout=TIMEOUT)
        assert kind == "shadow delta" and isinstance(error, twinlink.ModelError)
        assert isinstance(error, twinlink.InvalidArgument)
        assert sorted(path for path, _ in error.errors) == ["colour", "rate"]
        assert "expected float" in str(error)
        assert deltas.empty()
        with pytest.raises(twinlink.ModelError):
            typed.desired  # the desired section no longer fits either

        # Reports are checked before anything is sent.
        with pytest.raises(twinlink.ModelError, match="tags"):
            typed.report({"tags": "not-a-list"})
        with pytest.raises(TypeError):
            typed.report(42)
        typed.report_nowait({"tags": ["a", "b"], "note": None})


def test_typed_shadow_in_aio(broker, cloud, device_id):
    async def main():
        async with aio.Device(device_id, broker=broker.uri) as dev, aio.Client(broker.uri) as app:
            typed = dev.shadow.model(State)
            await typed.report(State(led="off"))
            seen = []

            async def follow(delta, version):
                seen.append(delta)
                await typed.report(delta)

            typed.on_delta(follow)
            await app.shadow(device_id).desire({"led": "blink"})
            deadline = asyncio.get_running_loop().time() + TIMEOUT
            while typed.reported.led != "blink" and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
            assert seen and seen[0] == {"led": "blink"}
            assert typed.reported.led == "blink"

    asyncio.run(asyncio.wait_for(main(), 60))


def test_pydantic_models(own_broker, device_id):
    pydantic = pytest.importorskip("pydantic")

    class Config(pydantic.BaseModel):
        interval: int = 5
        mode: str = "eco"

    with twinlink.Device(device_id, broker=own_broker.uri, connect=False) as dev:
        typed = dev.shadow.model(Config)
        typed.report_nowait(Config(interval=7))
        assert typed.reported == Config(interval=7, mode="eco")
        with pytest.raises(twinlink.ModelError, match="interval"):
            typed.report_nowait({"interval": "often"})
        typed.report_nowait({"mode": "turbo"})
        assert typed.reported.mode == "turbo"
    with twinlink.Device(device_id, broker=own_broker.uri, connect=False) as dev:
        with pytest.raises(TypeError):
            dev.shadow.model(dict)

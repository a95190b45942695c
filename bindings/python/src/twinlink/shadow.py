"""Device shadows: report state, follow desired state, read and write any device's shadow."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, NamedTuple, Optional, Type, TypeVar

from . import _native
from ._errors import InvalidState
from ._events import ErrorHooks, Registration
from ._options import milliseconds

if TYPE_CHECKING:
    from ._model import ModelShadow

__all__ = ["Shadow", "Delta"]

M = TypeVar("M")

Document = Dict[str, Any]


class Delta(NamedTuple):
    """A delta: the desired keys that differ from reported (``state``), and the shadow version."""

    state: Any
    version: int


def _dumps(value: Mapping[str, Any], what: str) -> str:
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict, not {type(value).__name__}")
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _loads(text: str) -> Document:
    document: Document = json.loads(text) if text else {}
    return document


class Shadow:
    """One shadow (classic or named) of one device, bound to a client (tl_shadow).

    A device gets its own with ``dev.shadow`` / ``dev.shadow_named("cfg")``; an application gets
    any device's with ``client.shadow("device-id")``. Blocking calls wait for the cloud's answer
    up to ``timeout`` seconds; the ``_nowait`` variants return at once. Semantics and topics are in
    docs/protocol.md.
    """

    def __init__(
        self, native: "_native.Shadow", device_id: str, name: str, owned: bool, errors: Optional[ErrorHooks] = None
    ) -> None:
        self._native = native
        self._owned = owned
        self._device_id = device_id
        self._name = name
        self._errors = errors if errors is not None else ErrorHooks()

    @property
    def device_id(self) -> str:
        """The device whose shadow this is."""
        return self._device_id

    @property
    def name(self) -> str:
        """"" for the classic shadow."""
        return self._name

    def report(self, state: Mapping[str, Any], *, timeout: float = 10.0) -> Document:
        """Merges ``state`` into reported (None values delete keys) and waits until the cloud
        accepts it. Returns the accepted update (``{"state": {"reported": ...}, "version": N, ...}``).
        Offline, reports are queued and sent after reconnect, with the effect of applying them
        in the order they were made; Timeout leaves the report queued. Raises ShadowRejected (400, 413, 500), Timeout, InvalidArgument."""
        return _loads(self._native.report(_dumps(state, "state"), milliseconds(timeout, "timeout")))

    def report_nowait(self, state: Mapping[str, Any]) -> None:
        """As report(), without waiting."""
        self._native.report_async(_dumps(state, "state"))

    def desire(self, state: Mapping[str, Any], *, timeout: float = 10.0) -> Document:
        """As report(), for the desired section: what an application uses to change a device."""
        return _loads(self._native.desire(_dumps(state, "state"), milliseconds(timeout, "timeout")))

    def desire_nowait(self, state: Mapping[str, Any]) -> None:
        self._native.desire_async(_dumps(state, "state"))

    def update(self, request: Mapping[str, Any], *, timeout: float = 10.0) -> Document:
        """Sends a whole update request, e.g. ``{"state": {"desired": {"a": 1}}, "version": 7}``,
        and returns the accepted update. Raises Conflict (stale version), ShadowRejected,
        NotConnected, Timeout."""
        return _loads(self._native.update(_dumps(request, "request"), milliseconds(timeout, "timeout")))

    def get(self, *, timeout: float = 10.0) -> Document:
        """Fetches the document from the cloud (and updates the local copy). Raises NotFound,
        NotConnected, Timeout."""
        return _loads(self._native.get(milliseconds(timeout, "timeout")))

    def delete(self, *, timeout: float = 10.0) -> None:
        """Deletes the shadow in the cloud. Raises NotFound, NotConnected, Timeout."""
        self._native.delete(milliseconds(timeout, "timeout"))

    @property
    def document(self) -> Document:
        """The local copy, without waiting: ``{"state": {"desired", "reported", "delta"},
        "version", "timestamp", "exists"}``, with reports not yet accepted merged in."""
        return _loads(self._native.state())

    @property
    def reported(self) -> Document:
        return dict(self.document["state"].get("reported", {}))

    @property
    def desired(self) -> Document:
        return dict(self.document["state"].get("desired", {}))

    @property
    def delta(self) -> Document:
        """What desired asks for and reported does not show yet ({} when in sync)."""
        return dict(self.document["state"].get("delta", {}))

    def on_delta(
        self, callback: Callable[[Any, int], Any], path: Optional[str] = None, *, initial: bool = True
    ) -> Registration:
        """Calls ``callback(delta, version)`` for every new delta, on the dispatcher thread;
        reporting from there is the usual pattern. With a JSON pointer ``path`` (``"/led"``), only
        when the delta contains it, with the value there. Returns a Registration (remove()).

        With ``initial`` (the default), the delta already pending when the callback registers
        (the newest one the shadow knows of), if any, comes first, so registering after connect
        misses nothing. It arrives on the dispatcher thread like the others, never inside this
        call, and each version reaches the callback at most once. ``initial=False``: only deltas
        that arrive afterwards."""
        if not callable(callback):
            raise TypeError("callback must be callable")

        def delta(text: str, version: int) -> None:
            callback(json.loads(text), version)

        return self._handler(self._native.on_delta(path, self._errors.guard("shadow delta", delta), bool(initial)))

    def on_change(self, callback: Callable[[Document], Any]) -> Registration:
        """Calls ``callback(document)`` after every accepted change (the local document, as
        ``document`` gives it), on the dispatcher thread."""
        if not callable(callback):
            raise TypeError("callback must be callable")

        def changed(text: str) -> None:
            callback(json.loads(text))

        return self._handler(self._native.on_change(self._errors.guard("shadow change", changed)))

    def model(self, model: Type[M]) -> "ModelShadow[M]":
        """This shadow seen through ``model``, a dataclass or a pydantic model class:
        ``reported``/``desired`` as instances, ``report(instance)``, deltas as a Partial of the
        model, checked against the field types (see twinlink.ModelShadow)."""
        from ._model import ModelShadow

        return ModelShadow(self, model)

    def _handler(self, handler_id: int) -> Registration:
        native = self._native

        def remove() -> None:
            if not native.closed:
                native.remove_handler(handler_id)

        return Registration(remove)

    def close(self) -> None:
        """Frees a shadow made with ``client.shadow()`` (a device's shadows go with the device).
        Idempotent."""
        if not self._owned:
            raise InvalidState("this is a shadow of a Device: close the device", -12)
        self._native.close()

    @property
    def closed(self) -> bool:
        return self._native.closed

    def __enter__(self) -> "Shadow":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._owned:
            self.close()

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<twinlink.Shadow{name} of {self.device_id!r}>"

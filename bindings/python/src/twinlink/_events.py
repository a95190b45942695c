"""Fan-out of a client's connection events to any number of listeners."""

from __future__ import annotations

import threading
from typing import Any, Callable, List

from ._log import logger
from ._types import ConnectionEvent

Listener = Callable[[ConnectionEvent], Any]


class Registration:
    """A registered callback; ``remove()`` (or leaving a ``with`` block) unregisters it."""

    def __init__(self, remove: Callable[[], None]) -> None:
        self._remove = remove

    def remove(self) -> None:
        remove, self._remove = self._remove, _nothing
        remove()

    def __enter__(self) -> "Registration":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.remove()


def _nothing() -> None:
    pass


class ConnectionEvents:
    """The connection callback of one client (called by the native module on the dispatcher
    thread): turns the event into a ConnectionEvent and gives it to every listener. A listener that
    raises is logged and the others still run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: List[Listener] = []

    def add(self, listener: Listener) -> Registration:
        if not callable(listener):
            raise TypeError("the connection callback must be callable")
        with self._lock:
            self._listeners = self._listeners + [listener]
        return Registration(lambda: self._discard(listener))

    def _discard(self, listener: Listener) -> None:
        with self._lock:
            self._listeners = [l for l in self._listeners if l is not listener]

    def __call__(self, state: int, reason: int, message: str, broker: str, retry_in_ms: int, attempt: int) -> None:
        event = ConnectionEvent._from_native(state, reason, message, broker, retry_in_ms, attempt)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("exception in a connection callback")

"""Fan-out of a client's connection events to any number of listeners, and the on_error hooks
that receive the exceptions raised in user callbacks."""

from __future__ import annotations

import threading
from typing import Any, Callable, List, Optional, TypeVar

from ._log import logger
from ._types import ConnectionEvent

Listener = Callable[[ConnectionEvent], Any]
#: ``on_error(exception, kind)``: kind is "message", "connection", "shadow delta", "shadow change",
#: "datapoint drop" or "publish"
ErrorHook = Callable[[BaseException, str], Any]

F = TypeVar("F", bound=Callable[..., Any])

# Set at interpreter exit, just before twinlink closes every handle still open (see __init__.py).
# A callback that is running then and calls into a device or client being closed gets InvalidState:
# that is the process ending, not the user's mistake, so it is logged at debug level only.
_exiting = threading.Event()


def mark_exiting() -> None:
    _exiting.set()


def _closed_at_exit(error: BaseException) -> bool:
    if not _exiting.is_set():
        return False
    from ._errors import InvalidState

    return isinstance(error, InvalidState)


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


class ErrorHooks:
    """The on_error hooks of one Device or Client. An exception raised in a user callback is
    logged on the "twinlink" logger ("exception in a <kind> callback") and then given to every hook
    as ``hook(exception, kind)``; an exception raised in a hook is only logged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hooks: List[ErrorHook] = []

    def add(self, hook: ErrorHook) -> "Registration":
        if not callable(hook):
            raise TypeError("on_error must be callable")
        with self._lock:
            self._hooks = self._hooks + [hook]
        return Registration(lambda: self._discard(hook))

    def _discard(self, hook: ErrorHook) -> None:
        with self._lock:
            self._hooks = [h for h in self._hooks if h is not hook]

    def report(self, kind: str, error: BaseException) -> None:
        if _closed_at_exit(error):
            logger.debug("a %s callback used a handle closed at interpreter exit: %s", kind, error)
            return
        logger.error("exception in a %s callback", kind, exc_info=(type(error), error, error.__traceback__))
        for hook in self._hooks:
            try:
                hook(error, kind)
            except Exception:
                logger.exception("exception in an on_error hook")

    def guard(self, kind: str, fn: F) -> F:
        """``fn`` with its exceptions reported here instead of raised."""

        def guarded(*args: Any) -> Any:
            try:
                return fn(*args)
            except Exception as error:
                self.report(kind, error)
                return None

        return guarded  # type: ignore[return-value]


def report_failure(errors: Optional[ErrorHooks], kind: str, error: BaseException) -> None:
    """Reports an exception of a user callback to ``errors``, or only logs it without hooks."""
    if errors is not None:
        errors.report(kind, error)
    elif _closed_at_exit(error):
        logger.debug("a %s callback used a handle closed at interpreter exit: %s", kind, error)
    else:
        logger.error("exception in a %s callback", kind, exc_info=(type(error), error, error.__traceback__))


class ConnectionEvents:
    """The connection callback of one client (called by the native module on the dispatcher
    thread): turns the event into a ConnectionEvent and gives it to every listener. A listener that
    raises is logged and the others still run."""

    def __init__(self, errors: Optional[ErrorHooks] = None) -> None:
        self._lock = threading.Lock()
        self._listeners: List[Listener] = []
        self._errors = errors

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
            except Exception as error:
                report_failure(self._errors, "connection", error)

"""twinlink for asyncio.

::

    from twinlink.aio import Device

    async with Device("sensor-42", broker="mqtt://127.0.0.1:1883") as dev:
        await dev.shadow.report({"fw": "1.2.0"})
        async for delta in dev.shadow.deltas():
            await dev.shadow.report(delta.state)

The objects here wrap the synchronous ones (``.sync``) and share their native handles, so both APIs
can be used on the same device. Every call that waits for the network holds no thread while it
waits: ``connect()``, ``disconnect()``, ``publish()``/``publish_wait()``, ``subscribe()`` and
leaving a subscription's stream, ``shadow.report()``, ``desire()``, ``update()``, ``get()``,
``delete()`` and ``datapoints.flush()``. libtwinlink completes them from its own event handling
(the CONNACK, the SUBACK, the shadow's answer, the last acknowledgement) and the result reaches
the awaiting task through ``loop.call_soon_threadsafe``. Cancelling the task cancels the native
operation (what was already sent is not recalled: a cancelled report stays queued and is still
sent; a cancelled subscribe is removed). Three things are left on a small thread pool of this
module, for the C ABI has no asynchronous form of them: ``close()`` (it disconnects, then frees
the native objects, which waits for twinlink's threads), making a shadow while connected
(``tl_shadow_new()`` subscribes and waits for the SUBACK), and ending a stream of shadow deltas or
changes (removing a handler waits for a call of it in progress). Callbacks and async iterators get
their items on the loop that registered them.

Streams (``deltas()``, ``changes()``, ``events()``, ``subscribe()``) hold at most ``max_queue``
items (default 1000) that the consumer has not taken yet; when one more arrives, the oldest is
dropped, counted in ``Stream.dropped`` and logged once per overflow.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import inspect
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Generic,
    Optional,
    TypeVar,
    Union,
)

from . import _errors
from . import client as _client
from . import device as _device
from . import shadow as _shadow
from ._events import ErrorHook, ErrorHooks, Registration, report_failure
from ._log import logger
from ._options import Brokers, PathLike, milliseconds
from ._types import ClientStats, ConnectionEvent, ConnectionState, DatapointStats, DeviceStats, Message
from .datapoints import Datapoints as _SyncDatapoints
from .datapoints import Timestamp, Value
from .shadow import Delta, Document

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._options import ClientOptions, DatapointOptions, DeviceOptions

__all__ = ["Device", "Client", "Shadow", "Datapoints", "Stream"]

T = TypeVar("T")

# For the calls without an asynchronous form in the C ABI (close, making a shadow while connected,
# removing a shadow handler): a few threads are plenty, and idle ones cost nothing.
_MAX_WORKERS = 8
_executor: Optional[ThreadPoolExecutor] = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=_MAX_WORKERS, thread_name_prefix="twinlink-aio")
        return _executor


def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> "asyncio.Future[T]":
    """Runs a call of the synchronous API that may wait for twinlink's threads on the pool."""
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(_pool(), functools.partial(fn, *args, **kwargs))


def _await_operation(
    start: Callable[[Callable[..., None]], int],
    cancel: Callable[[int], Any],
    convert: Callable[[Optional[str]], T],
) -> "Awaitable[T]":
    """Awaits a native asynchronous operation: ``start(done)`` begins it and returns its id;
    ``done(operation, status, message, document)`` is called once on twinlink's dispatcher
    thread. Cancelling the awaiting task cancels the operation with ``cancel(id)``."""

    async def wait() -> T:
        loop = asyncio.get_running_loop()
        future: "asyncio.Future[T]" = loop.create_future()

        def settle(status: int, message: str, document: Optional[str]) -> None:
            if future.done():
                return
            if status == 0:
                try:
                    future.set_result(convert(document))
                except Exception as error:  # a malformed answer
                    future.set_exception(error)
            else:
                future.set_exception(_errors.from_status(status, message))

        def done(_operation: int, status: int, message: str, document: Optional[str]) -> None:
            _post(loop, settle, status, message, document)

        operation = start(done)
        try:
            return await future
        except asyncio.CancelledError:
            cancel(operation)
            raise

    return wait()


def _document(text: Optional[str]) -> Document:
    return json.loads(text) if text else {}


def _nothing(_text: Optional[str]) -> None:
    return None


def _post(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    """From any thread: calls fn(*args) on the loop, unless the loop is gone."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the loop is closed: nobody is left to tell
        pass


def _on_loop(
    loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], errors: Optional[ErrorHooks], kind: str
) -> Callable[..., None]:
    """A callable for native threads that runs ``callback`` on ``loop``; a coroutine function
    becomes a task. Exceptions (also those of the task) are logged and given to the on_error
    hooks of ``errors`` (only logged when None)."""

    def finished(task: "asyncio.Future[Any]") -> None:
        if not task.cancelled() and task.exception() is not None:
            report_failure(errors, kind, task.exception())  # type: ignore[arg-type]

    def invoke(*args: Any) -> None:
        try:
            result = callback(*args)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                task.add_done_callback(finished)
        except Exception as error:
            report_failure(errors, kind, error)

    def from_native(*args: Any) -> None:
        _post(loop, invoke, *args)

    return from_native


_CLOSED = object()


class _NativeStop:
    """How a stream whose registration ends without a pool thread stops: ``wait()`` is awaited
    by aclose(), ``nowait()`` is called at garbage collection."""

    def __init__(self, wait: Callable[[], Awaitable[Any]], nowait: Callable[[], None]) -> None:
        self.wait = wait
        self.nowait = nowait


Stop = Callable[[], Any]


class Stream(Generic[T]):
    """An async iterator of items that native threads deliver (deltas, messages, connection
    events). ``aclose()`` or leaving ``async with`` ends the registration behind it; so does
    garbage collection of a stream left with ``break``."""

    def __init__(
        self, start: "Callable[[Stream[T]], Awaitable[Union[Stop, _NativeStop]]]", max_queue: int = 1000
    ) -> None:
        # `start` registers and returns what unregisters: a function that may wait for
        # twinlink's threads (run on the pool), or a _NativeStop.
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self._loop = asyncio.get_running_loop()
        self._items: "collections.deque[Any]" = collections.deque()
        self._ready = asyncio.Event()
        self._max_queue = max_queue
        #: items dropped because the consumer fell ``max_queue`` items behind (oldest first)
        self.dropped = 0
        self._overflowing = False
        self._start = start
        self._started: "Optional[asyncio.Future[Union[Stop, _NativeStop]]]" = None
        self._closed = False

    def _feed(self, item: T) -> None:
        """Called from any thread."""
        _post(self._loop, self._put, item)

    def _put(self, item: Any) -> None:
        """On the loop: queues an item, dropping the oldest when the queue is full."""
        if item is not _CLOSED and len(self._items) >= self._max_queue:
            self._items.popleft()
            self.dropped += 1
            if not self._overflowing:
                self._overflowing = True
                logger.warning(
                    "a twinlink stream fell %d items behind; dropping the oldest (%d so far)",
                    self._max_queue,
                    self.dropped,
                )
        self._items.append(item)
        self._ready.set()

    async def _get(self) -> Any:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        item = self._items.popleft()
        if len(self._items) < self._max_queue // 2:
            self._overflowing = False
        return item

    async def _ensure_started(self) -> None:
        self._start_soon()
        assert self._started is not None
        await asyncio.shield(self._started)

    def _start_soon(self) -> None:
        """Starts the registration now, as a task of the loop, rather than at the first item."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start(self))

    def _registered(self, stop: "Union[Stop, _NativeStop]") -> None:
        """The registration is already made, and ``stop`` ends it."""
        started: "asyncio.Future[Union[Stop, _NativeStop]]" = self._loop.create_future()
        started.set_result(stop)
        self._started = started

    def __aiter__(self) -> "Stream[T]":
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        await self._ensure_started()
        item = await self._get()
        if item is _CLOSED:
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._put(_CLOSED)
        stop = self._stop_function()
        if isinstance(stop, _NativeStop):
            await stop.wait()
        elif stop is not None:
            await _run(stop)

    def _stop_function(self) -> "Optional[Union[Stop, _NativeStop]]":
        started = self._started
        if started is None or not started.done() or started.cancelled() or started.exception() is not None:
            return None
        return started.result()

    def __del__(self) -> None:
        if not self._closed:
            self._closed = True
            stop = self._stop_function()
            if isinstance(stop, _NativeStop):
                stop.nowait()
            elif stop is not None:
                try:
                    _pool().submit(stop)
                except RuntimeError:
                    pass  # the interpreter is exiting: everything is closed anyway

    async def __aenter__(self) -> "Stream[T]":
        await self._ensure_started()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


# -- shadows ---------------------------------------------------------------------------------


class Shadow:
    """A shadow, for asyncio: the calls that wait for the cloud are awaited; registration,
    ``report_nowait()``/``desire_nowait()`` and the local document (``document``, ``reported``,
    ``desired``, ``delta``) are plain, as in twinlink.Shadow.

    The native shadow subscribes when it is made, which waits for the broker when connected. A
    device's classic shadow is made by ``await dev.connect()`` (``async with``) before connecting,
    where that does not wait; any other shadow made while connected is made on the module's pool,
    started at once: registrations and ``_nowait`` calls made meanwhile are applied, in order, as
    soon as it exists, awaited calls wait for it, and the document properties raise InvalidState
    until it exists (``await shadow.get()`` or any awaited call makes sure it does)."""

    def __init__(
        self,
        make: Callable[[], _shadow.Shadow],
        made_at_once: Callable[[], bool],
        device_id: str = "",
        name: str = "",
        errors: Optional[ErrorHooks] = None,
    ) -> None:
        self._make = make
        self._made_at_once = made_at_once
        self._device_id = device_id
        self._name = name
        self._errors = errors
        self._sync: Optional[_shadow.Shadow] = None
        self._making: "Optional[asyncio.Future[_shadow.Shadow]]" = None

    def _now(self) -> Optional[_shadow.Shadow]:
        """The synchronous shadow if it exists or can be made without waiting; else None (and
        making it has started on the pool)."""
        if self._sync is None:
            if self._making is None and self._made_at_once():
                # Offline, making it only registers the subscription: no need for a thread.
                self._sync = self._make()
            else:
                self._start_making()
        return self._sync

    def _start_making(self) -> "asyncio.Future[_shadow.Shadow]":
        if self._making is None:
            self._making = _run(self._make)

            def made(future: "asyncio.Future[_shadow.Shadow]") -> None:
                if not future.cancelled() and future.exception() is None and self._sync is None:
                    self._sync = future.result()

            self._making.add_done_callback(made)
        return self._making

    async def _resolve(self) -> _shadow.Shadow:
        sync = self._now()
        if sync is not None:
            return sync
        return await asyncio.shield(self._start_making())

    def _when_made(self, apply: Callable[[_shadow.Shadow], Any]) -> Any:
        """Applies ``apply`` to the shadow now if it exists, else as soon as it is made (on the
        loop, in the order of the calls). Returns what apply returned, or None when deferred."""
        sync = self._now()
        if sync is not None:
            return apply(sync)

        def made(future: "asyncio.Future[_shadow.Shadow]") -> None:
            if future.cancelled():
                return
            if future.exception() is not None:
                logger.error("a twinlink shadow could not be made", exc_info=future.exception())
                return
            try:
                apply(future.result())
            except Exception:
                logger.exception("a deferred call on a twinlink shadow failed")

        self._start_making().add_done_callback(made)
        return None

    def _register(self, register: Callable[[_shadow.Shadow], Registration]) -> Registration:
        """A registration made now, or as soon as the shadow exists; remove() works in both cases."""
        state: Dict[str, Any] = {"removed": False, "registration": None}

        def apply(sync: _shadow.Shadow) -> Registration:
            if not state["removed"]:
                state["registration"] = register(sync)
            return state["registration"]  # type: ignore[no-any-return]

        made_now = self._when_made(apply)
        if made_now is not None:
            return made_now  # type: ignore[no-any-return]

        def remove() -> None:
            state["removed"] = True
            registration = state["registration"]
            if registration is not None:
                registration.remove()

        return Registration(remove)

    def _made(self) -> _shadow.Shadow:
        sync = self._now()
        if sync is None:
            raise _errors.InvalidState(
                "this shadow is still being made (it subscribes first): await one of its calls, "
                "e.g. get(), before reading its local document",
                -12,
            )
        return sync

    def _stream(self, register: Callable[[_shadow.Shadow, Callable[[T], None]], Registration]) -> "Stream[T]":
        """A stream whose registration is made at this call: at once when the shadow is made or
        can be made without waiting, else as soon as it is made."""

        async def start(stream: "Stream[T]") -> Callable[[], Any]:
            return register(await self._resolve(), stream._feed).remove

        stream: "Stream[T]" = Stream(start)
        sync = self._now()
        if sync is not None:
            stream._registered(register(sync, stream._feed).remove)
        else:
            stream._start_soon()
        return stream

    @property
    def sync(self) -> Optional[_shadow.Shadow]:
        """The synchronous Shadow, once made."""
        return self._sync

    @property
    def device_id(self) -> str:
        """The device whose shadow this is."""
        return self._device_id

    @property
    def name(self) -> str:
        """"" for the classic shadow."""
        return self._name

    async def report(self, state: Dict[str, Any], *, timeout: float = 10.0) -> Document:
        """See twinlink.Shadow.report(); no thread waits. Cancelling the task ends the wait (the
        report stays queued and is still sent)."""
        text, ms = _shadow._dumps(state, "state"), milliseconds(timeout, "timeout")
        native = (await self._resolve())._native
        return await _await_operation(lambda done: native.report_start(text, ms, done), native.cancel, _document)

    def report_nowait(self, state: Dict[str, Any]) -> None:
        """As report(), without waiting (a plain call, as in twinlink.Shadow)."""
        text = _shadow._dumps(state, "state")
        self._when_made(lambda sync: sync._native.report_async(text))

    async def desire(self, state: Dict[str, Any], *, timeout: float = 10.0) -> Document:
        text, ms = _shadow._dumps(state, "state"), milliseconds(timeout, "timeout")
        native = (await self._resolve())._native
        return await _await_operation(lambda done: native.desire_start(text, ms, done), native.cancel, _document)

    def desire_nowait(self, state: Dict[str, Any]) -> None:
        """As desire(), without waiting (a plain call)."""
        text = _shadow._dumps(state, "state")
        self._when_made(lambda sync: sync._native.desire_async(text))

    async def update(self, request: Dict[str, Any], *, timeout: float = 10.0) -> Document:
        """See twinlink.Shadow.update(); no thread waits."""
        text, ms = _shadow._dumps(request, "request"), milliseconds(timeout, "timeout")
        native = (await self._resolve())._native
        return await _await_operation(lambda done: native.update_start(text, ms, done), native.cancel, _document)

    async def get(self, *, timeout: float = 10.0) -> Document:
        shadow = await self._resolve()
        native, ms = shadow._native, milliseconds(timeout, "timeout")
        return await _await_operation(lambda done: native.get_start(ms, done), native.cancel, _document)

    async def delete(self, *, timeout: float = 10.0) -> None:
        """See twinlink.Shadow.delete(); no thread waits."""
        ms = milliseconds(timeout, "timeout")
        native = (await self._resolve())._native
        await _await_operation(lambda done: native.delete_start(ms, done), native.cancel, _nothing)

    @property
    def document(self) -> Document:
        """The local copy (see twinlink.Shadow.document), without waiting."""
        return self._made().document

    @property
    def reported(self) -> Document:
        return self._made().reported

    @property
    def desired(self) -> Document:
        return self._made().desired

    @property
    def delta(self) -> Document:
        """What desired asks for and reported does not show yet ({} when in sync)."""
        return self._made().delta

    def on_delta(
        self, callback: Callable[[Any, int], Any], path: Optional[str] = None, *, initial: bool = True
    ) -> Registration:
        """Calls ``callback(delta, version)`` on this loop for every delta (a coroutine function
        is run as a task); first with the delta pending at registration, unless ``initial`` is
        False (see twinlink.Shadow.on_delta). A plain call: returns the Registration at once."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        on_loop = _on_loop(asyncio.get_running_loop(), callback, self._errors, "shadow delta")
        return self._register(lambda sync: sync.on_delta(on_loop, path, initial=initial))

    def on_change(self, callback: Callable[[Document], Any]) -> Registration:
        """Calls ``callback(document)`` on this loop after every accepted change. A plain call."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        on_loop = _on_loop(asyncio.get_running_loop(), callback, self._errors, "shadow change")
        return self._register(lambda sync: sync.on_change(on_loop))

    def model(self, model: Any) -> Any:
        """This shadow seen through ``model`` (see twinlink.Shadow.model): report() and desire()
        awaited, handlers on the loop."""
        from ._model import AsyncModelShadow

        return AsyncModelShadow(self, model)

    def deltas(self, path: Optional[str] = None, *, initial: bool = True) -> "Stream[Delta]":
        """The deltas as they come: ``async for delta in shadow.deltas(): ...`` (Delta: ``.state``
        and ``.version``), starting with the delta pending at registration unless ``initial`` is
        False. Registered at this call, so nothing sent after it is missed."""

        def register(shadow: _shadow.Shadow, feed: Callable[[Delta], None]) -> Registration:
            return shadow.on_delta(lambda state, version: feed(Delta(state, version)), path, initial=initial)

        return self._stream(register)

    def changes(self) -> "Stream[Document]":
        """The local document after every accepted change. Registered at this call."""

        def register(shadow: _shadow.Shadow, feed: Callable[[Document], None]) -> Registration:
            return shadow.on_change(feed)

        return self._stream(register)

    async def close(self) -> None:
        """Frees a shadow made with ``client.shadow()`` (see twinlink.Shadow.close)."""
        if self._making is not None and self._sync is None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._making)
        if self._sync is not None:
            await _run(self._sync.close)

    @property
    def closed(self) -> bool:
        return self._sync is not None and self._sync.closed

    def __repr__(self) -> str:
        name = f" {self._name!r}" if self._name else ""
        return f"<twinlink.aio.Shadow{name} of {self._device_id!r}>"


# -- datapoints ------------------------------------------------------------------------------


class Datapoints:
    """Datapoints, for asyncio: recording never waits (unless the backpressure policy is
    "block"), so record() and record_many() are plain calls; flush() is awaited."""

    def __init__(self, sync: _SyncDatapoints) -> None:
        self.sync = sync
        self.record = sync.record  # type: ignore[method-assign]

    def record(self, name: str, value: Value, timestamp: Timestamp = None) -> None:
        self.sync.record(name, value, timestamp)

    def record_many(self, name: str, values: Any, timestamps: Optional[Any] = None) -> None:
        self.sync.record_many(name, values, timestamps)

    async def flush(self, timeout: float = 10.0) -> None:
        """See twinlink.Datapoints.flush(); no thread waits."""
        native, ms = self.sync._native, milliseconds(timeout, "timeout")
        await _await_operation(lambda done: native.flush_start(ms, done), native.cancel, _nothing)

    def stats(self) -> DatapointStats:
        return self.sync.stats()

    async def close(self) -> None:
        """Stops a pipeline made with ``client.datapoints()`` (see twinlink.Datapoints.close)."""
        await _run(self.sync.close)

    @property
    def closed(self) -> bool:
        return self.sync.closed


# -- connection events -----------------------------------------------------------------------


class _Connection:
    """What Client and Device share: connection calls and events."""

    sync: Any

    @property
    def state(self) -> ConnectionState:
        return self.sync.state  # type: ignore[no-any-return]

    @property
    def is_connected(self) -> bool:
        return self.sync.is_connected  # type: ignore[no-any-return]

    @property
    def closed(self) -> bool:
        return self.sync.closed  # type: ignore[no-any-return]

    def _native_client(self) -> Any:
        raise NotImplementedError

    async def disconnect(self, timeout: float = 5.0) -> None:
        """See twinlink.Client.disconnect(); no thread waits. Cancelling the task leaves the
        disconnect going on."""
        native, ms = self._native_client(), milliseconds(timeout, "timeout")
        await _await_operation(lambda done: native.disconnect_start(ms, done), native.cancel, _nothing)

    def on_connection(self, callback: Callable[[ConnectionEvent], Any]) -> Registration:
        """Calls ``callback(event)`` on this loop for every connection state change."""
        if not callable(callback):
            raise TypeError("the connection callback must be callable")
        on_loop = _on_loop(asyncio.get_running_loop(), callback, self.sync._errors, "connection")
        return self.sync.on_connection(on_loop)  # type: ignore[no-any-return]

    def on_error(self, callback: ErrorHook) -> Registration:
        """Calls ``callback(exception, kind)`` on this loop for every exception raised in a
        callback (see twinlink.Device.on_error); an exception raised in it is only logged."""
        if not callable(callback):
            raise TypeError("on_error must be callable")
        return self.sync.on_error(_on_loop(asyncio.get_running_loop(), callback, None, "on_error"))  # type: ignore[no-any-return]

    def events(self) -> "Stream[ConnectionEvent]":
        """The connection events as they come: ``async for event in dev.events(): ...``.
        Registered at once."""
        registered: Dict[str, Registration] = {}

        async def start(_stream: "Stream[ConnectionEvent]") -> _NativeStop:
            return _immediate_stop(registered["registration"].remove)

        stream: "Stream[ConnectionEvent]" = Stream(start)
        registered["registration"] = self.sync.on_connection(stream._feed)
        stream._registered(_immediate_stop(registered["registration"].remove))
        return stream


def _immediate_stop(remove: Callable[[], None]) -> _NativeStop:
    """A stop that waits for nothing (a listener kept on the Python side)."""

    async def wait() -> None:
        remove()

    return _NativeStop(wait, remove)


def _unsubscriber(native: Any, subscription: int, timeout_ms: int) -> _NativeStop:
    """Ends a subscription of ``native`` (a _native.Client) without a waiting thread."""

    def nowait() -> None:
        with contextlib.suppress(Exception):  # the client is closed: so is the subscription
            native.unsubscribe_start(subscription, timeout_ms, lambda *_: None)

    async def wait() -> None:
        if native.closed:
            return
        # The subscription is gone in every case; a silent broker (no UNSUBACK) or a client closed
        # meanwhile is no reason to fail the stream's close.
        with contextlib.suppress(_errors.Timeout, _errors.InvalidState):
            await _await_operation(
                lambda done: native.unsubscribe_start(subscription, timeout_ms, done), native.cancel, _nothing
            )

    return _NativeStop(wait, nowait)


def _connect(native: Any, timeout: float) -> "Awaitable[None]":
    """Connects without a waiting thread; a cancelled connect keeps trying in the background
    (as after a timeout) until disconnect() or close()."""
    ms = milliseconds(timeout, "timeout")
    return _await_operation(lambda done: native.connect_start(ms, done), native.cancel, _nothing)


def _add_error_hook(sync: Any, on_error: Optional[ErrorHook]) -> None:
    """The ``on_error=`` option of an aio object: called on the loop running at construction, or
    on the thread of the failed callback when there is none."""
    if on_error is None:
        return
    if not callable(on_error):
        raise TypeError("on_error must be callable")
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        sync.on_error(on_error)
    else:
        sync.on_error(_on_loop(loop, on_error, None, "on_error"))


class Client(_Connection):
    """An MQTT client for asyncio (see twinlink.Client). ``async with`` connects and closes."""

    sync: _client.Client

    def __init__(
        self,
        broker: Brokers = None,
        *,
        timeout: float = 10.0,
        **options: "Unpack[ClientOptions]",
    ) -> None:
        on_error = options.pop("on_error", None)
        self.sync = _client.Client(broker, connect=False, **options)
        self._timeout = timeout
        _add_error_hook(self.sync, on_error)

    @classmethod
    def _wrap(cls, sync: _client.Client) -> "Client":
        self = cls.__new__(cls)
        self.sync = sync
        self._timeout = 10.0
        return self

    @property
    def id(self) -> str:
        return self.sync.id

    def _native_client(self) -> Any:
        return self.sync._native

    async def connect(self, timeout: Optional[float] = None) -> None:
        await _connect(self.sync._native, self._timeout if timeout is None else timeout)

    def start(self) -> None:
        """Starts connecting in the background and returns at once."""
        self.sync.start()

    async def close(self, timeout: float = 5.0) -> None:
        await _run(self.sync.close, timeout)

    async def __aenter__(self) -> "Client":
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def publish(self, topic: str, payload: _client.Payload, qos: int = 1, retain: bool = False) -> int:
        """Publishes and completes once the broker acknowledged it (QoS 1/2) or it was written
        (QoS 0); raises the failure (Timeout, Dropped, Canceled). Returns the message id."""
        loop = asyncio.get_running_loop()
        done: "asyncio.Future[int]" = loop.create_future()

        def settle(message_id: int, error: Optional[Exception]) -> None:
            if done.done():
                return
            if error is None:
                done.set_result(message_id)
            else:
                done.set_exception(error)

        def completed(message_id: int, error: Optional[Exception]) -> None:
            _post(loop, settle, message_id, error)

        self.sync.publish(topic, payload, qos, retain, on_complete=completed)
        return await done

    async def publish_wait(
        self, topic: str, payload: _client.Payload, qos: int = 1, retain: bool = False, timeout: float = 10.0
    ) -> None:
        """As twinlink.Client.publish_wait(): publish() with a deadline (Timeout: the message
        stays queued)."""
        native, ms = self.sync._native, milliseconds(timeout, "timeout")
        await _await_operation(
            lambda done: native.publish_start(topic, payload, qos, retain, ms, done), native.cancel, _nothing
        )

    def publish_nowait(self, topic: str, payload: _client.Payload, qos: int = 1, retain: bool = False) -> int:
        """Queues a message and returns its id at once."""
        return self.sync.publish(topic, payload, qos, retain)

    async def subscribe(
        self, filter: str, qos: int = 1, *, timeout: float = 10.0, max_queue: int = 1000
    ) -> "Stream[Message]":
        """Subscribes (waiting for the broker's SUBACK, without a thread) and returns the
        messages as an async iterator; ``aclose()`` or leaving ``async with`` unsubscribes (and
        waits for the broker's UNSUBACK, also without a thread). Raises
        Timeout; a cancelled or failed subscribe leaves no subscription behind."""
        sync = self.sync
        native, ms = sync._native, milliseconds(timeout, "timeout")
        errors = sync._errors

        async def start(stream: "Stream[Message]") -> _NativeStop:
            def received(topic: str, payload: bytes, message_qos: int, retained: bool) -> None:
                stream._feed(Message(topic, payload, message_qos, retained))

            guarded = errors.guard("message", received)
            ids: Dict[str, int] = {}

            def begin(done: Callable[..., None]) -> int:
                ids["subscription"], operation = native.subscribe_start(filter, qos, guarded, ms, done)
                return operation

            await _await_operation(begin, native.cancel, _nothing)
            return _unsubscriber(native, ids["subscription"], ms)

        stream: "Stream[Message]" = Stream(start, max_queue)
        # Awaited here rather than as the stream's own task, so that cancelling this call cancels
        # the native subscribe (which then removes the subscription).
        stream._registered(await start(stream))
        return stream

    def shadow(
        self,
        device_id: str,
        name: Optional[str] = None,
        *,
        persist_path: Optional[PathLike] = None,
        request_timeout: Optional[float] = None,
    ) -> Shadow:
        """A shadow of any device (see twinlink.Client.shadow). Offline it is made at once;
        connected, making it (which waits for the broker) starts at once on the pool."""
        sync = self.sync
        shadow = Shadow(
            lambda: sync.shadow(device_id, name, persist_path=persist_path, request_timeout=request_timeout),
            lambda: not sync.is_connected,
            device_id,
            name or "",
            sync._errors,
        )
        shadow._now()
        return shadow

    def datapoints(self, device_id: str, **options: "Unpack[DatapointOptions]") -> Datapoints:
        """A datapoint pipeline of ``device_id`` on this client (see twinlink.Client.datapoints)."""
        return Datapoints(self.sync.datapoints(device_id, **options))

    def stats(self) -> ClientStats:
        return self.sync.stats()


class Device(_Connection):
    """A device for asyncio (see twinlink.Device): ``async with Device(...) as dev`` connects
    (waiting up to ``timeout`` seconds) and closes."""

    sync: _device.Device

    def __init__(
        self,
        device_id: str,
        broker: Brokers = None,
        *,
        timeout: float = 10.0,
        **options: "Unpack[DeviceOptions]",
    ) -> None:
        on_error = options.pop("on_error", None)
        self.sync = _device.Device(device_id, broker, connect=False, **options)
        self._timeout = timeout
        _add_error_hook(self.sync, on_error)
        self._shadows: Dict[str, Shadow] = {}
        self._client: Optional[Client] = None
        self._datapoints: Optional[Datapoints] = None

    @property
    def id(self) -> str:
        return self.sync.id

    def _native_client(self) -> Any:
        return self.sync._native.client()

    async def connect(self, timeout: Optional[float] = None) -> None:
        """Connects and waits until online (see twinlink.Device.connect). Before connecting, the
        classic shadow is made (offline that only registers its subscription), so that
        ``dev.shadow`` is usable at once afterwards: its document properties and registrations
        never wait."""
        self.shadow._now()
        await _connect(self.sync._native.client(), self._timeout if timeout is None else timeout)

    async def close(self, timeout: float = 5.0) -> None:
        """See twinlink.Device.close()."""
        await _run(self.sync.close, timeout)

    async def __aenter__(self) -> "Device":
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client._wrap(self.sync.client)
        return self._client

    @property
    def shadow(self) -> Shadow:
        """The classic shadow."""
        return self.shadow_named("")

    def shadow_named(self, name: str) -> Shadow:
        shadow = self._shadows.get(name)
        if shadow is None:
            sync = self.sync
            shadow = Shadow(lambda: sync.shadow_named(name), lambda: not sync.is_connected, sync.id, name, sync._errors)
            self._shadows[name] = shadow
        return shadow

    @property
    def datapoints(self) -> Datapoints:
        if self._datapoints is None:
            self._datapoints = Datapoints(self.sync.datapoints)
        return self._datapoints

    def stats(self) -> DeviceStats:
        return self.sync.stats()

    def __repr__(self) -> str:
        return repr(self.sync).replace("twinlink.Device", "twinlink.aio.Device", 1)


"""twinlink.Runtime: threads shared by many devices in one process (tl_runtime)."""

from __future__ import annotations

from . import _native

__all__ = ["Runtime"]


class Runtime:
    """Threads shared by every Device or Client created with ``runtime=``.

    ::

        rt = twinlink.Runtime(threads=4)
        devices = [twinlink.Device(f"sensor-{i}", broker, runtime=rt, connect=False) for i in range(500)]

    Without a runtime each device has its own callback and timer threads. With one, the callbacks
    of all its devices run on ``threads`` shared threads, each device's in order and one at a time,
    and a slow callback of one device delays only that device's later callbacks (until as many
    devices block in callbacks as there are threads). The devices' connection loops, shadows and
    datapoint batchers run on the runtime's two network threads, so a device on a runtime adds no
    thread, and connects stay concurrent.

    The runtime lives as long as a device uses it: dropping this object early is harmless.
    """

    def __init__(self, threads: int = 2) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int):
            raise TypeError(f"threads must be an int, not {type(threads).__name__}")
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        self._native = _native.Runtime(threads)
        self._threads = threads

    @property
    def threads(self) -> int:
        """The number of shared callback threads."""
        return self._threads

    @property
    def clients(self) -> int:
        """The devices and clients using the runtime now."""
        return int(self._native.clients)

    def __repr__(self) -> str:
        return f"Runtime(threads={self._threads}, clients={self.clients})"

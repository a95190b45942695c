"""twinlink's log lines and callback failures, through the ``logging`` module (logger "twinlink")."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Optional, Type, Union

logger = logging.getLogger("twinlink")

# tl_log_level -> logging level
_TO_LOGGING = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}
_NAMES = {"error": 0, "warning": 1, "warn": 1, "info": 2, "debug": 3}

LogLevel = Union[int, str, None]


def native_level(level: LogLevel) -> int:
    """The tl_log_level for ``log_level=``: a name ("debug", "info", "warning", "error"), a
    ``logging`` level, or None for the effective level of the "twinlink" logger, so that lines the
    logger would drop are not even produced."""
    if level is None:
        level = logger.getEffectiveLevel()
    if isinstance(level, str):
        try:
            return _NAMES[level.lower()]
        except KeyError:
            from ._errors import InvalidArgument

            raise InvalidArgument(
                f"log_level {level!r} is not one of 'error', 'warning', 'info', 'debug'", -1
            ) from None
    if isinstance(level, bool) or not isinstance(level, int):
        raise TypeError(f"log_level must be a str, a logging level or None, not {type(level).__name__}")
    if level <= logging.DEBUG:
        return 3
    if level <= logging.INFO:
        return 2
    if level <= logging.WARNING:
        return 1
    return 0


def emit(level: int, message: str) -> None:
    """The log callback of every client: one twinlink log line."""
    logger.log(_TO_LOGGING.get(level, logging.DEBUG), "%s", message)


def callback_failed(
    where: str,
    exc_type: Optional[Type[BaseException]],
    exc: Optional[BaseException],
    tb: Optional[TracebackType],
) -> None:
    """Called by the native module when a user callback raised: the exception is logged and the
    dispatcher goes on with the next callback."""
    logger.error("exception in a %s callback", where, exc_info=(exc_type, exc, tb))  # type: ignore[arg-type]

"""Log lines that a request cannot forge: control characters escaped, in every handler.

uvicorn's access log writes the request's path as decoded (``%0A`` becomes a
line break), and the server's own error lines name the method and path; a
client could otherwise end a line and start a forged one. :class:`EscapeControl`
rewrites every string argument (and the message) of a record so that C0/C1
controls, DEL and Unicode line separators appear as ``\\xNN`` / ``\\uNNNN``.
:func:`log_config` is uvicorn's own logging config with that filter on both of
its handlers and the ``usagekit`` loggers routed to them. API keys are never
an argument of any log call (a test scans the logs for them).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG

__all__ = ["EscapeControl", "escape", "log_config"]

_CONTROLS = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_TABLE = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _CONTROLS}


def escape(text: str) -> str:
    """``text`` with every control character written as an escape."""
    return text.translate(_TABLE)


class EscapeControl(logging.Filter):
    """A handler filter: escape control characters in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = escape(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_escaped(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _escaped(arg) for key, arg in record.args.items()}
        return True


def _escaped(value: object) -> object:
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, BaseException):
        return escape(f"{value}")
    return value


def log_config() -> dict[str, Any]:
    """uvicorn's logging config, escaping control characters, with our loggers in it."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"escape": {"()": f"{__name__}.EscapeControl"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["escape"]
    config["loggers"]["usagekit"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config

"""Log lines a request cannot forge: control characters escaped by every handler's filter."""

from __future__ import annotations

import io
import logging

import pytest

from usagekit.mock.server.logs import EscapeControl, escape, log_config


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("me\nERROR: forged", "me\\x0aERROR: forged"),
        ("a\rb", "a\\x0db"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("nul\x00", "nul\\x00"),
        ("del\x7f", "del\\x7f"),
        ("c1\x85", "c1\\x85"),
        ("sep\u2028", "sep\\u2028"),
        ("Europe/Vienna ü", "Europe/Vienna ü"),
    ],
)
def test_escape_writes_controls_as_escapes(text, shown) -> None:
    assert escape(text) == shown


def test_every_handler_of_the_config_escapes_the_message_and_its_arguments() -> None:
    config = log_config()
    assert all("escape" in handler["filters"] for handler in config["handlers"].values())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(EscapeControl())
    logger = logging.getLogger("usagekit.test.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error(
            "internal error on %s %s: %s", "GET", "/v1/me\nERROR: forged", ValueError("x\ny")
        )
        logger.error("plain\nline")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "internal error on GET /v1/me\\x0aERROR: forged: x\\x0ay",
        "plain\\x0aline",
    ]


def test_the_config_routes_usagekit_loggers_through_the_filtered_handler() -> None:
    config = log_config()
    assert config["loggers"]["usagekit"]["handlers"] == ["default"]
    assert config["filters"]["escape"]["()"] == "usagekit.mock.server.logs.EscapeControl"

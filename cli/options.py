"""Option types the commands share, declared once."""

from __future__ import annotations

import click

from usagekit.mock.core.instants import parse_instant

__all__ = ["INSTANT", "Instant"]


class Instant(click.ParamType):
    """An RFC 3339 date-time with a UTC offset, as µs since the epoch."""

    name = "ISO"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_instant(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


INSTANT = Instant()

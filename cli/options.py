"""Option types the commands share, declared once (the judging ones are in :mod:`.judging`)."""

from __future__ import annotations

import click

from usagekit.mock.core.instants import parse_instant
from usagekit.mock.hosts import allowed_names

__all__ = ["ADMIN_TOKEN", "ALLOWED_HOST", "INSTANT", "MAX_CONNECTIONS", "READ_TIMEOUT", "Instant"]


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


#: The mock's /_usagekit/* and the proxy's own paths answer loopback clients, or this token.
ADMIN_TOKEN = click.option(
    "--admin-token",
    metavar="TOKEN",
    envvar="USAGEKIT_ADMIN_TOKEN",
    help="Serve /_usagekit/* to any client that sends 'Authorization: Bearer TOKEN' "
    "(default: loopback clients only).",
)


def _allowed_hosts(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    try:
        return allowed_names(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


#: The names the mock and the proxy answer for besides localhost and IP addresses: a
#: guard against DNS rebinding (usagekit.mock.hosts).
ALLOWED_HOST = click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    callback=_allowed_hosts,
    help="Also answer requests whose Host is NAME (repeatable; *.NAME for the names under "
    "it, * for any). On a loopback --host only localhost, *.localhost and IP addresses are "
    "answered otherwise (a guard against DNS rebinding); on any other --host, any name.",
)


#: The mock's and the proxy's request deadline (a slow client cannot hold a connection),
#: which is also how long a client that takes none of its answer is waited for.
READ_TIMEOUT = click.option(
    "--read-timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Close a connection that has not sent a whole request, or taken any of its "
    "answer, within SECONDS.",
)


#: The mock's (per worker) and the proxy's cap on open client connections.
MAX_CONNECTIONS = click.option(
    "--max-connections",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Open connections (per worker of the mock); one more is answered 503 and closed.",
)

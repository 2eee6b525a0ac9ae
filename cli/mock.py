"""``usagekit mock``: serve the contract from the reference aggregator."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from usagekit.mock.core.errors import UsagekitError
from usagekit.mock.datasets import synthetic
from usagekit.mock.server.banner import banner
from usagekit.mock.server.config import (
    DEFAULT_CACHE_BYTES,
    ConfigError,
    ServerConfig,
    parse_latency,
    parse_rate,
)
from usagekit.mock.server.run import serve

from .options import ADMIN_TOKEN, ALLOWED_HOST, INSTANT, MAX_CONNECTIONS, READ_TIMEOUT

__all__ = ["mock"]

T = TypeVar("T")


def _parsed(parse: Callable[[str], T]) -> Callable[[click.Context, click.Parameter, Any], T | None]:
    """A click callback that turns a parse error into a usage error."""

    def callback(_ctx: click.Context, param: click.Parameter, value: Any) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param=param) from None

    return callback


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False),
    help="Serve this dataset directory (accounts.json, conversations.jsonl). A large file is "
    "decoded once and mapped from the cache on later starts ($USAGEKIT_CACHE_DIR, default "
    "~/.cache/usagekit; 'off' disables it).",
)
@click.option("--seed", type=int, help="Seed of the synthetic dataset (default: the demo seed).")
@click.option(
    "--size",
    type=click.IntRange(min=synthetic.MIN_SIZE),
    help="Conversations in the synthetic dataset.",
)
@click.option(
    "--now",
    type=INSTANT,
    help="Pin 'now' (a date-time with offset) for every request; default: the wall clock.",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--latency",
    callback=_parsed(parse_latency),
    metavar="MS[-MS]",
    help="Delay every answer by MS, or uniformly between two values (ms; at most 60000).",
)
@click.option(
    "--error-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    metavar="P",
    help="Fail a request with 500 or 503 with probability P.",
)
@click.option("--chaos-seed", type=int, help="Seed of --latency and --error-rate draws.")
@click.option(
    "--rate-limit",
    callback=_parsed(parse_rate),
    metavar="N/s",
    help="Token bucket per API key: 429 with Retry-After past N requests per second "
    "(each of W workers enforces N/W).",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Allow this CORS origin (repeatable); default: every origin.",
)
@ALLOWED_HOST
@click.option(
    "--cache-mb",
    "--memo-mb",
    "cache_mb",
    default=DEFAULT_CACHE_BYTES // 2**20,
    show_default=True,
    type=click.IntRange(min=0),
    help="Cache budget of the whole server (MiB): encoded answers and resolved requests "
    "together; each of W workers keeps at most 1/W of it.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Reload --data DIR when its files change; a bad edit keeps the old data serving.",
)
@ADMIN_TOKEN
@READ_TIMEOUT
@click.option(
    "--keep-alive",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Close an idle keep-alive connection after SECONDS.",
)
@MAX_CONNECTIONS
@click.option(
    "--max-requests",
    default=256,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests answered at once per worker; one more is answered 503 with Retry-After.",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def mock(
    *,
    host: str,
    port: int,
    data_dir: str | None,
    seed: int | None,
    size: int | None,
    now: int | None,
    workers: int,
    latency: tuple[int, int] | None,
    error_rate: float,
    chaos_seed: int | None,
    rate_limit: float | None,
    cors_origins: tuple[str, ...],
    allowed_hosts: tuple[str, ...],
    cache_mb: int,
    watch: bool,
    admin_token: str | None,
    read_timeout: float,
    keep_alive: float,
    max_connections: int,
    max_requests: int,
    access_log: bool,
    log_level: str,
) -> None:
    """Serve GET /v1/accounts/{account_id}/analytics/usage from the reference aggregator.

    A landing page at /, a usage dashboard at /demo, Swagger UI at /ui/, the
    spec at /openapi.json, health at /healthz. Send `Prefer: code=429` (or
    401, 403, 422, 500, 503) to force an error, `Prefer: latency=MS` to delay
    one answer, `Prefer: example=NAME` for a named example. While it runs,
    /_usagekit/scenario, /_usagekit/requests and /_usagekit/status control and
    show it (loopback clients only, unless --admin-token).
    """
    try:
        config = ServerConfig(
            host=host,
            port=port,
            workers=workers,
            data_dir=data_dir,
            seed=seed,
            size=size,
            now=now,
            latency_ms=latency,
            error_rate=error_rate,
            chaos_seed=chaos_seed,
            rate_limit=rate_limit,
            cors_origins=cors_origins,
            allowed_hosts=allowed_hosts,
            cache_bytes=cache_mb * 2**20,
            watch=watch,
            admin_token=admin_token,
            read_timeout=read_timeout,
            keep_alive=keep_alive,
            max_connections=max_connections,
            max_requests=max_requests,
            access_log=access_log,
            log_level=log_level,
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(banner(config), err=True)
    try:
        serve(config)
    except UsagekitError as exc:  # a bad dataset directory: its file, line and field
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)

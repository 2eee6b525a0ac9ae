"""``usagekit proxy``: judge a real backend's live traffic between a client and the backend."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import NoReturn

import click

from usagekit.conformance.config import KitConfig
from usagekit.conformance.coverage import typos
from usagekit.conformance.errors import KitError
from usagekit.conformance.events import Handler
from usagekit.conformance.outcomes import Summary, visible
from usagekit.conformance.profiles import Profile
from usagekit.conformance.proxying import ProxyConfig, serve_proxy
from usagekit.conformance.reporting.files import unwritable, write_each
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.datasets.files import load_dataset

from .aborted import ProxyCommand
from .judging import (
    COVERAGE_JSON,
    DATA,
    JUNIT_XML,
    MIN_COVERAGE,
    PROFILE,
    report_handlers,
    report_option,
)
from .options import ADMIN_TOKEN, ALLOWED_HOST, INSTANT, MAX_CONNECTIONS, READ_TIMEOUT

__all__ = ["proxy"]


@click.command(cls=ProxyCommand)
@click.option(
    "--upstream", required=True, help="The backend to forward to, e.g. https://staging.example.com"
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--strict",
    is_flag=True,
    help="Replace a violating answer by a 502 upstream_violation naming each rule.",
)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record every exchange to this HAR 1.2 file (X-API-Key redacted).",
)
@DATA
@click.option("--now", type=INSTANT, help="The upstream's pinned clock (ISO, with offset).")
@PROFILE
@report_option("Write a Markdown report (HTML for .html); repeatable. Refreshed while running.")
@JUNIT_XML
@COVERAGE_JSON
@MIN_COVERAGE
@ADMIN_TOKEN
@ALLOWED_HOST
@click.option(
    "--refresh",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between report refreshes.",
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds to wait for the upstream.",
)
@READ_TIMEOUT
@MAX_CONNECTIONS
def proxy(
    upstream: str,
    host: str,
    port: int,
    strict: bool,
    record: Path | None,
    data: Path | None,
    now: int | None,
    profile: str,
    reports: tuple[Path, ...],
    junit_xml: Path | None,
    coverage_json: Path | None,
    min_coverage: tuple[str, ...],
    admin_token: str | None,
    allowed_hosts: tuple[str, ...],
    refresh: float,
    timeout: float,
    read_timeout: float,
    max_connections: int,
) -> None:
    """Forward every request to --upstream and judge the endpoint's answers.

    Each answer of the endpoint gets X-Usagekit-Violations (and X-Usagekit-Rules);
    GET /_usagekit/violations and /_usagekit/coverage show the running tally
    (to loopback clients, or to any client with --admin-token).
    Stop with Ctrl-C or SIGTERM: exit 0 when every answer held, 1 otherwise.
    """
    if not upstream.startswith(("http://", "https://")):
        raise click.BadParameter("must be an http:// or https:// URL", param_hint="--upstream")
    kit = KitConfig(
        base_url=upstream,
        api_key="",
        account_id="",
        data=data,
        profile=Profile(profile),
        server_now=now,
        min_coverage=min_coverage,
    )
    handlers = report_handlers(reports, junit_xml, coverage_json)
    wrong = typos(min_coverage) or unwritable(handlers)
    if wrong is not None:  # before any traffic
        _cannot_start(handlers, kit, wrong)
    try:
        dataset = load_dataset(data) if data is not None else None
    except (DatasetError, OSError) as exc:
        _cannot_start(handlers, kit, f"--data {data}: {exc}")
    config = ProxyConfig(
        kit=kit,
        host=host,
        port=port,
        strict=strict,
        record=record,
        refresh=refresh,
        timeout=timeout,
        read_timeout=read_timeout,
        max_connections=max_connections,
        admin_token=admin_token,
        allowed_hosts=allowed_hosts,
    )
    click.echo(
        f"usagekit proxy: http://{host}:{port} -> {kit.base_url} "
        f"(profile {profile}{', strict' if strict else ''})",
        err=True,
    )
    try:
        traffic = serve_proxy(config, dataset, handlers, version=version("usagekit"))
    except KitError as exc:
        _cannot_start(handlers, kit, str(exc))
    except Exception as exc:  # a bug, or a library's surprise: still every report, exit 2
        traceback.print_exc()  # for the bug report; the reports name the crash
        _cannot_start(handlers, kit, f"usagekit crashed: {type(exc).__name__}: {exc}", "crash")
    summary = traffic.summary()
    if summary.uncovered:
        click.echo(f"usagekit proxy: not exercised: {', '.join(summary.uncovered)}", err=True)
    sys.exit(0 if summary.passed else 1)


def _cannot_start(
    handlers: Sequence[Handler], kit: KitConfig, error: str, kind: str = "bad usage"
) -> NoReturn:
    """A proxy that cannot start, or that crashed, still writes every report it was asked
    for (a crash's replaces those of the traffic before it: the crash is the news); exit 2."""
    summary = Summary.aborted(
        base_url=kit.base_url, profile=kit.profile.value, kind=kind, error=error
    )
    for failed in write_each(handlers, summary):
        click.echo(visible(f"usagekit proxy: {failed}"), err=True)
    click.echo(visible(f"usagekit proxy: {error}"), err=True)
    sys.exit(2)

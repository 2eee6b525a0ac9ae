"""``usagekit check``: judge any implementation of the endpoint against the contract."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

from usagekit.conformance.config import KitConfig
from usagekit.conformance.coverage import typos
from usagekit.conformance.errors import KitError
from usagekit.conformance.events import Handler
from usagekit.conformance.inprocess import IN_PROCESS_BASE_URL, load_app
from usagekit.conformance.outcomes import Summary, visible
from usagekit.conformance.profiles import Profile
from usagekit.conformance.replay import replay
from usagekit.conformance.reporting.files import FileReport, unwritable
from usagekit.conformance.reporting.terminal import TerminalHandler
from usagekit.conformance.rules import RULES
from usagekit.conformance.runner import run
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.datasets.files import load_dataset

from .aborted import KINDS, CheckCommand, file_reports, write_aborted
from .judging import COVERAGE_JSON, DATA, JUNIT_XML, MIN_COVERAGE, PROFILE, report_option
from .options import INSTANT

__all__ = ["check"]


def _list_rules(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for rule in RULES:
        needs = f" (needs {', '.join(sorted(rule.requires))})" if rule.requires else ""
        click.echo(
            f"{rule.name:42} {rule.profile.value:9} {rule.kind.value:8} {rule.summary}{needs}"
        )
    ctx.exit(0)


@click.command(cls=CheckCommand)
@click.option(
    "--base-url",
    help="The server under test, e.g. http://127.0.0.1:8000. With --app: where the app would "
    "be served, for the curls [default: http://127.0.0.1:8000].",
)
@click.option(
    "--app",
    "app_target",
    metavar="MODULE:ATTR",
    help="Judge this ASGI or WSGI application in process, without a network.",
)
@click.option("--factory", is_flag=True, help="--app names a factory: call it to get the app.")
@click.option(
    "--app-dir",
    default=".",
    show_default=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Where --app's module is imported from.",
)
@click.option(
    "--api-key",
    envvar="USAGEKIT_API_KEY",
    help="A key of --account-id [env: USAGEKIT_API_KEY].",
)
@click.option("--account-id", help="The account --api-key belongs to.")
@click.option(
    "--replay",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Judge the exchanges of this HAR file offline instead (no --base-url, no keys).",
)
@click.option("--subaccount-id", help="A subaccount of --account-id (enables the tenancy rules).")
@click.option(
    "--subaccount-key",
    envvar="USAGEKIT_SUBACCOUNT_KEY",
    help="That subaccount's key [env: USAGEKIT_SUBACCOUNT_KEY].",
)
@click.option("--foreign-account-id", help="An account --api-key may not read.")
@DATA
@PROFILE
@click.option(
    "--max-examples",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Schemathesis examples per phase and mode (0 skips schemathesis).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed for generation, so that a run can be repeated.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds per request, its whole answer included; a request that gets no whole answer "
    "in time fails its rule (TooSlow).",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Times a 429 or 503 is sent again (after its Retry-After, at most 10 s) before it counts.",
)
@click.option(
    "--max-time",
    type=click.FloatRange(min=0.1),
    help="Seconds the whole run may take. When they run out no new request starts, waits "
    "(Retry-After) end, and the reports say which rules were not run; exit 3 unless a rule "
    "failed [default: no limit].",
)
@click.option(
    "--server-now",
    "--now",
    "server_now",
    type=INSTANT,
    help="The server's pinned clock (ISO, with offset), if it pins one.",
)
@click.option("--check", "only", multiple=True, help="Run only this rule (repeatable).")
@click.option("--skip-check", "skip", multiple=True, help="Do not run this rule (repeatable).")
@JUNIT_XML
@report_option("Write a report: Markdown, HTML for .html, JUnit XML for .xml (repeatable).")
@COVERAGE_JSON
@MIN_COVERAGE
@click.option(
    "--list-checks",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_list_rules,
    help="List the rules and exit.",
)
def check(
    base_url: str | None,
    app_target: str | None,
    factory: bool,
    app_dir: Path,
    api_key: str | None,
    account_id: str | None,
    replay: Path | None,
    subaccount_id: str | None,
    subaccount_key: str | None,
    foreign_account_id: str | None,
    data: Path | None,
    profile: str,
    max_examples: int,
    seed: int,
    timeout: float,
    retries: int,
    max_time: float | None,
    server_now: int | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    junit_xml: Path | None,
    reports: tuple[Path, ...],
    coverage_json: Path | None,
    min_coverage: tuple[str, ...],
) -> None:
    """Check a server against the usage analytics contract.

    Exit status: 0 when every rule holds, 1 when any fails, 2 when the run
    cannot judge the server (bad usage, unreachable, credentials refused), 3
    when --max-time ended the run before every rule ran and none failed; the
    reports are written in every case.
    """
    files = file_reports(junit_xml, reports, coverage_json)
    wrong = typos(min_coverage) or unwritable(files)
    if wrong is not None:  # before any traffic: a typo must not cost a whole run
        where = f"replay of {replay}" if replay is not None else base_url or "-"
        write_aborted(files, where, "bad usage", wrong, profile)
        raise click.UsageError(wrong)
    if replay is not None:
        _replay(replay, data, profile, server_now, only, skip, files, min_coverage)
    app = None
    if app_target is not None:
        base_url = base_url or IN_PROCESS_BASE_URL
        try:
            app = load_app(app_target, factory=factory, app_dir=app_dir)
        except KitError as exc:
            write_aborted(files, base_url, "bad usage", str(exc), profile)
            raise click.UsageError(str(exc)) from None
    if base_url is None or api_key is None or account_id is None:
        error = (
            "--base-url (or --app MODULE:ATTR), --api-key and --account-id are required "
            "(or --replay FILE.har)"
        )
        write_aborted(files, base_url or "-", "bad usage", error, profile)
        raise click.UsageError(error)
    try:
        config = KitConfig(
            base_url=base_url,
            app=app,
            api_key=api_key,
            account_id=account_id,
            subaccount_id=subaccount_id,
            subaccount_key=subaccount_key,
            foreign_account_id=foreign_account_id,
            data=data,
            profile=Profile(profile),
            max_examples=max_examples,
            seed=seed,
            timeout=timeout,
            retries=retries,
            max_time=max_time,
            server_now=server_now,
            only=frozenset(only),
            skip=frozenset(skip),
            min_coverage=min_coverage,
        )
    except ValueError as exc:
        write_aborted(files, base_url, "bad usage", str(exc), profile)
        raise click.UsageError(str(exc)) from None
    handlers: list[Handler] = [TerminalHandler(sys.stdout), *files]
    try:
        summary = run(config, handlers)
    except KitError as exc:
        kind = KINDS.get(type(exc), "error")
        write_aborted(files, config.base_url, kind, str(exc), config.profile.value)
        click.echo(visible(f"usagekit check: {exc}"), err=True)
        sys.exit(2)
    _exit(summary)


def _replay(
    har: Path,
    data: Path | None,
    profile: str,
    server_now: int | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    files: Sequence[FileReport],
    min_coverage: tuple[str, ...],
) -> NoReturn:
    """``--replay``: the HAR's exchanges of the endpoint, judged offline; exits 0, 1 or 2."""
    config = KitConfig(
        base_url=f"replay of {har}",
        api_key="",
        account_id="",
        data=data,
        profile=Profile(profile),
        server_now=server_now,
        only=frozenset(only),
        skip=frozenset(skip),
        min_coverage=min_coverage,
    )
    try:
        dataset = load_dataset(data) if data is not None else None
        summary, _ = replay(config, har, dataset, [TerminalHandler(sys.stdout), *files])
    except (KitError, DatasetError, OSError) as exc:
        write_aborted(files, config.base_url, "bad usage", str(exc), profile)
        click.echo(visible(f"usagekit check: {exc}"), err=True)
        sys.exit(2)
    _exit(summary)


#: The exit status of a run --max-time ended before every rule ran, none having failed.
OUT_OF_TIME = 3


def _exit(summary: Summary) -> NoReturn:
    """0 when every rule held and every --min-coverage cell was exercised; 1 when a rule
    failed, however the run ended; 3 when the time budget ended it before that (cells it
    never reached are no verdict either); else 1."""
    if summary.budget is not None:
        click.echo(f"usagekit check: {summary.budget}", err=True)
    if summary.uncovered:
        click.echo(f"usagekit check: not exercised: {', '.join(summary.uncovered)}", err=True)
    if summary.failed:
        sys.exit(1)
    if summary.budget is not None:
        sys.exit(OUT_OF_TIME)
    sys.exit(0 if summary.passed else 1)

"""``usagekit check``: judge any implementation of the endpoint against the contract."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from usagekit.conformance.config import KitConfig
from usagekit.conformance.errors import KitError
from usagekit.conformance.events import Handler
from usagekit.conformance.profiles import Profile
from usagekit.conformance.reporting.files import junit_report, report_for
from usagekit.conformance.reporting.terminal import TerminalHandler
from usagekit.conformance.rules import RULES
from usagekit.conformance.runner import run

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


@click.command()
@click.option("--base-url", required=True, help="The server under test, e.g. http://127.0.0.1:8000")
@click.option(
    "--api-key",
    required=True,
    envvar="USAGEKIT_API_KEY",
    help="A key of --account-id [env: USAGEKIT_API_KEY].",
)
@click.option("--account-id", required=True, help="The account --api-key belongs to.")
@click.option("--subaccount-id", help="A subaccount of --account-id (enables the tenancy rules).")
@click.option(
    "--subaccount-key",
    envvar="USAGEKIT_SUBACCOUNT_KEY",
    help="That subaccount's key [env: USAGEKIT_SUBACCOUNT_KEY].",
)
@click.option("--foreign-account-id", help="An account --api-key may not read.")
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The dataset the server serves: every answer is compared with the reference.",
)
@click.option(
    "--profile",
    type=click.Choice([p.value for p in Profile]),
    default=Profile.REFERENCE.value,
    show_default=True,
    help="contract: what the published contract states; reference: every rule of openapi.yaml.",
)
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
    help="Seconds per request.",
)
@click.option(
    "--server-now",
    type=INSTANT,
    help="The server's pinned clock (ISO, with offset), if it pins one.",
)
@click.option("--check", "only", multiple=True, help="Run only this rule (repeatable).")
@click.option("--skip-check", "skip", multiple=True, help="Do not run this rule (repeatable).")
@click.option(
    "--junit-xml", type=click.Path(dir_okay=False, path_type=Path), help="Write a JUnit XML report."
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a Markdown report (HTML for .html).",
)
@click.option(
    "--list-checks",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_list_rules,
    help="List the rules and exit.",
)
def check(
    base_url: str,
    api_key: str,
    account_id: str,
    subaccount_id: str | None,
    subaccount_key: str | None,
    foreign_account_id: str | None,
    data: Path | None,
    profile: str,
    max_examples: int,
    seed: int,
    timeout: float,
    server_now: int | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    junit_xml: Path | None,
    report: Path | None,
) -> None:
    """Check a server against the usage analytics contract.

    Exit status: 0 when every rule holds, 1 when any fails, 2 for bad usage or
    a server that cannot be reached.
    """
    try:
        config = KitConfig(
            base_url=base_url,
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
            server_now=server_now,
            only=frozenset(only),
            skip=frozenset(skip),
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    handlers: list[Handler] = [TerminalHandler(sys.stdout)]
    if junit_xml is not None:
        handlers.append(junit_report(junit_xml))
    if report is not None:
        handlers.append(report_for(report))
    try:
        summary = run(config, handlers)
    except KitError as exc:
        click.echo(f"usagekit check: {exc}", err=True)
        sys.exit(2)
    sys.exit(0 if summary.ok else 1)

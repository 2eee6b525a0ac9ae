"""``check``'s reports of a run that cannot start: bad usage, an unreachable server, refused keys.

A run that cannot start still writes every report it was asked for, saying why;
:class:`CheckCommand` does so also when the command line itself is wrong, and
when the run crashes (a bug of the kit or a surprise of a library it uses).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click

from usagekit.conformance.errors import BadOptions, KitError, RejectedCredentials, Unreachable
from usagekit.conformance.outcomes import Summary, visible
from usagekit.conformance.reporting.files import (
    FileReport,
    coverage_report,
    junit_report,
    report_for,
    write_each,
)

__all__ = ["KINDS", "CheckCommand", "ProxyCommand", "file_reports", "write_aborted"]


#: What the reports call each reason a run cannot start.
KINDS: dict[type[KitError], str] = {
    Unreachable: "unreachable",
    RejectedCredentials: "credentials refused",
    BadOptions: "bad usage",
}


def file_reports(
    junit_xml: Path | None, reports: Iterable[Path], coverage_json: Path | None = None
) -> list[FileReport]:
    files = [junit_report(junit_xml)] if junit_xml is not None else []
    files += [coverage_report(coverage_json)] if coverage_json is not None else []
    return files + [report_for(path) for path in reports]


def write_aborted(
    files: Sequence[FileReport], base_url: str, kind: str, error: str, profile: str = "-"
) -> None:
    """A run that cannot start still writes every report it was asked for, saying why."""
    summary = Summary.aborted(base_url=base_url, profile=profile, kind=kind, error=error)
    for failed in write_each(files, summary):
        click.echo(visible(f"usagekit check: {failed}"), err=True)


def _values(args: Sequence[str], option: str) -> list[str]:
    """Every value ``option`` has in raw arguments (``--opt v`` or ``--opt=v``)."""
    values = []
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name == option and (eq or i + 1 < len(args)):
            values.append(value if eq else args[i + 1])
    return values


class _Reporting(click.Command):
    """A command that writes its reports also when the command line itself is wrong."""

    #: The option that names what the run was to judge (the reports' heading).
    judged = "--base-url"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raw = list(args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            junit = [Path(v) for v in _values(raw, "--junit-xml")][-1:]
            ledger = [Path(v) for v in _values(raw, "--coverage-json")][-1:]
            files = file_reports(
                junit[0] if junit else None,
                map(Path, _values(raw, "--report")),
                ledger[0] if ledger else None,
            )
            base_url = next(iter(_values(raw, self.judged)), "-")
            write_aborted(files, base_url, "bad usage", exc.format_message())
            raise


class ProxyCommand(_Reporting):
    """``proxy``: its reports, also of a command line click refuses (``--port abc``)."""

    judged = "--upstream"


class CheckCommand(_Reporting):
    """``check``, writing its reports also when the command line is wrong or it crashes."""

    def invoke(self, ctx: click.Context) -> Any:
        """The command; a crash still writes every report, naming it, and exits 2."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            # The traceback is for the bug report; the reports name the crash.
            traceback.print_exc(file=sys.stderr)
            crash = f"usagekit crashed: {type(exc).__name__}: {exc}"
            params = ctx.params
            files = file_reports(
                params.get("junit_xml"), params.get("reports", ()), params.get("coverage_json")
            )
            har = params.get("replay")
            base_url = f"replay of {har}" if har is not None else params.get("base_url") or "-"
            write_aborted(files, base_url, "crash", crash, params.get("profile") or "-")
            click.echo(visible(f"usagekit check: {crash} (a bug: please report it)"), err=True)
            sys.exit(2)

"""Options of the commands that judge a server (``check``, ``proxy``), declared once.

They live apart from :mod:`.options` because they import the kit: ``usagekit
mock`` must not pay for schemathesis at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import click
from click.decorators import FC

from usagekit.conformance.events import Handler
from usagekit.conformance.profiles import Profile
from usagekit.conformance.reporting.files import coverage_report, junit_report, report_for

__all__ = [
    "COVERAGE_JSON",
    "DATA",
    "JUNIT_XML",
    "MIN_COVERAGE",
    "PROFILE",
    "report_handlers",
    "report_option",
]


def report_handlers(
    reports: Sequence[Path], junit_xml: Path | None, coverage_json: Path | None
) -> list[Handler]:
    """The report files a command's --report, --junit-xml and --coverage-json ask for."""
    handlers: list[Handler] = [report_for(path) for path in reports]
    if junit_xml is not None:
        handlers.append(junit_report(junit_xml))
    if coverage_json is not None:
        handlers.append(coverage_report(coverage_json))
    return handlers


#: Options ``check`` and ``proxy`` share, declared once.
PROFILE = click.option(
    "--profile",
    type=click.Choice([p.value for p in Profile]),
    default=Profile.REFERENCE.value,
    show_default=True,
    help="contract: what the published contract states; reference: every rule of openapi.yaml.",
)
DATA = click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The dataset the server serves: every answer is compared with the reference.",
)
JUNIT_XML = click.option(
    "--junit-xml", type=click.Path(dir_okay=False, path_type=Path), help="Write a JUnit XML report."
)
COVERAGE_JSON = click.option(
    "--coverage-json",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the coverage ledger as JSON.",
)
MIN_COVERAGE = click.option(
    "--min-coverage",
    multiple=True,
    metavar="CELL",
    help="Exit 1 unless this cell (or every cell of a pattern: 'tz:*') was exercised.",
)


def report_option(help: str) -> Callable[[FC], FC]:
    """``--report PATH`` (repeatable, into ``reports``); ``help`` says what each command writes."""
    return click.option(
        "--report",
        "reports",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help=help,
    )

"""``usagekit``: one command, a subcommand per job.

Each subcommand lives in its own module and only turns options into a call of
the package that does the work; this module just names them.
"""

from __future__ import annotations

import click

from usagekit.conformance.provenance import provenance

from .aggregate import aggregate
from .check import check
from .dataset import dataset
from .mock import mock
from .proxy import proxy


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """What a report would say judged it: the kit, the contract, tzdata, schemathesis."""
    if not value or ctx.resilient_parsing:
        return
    for name, text in provenance().items():
        click.echo(f"{name} {text}")
    ctx.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of usagekit, the contract, tzdata and schemathesis, and exit.",
)
def main() -> None:
    """Contract-first mock server and conformance kit for the usage analytics endpoint."""


main.add_command(mock)
main.add_command(check)
main.add_command(aggregate)
main.add_command(dataset)
main.add_command(proxy)

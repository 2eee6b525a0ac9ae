"""``usagekit``: one command, a subcommand per job.

Each subcommand lives in its own module and only turns options into a call of
the package that does the work; this module just names them. A subcommand's
module is imported when that subcommand runs (click's lazy group pattern), so
``usagekit mock`` starts without importing the kit and schemathesis (about
0.6 s of every start) and ``usagekit check`` without the server.
"""

from __future__ import annotations

import importlib

import click

from usagekit.conformance.provenance import provenance

#: Each subcommand, by the module that declares it (a click command of the same name).
SUBCOMMANDS = {
    "mock": "usagekit.cli.mock",
    "check": "usagekit.cli.check",
    "aggregate": "usagekit.cli.aggregate",
    "dataset": "usagekit.cli.dataset",
    "proxy": "usagekit.cli.proxy",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported by name when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return super().get_command(ctx, cmd_name)
        command = getattr(importlib.import_module(SUBCOMMANDS[cmd_name]), cmd_name)
        if not isinstance(command, click.Command):
            raise TypeError(f"{SUBCOMMANDS[cmd_name]}.{cmd_name} is not a click command")
        return command


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """What a report would say judged it: the kit, the contract, tzdata, schemathesis."""
    if not value or ctx.resilient_parsing:
        return
    for name, text in provenance().items():
        click.echo(f"{name} {text}")
    ctx.exit(0)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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

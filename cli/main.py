"""``usagekit``: one command, a subcommand per job.

Each subcommand lives in its own module and only turns options into a call of
the package that does the work; this module just names them.
"""

from __future__ import annotations

import click

from .aggregate import aggregate
from .check import check
from .dataset import dataset
from .mock import mock


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="usagekit")
def main() -> None:
    """Contract-first mock server and conformance kit for the usage analytics endpoint."""


main.add_command(mock)
main.add_command(check)
main.add_command(aggregate)
main.add_command(dataset)

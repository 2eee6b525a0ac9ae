"""``usagekit``: one command, a subcommand per job."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="usagekit")
def main() -> None:
    """Contract-first mock server and conformance kit for the usage analytics endpoint."""

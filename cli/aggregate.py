"""``usagekit aggregate``: the exact body the endpoint must return, from a dataset directory.

Partners export their own conversations into the dataset format and compute
the expected answers of their implementation with it. The query goes through
the same :func:`resolve_query` as the mock server, so its options take the
endpoint's query-parameter text, and invalid ones get the endpoint's messages.
"""

from __future__ import annotations

import sys
import time

import click

from usagekit.mock.core.aggregate import aggregate as aggregate_query
from usagekit.mock.core.errors import DatasetError, QueryError
from usagekit.mock.core.instants import US
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.datasets.files import load_dataset

from .options import INSTANT

__all__ = ["aggregate"]

#: Invalid parameters or an unknown account: the usage-error status, as click's own.
USAGE_ERROR = 2
#: The dataset directory does not load.
DATA_ERROR = 1


@click.command()
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Dataset directory (accounts.json, conversations.jsonl).",
)
@click.option("--account", "account_id", required=True, help="The account id to report on.")
@click.option("--start", metavar="ISO", help="Start, inclusive (default: 30 days before end).")
@click.option("--end", metavar="ISO", help="End, exclusive (default: now).")
@click.option("--granularity", metavar="hour|day|month", help="Bucket size (default: day).")
@click.option(
    "--group-by",
    multiple=True,
    metavar="DIM[,DIM]",
    help="agent, subaccount, type; comma separated and/or repeated.",
)
@click.option("--tz", metavar="ZONE", help="IANA zone of the buckets (default: UTC).")
@click.option("--limit", metavar="N", help="At most N buckets, 1 to 500 (default: 500).")
@click.option(
    "--now",
    type=INSTANT,
    help="Pin 'now' (a date-time with offset); default: the wall clock, whole seconds.",
)
def aggregate(
    *,
    data_dir: str,
    account_id: str,
    start: str | None,
    end: str | None,
    granularity: str | None,
    group_by: tuple[str, ...],
    tz: str | None,
    limit: str | None,
    now: int | None,
) -> None:
    """Print the JSON body GET /v1/accounts/{ACCOUNT}/analytics/usage returns for a query.

    Options take the endpoint's parameter text (naive date-times are local in
    --tz). Invalid parameters are listed on stderr, exit status 2.
    """
    try:
        dataset = load_dataset(data_dir)
    except DatasetError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(DATA_ERROR)
    raw = RawQuery(
        start=start,
        end=end,
        granularity=granularity,
        group_by=list(group_by) or None,
        tz=tz,
        limit=limit,
    )
    problems: list[str] = []
    query = None
    try:
        query = resolve_query(
            raw, account_id=account_id, now=now if now is not None else int(time.time()) * US
        )
    except QueryError as exc:
        problems.extend(f"{error.field}: {error.message}" for error in exc.errors)
    if dataset.account(account_id) is None:
        problems.append(f"--account: no account {account_id!r} in {data_dir}")
    if problems or query is None:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(USAGE_ERROR)
    click.echo(aggregate_query(dataset, query).to_json() + b"\n", nl=False)

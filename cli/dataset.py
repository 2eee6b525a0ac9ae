"""``usagekit dataset``: export a synthetic dataset; validate a dataset directory."""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

from usagekit.mock.core.dataset import CONVERSATION_TYPES, STATUSES, Dataset
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.core.instants import US, format_instant
from usagekit.mock.datasets.files import load_dataset, save_dataset
from usagekit.mock.datasets.synthetic import (
    DEFAULT_SEED,
    DEFAULT_SIZE,
    DEMO_ACCOUNT_ID,
    DEMO_API_KEY,
    MIN_SIZE,
    generate,
)

from .options import INSTANT

__all__ = ["dataset"]

HOUR = 3600 * US


def current_hour() -> int:
    """The current time floored to the UTC hour, so that exports within one hour are equal."""
    return time.time_ns() // 1000 // HOUR * HOUR


@click.group()
def dataset() -> None:
    """Synthetic datasets and dataset directories (accounts.json + conversations.jsonl)."""


@dataset.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed.")
@click.option(
    "--now",
    type=INSTANT,
    help="End of the data, RFC 3339 with offset (e.g. 2026-01-01T00:00:00Z)."
    "  [default: the current time floored to the UTC hour, so that runs within"
    " the same hour write the same files]",
)
@click.option(
    "--size",
    type=click.IntRange(min=MIN_SIZE),
    default=DEFAULT_SIZE,
    show_default=True,
    help="Number of conversations.",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=400,
    show_default=True,
    help="Days before --now that the conversations span.",
)
def export(directory: Path, seed: int, now: int | None, size: int, days: int) -> None:
    """Write a synthetic dataset into DIRECTORY (created if missing).

    The same seed, now, size and days always write the same bytes.
    """
    end = current_hour() if now is None else now
    try:
        data = generate(seed=seed, now=end, size=size, days=days)
    except ValueError as exc:  # now too close to year 1 or past year 9999
        raise click.BadParameter(str(exc), param_hint="'--now'") from None
    try:
        save_dataset(data, directory)
    except OSError as exc:
        raise click.ClickException(f"cannot write {directory}: {exc}") from None
    click.echo(
        f"wrote {size:,} conversations of {len(data.accounts)} accounts to {directory}"
        f" (seed {seed}, now {format_instant(end, 0)}, {days} days)"
    )
    click.echo(f"demo account {DEMO_ACCOUNT_ID}, API key {DEMO_API_KEY}")


@dataset.command()
@click.argument("directory", type=click.Path(path_type=Path))
def validate(directory: Path) -> None:
    """Load the dataset in DIRECTORY, report the first bad record or what it holds."""
    try:
        data = load_dataset(directory)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{directory}: valid")
    for line in summary(data):
        click.echo(line)


def summary(data: Dataset) -> list[str]:
    """A few lines on what ``data`` holds."""
    accounts = data.accounts
    top = sum(account.parent_id is None for account in accounts)
    keys = sum(len(account.api_keys) for account in accounts)
    rows = data.conversations
    lines = [
        f"accounts: {len(accounts)} ({top} top-level, {len(accounts) - top} subaccounts),"
        f" API keys: {keys}, agents: {len(data.agent_ids)}",
        f"conversations: {len(rows):,}",
    ]
    if len(rows):
        first, last = format_instant(int(rows.start[0]), 0), format_instant(int(rows.start[-1]), 0)
        lines[-1] += f", starting from {first} to {last}"
        lines.append("  by status: " + _counts(rows.status, STATUSES))
        lines.append("  by type: " + _counts(rows.type, CONVERSATION_TYPES))
    if rows.floored:
        lines.append(
            f"  start_timestamp: {rows.floored:,} written past the microsecond, floored to it"
            " (the contract's precision; see README, Datasets)"
        )
    return lines


def _counts(codes: np.ndarray, names: tuple[str, ...]) -> str:
    counts = np.bincount(codes, minlength=len(names)).tolist()
    return ", ".join(f"{name} {count:,}" for name, count in zip(names, counts, strict=True))

"""Who the workbench pages call "demo": three keys of the served dataset, and its names.

The synthetic dataset publishes its demo credentials (``synthetic.DEMO_*``):
they are constants, not secrets. A ``--data`` directory has no such names, so
the workbench takes its first top-level account with a key as "demo", that
account's first subaccount with a key as "subaccount", and the next top-level
account with a key as "other tenant".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from usagekit.mock.core.dataset import Account, Dataset
from usagekit.mock.core.instants import MAX_INSTANT, MIN_INSTANT, US
from usagekit.mock.datasets import synthetic

__all__ = ["DemoKey", "Workspace", "names_of"]

_DAY = 86_400 * US
# A local day at any offset (at most 26 h) with six days before it and one after,
# all in the years 1 to 9999.
_EARLIEST, _LATEST = MIN_INSTANT + 8 * _DAY, MAX_INSTANT - 2 * _DAY


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoKey:
    """One key the pages offer, with its role and account."""

    role: str  # "demo", "subaccount" or "other"
    label: str
    key: str
    account_id: str
    account_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Workspace:
    """What the pages show about the served dataset: keys, names, its time range."""

    keys: tuple[DemoKey, ...]
    #: First and last conversation start (µs), ``None`` for an empty dataset.
    first: int | None
    last: int | None
    conversations: int

    @classmethod
    def of(cls, dataset: Dataset) -> Workspace:
        starts = dataset.conversations.start
        return cls(
            keys=_demo_keys(dataset),
            # Sorted by start: the ends are the extremes. A min/max would read every
            # page of a mapped column into this process (8 MB for 1M conversations).
            first=int(starts[0]) if len(starts) else None,
            last=int(starts[-1]) if len(starts) else None,
            conversations=len(starts),
        )

    @property
    def demo(self) -> DemoKey | None:
        return next((k for k in self.keys if k.role == "demo"), None)

    def role_of(self, account_id: str) -> str | None:
        """The role of an account among the demo keys, for the requests journal."""
        return next((k.role for k in self.keys if k.account_id == account_id), None)

    def last_day(self, zone: tzinfo = UTC) -> date:
        """The local day of the dataset's last conversation (today when it has none).

        Within a week of the years a date-time may name (a dataset may reach either
        end): the pages' examples take the week to it and the day after."""
        last = self.last if self.last is not None else int(datetime.now(UTC).timestamp()) * US
        return datetime.fromtimestamp(min(max(last, _EARLIEST), _LATEST) // US, zone).date()

    def last_week(self) -> tuple[datetime, datetime]:
        """Seven whole UTC days ending with the day of the dataset's last conversation."""
        end = datetime.combine(self.last_day() + timedelta(days=1), time(), UTC)
        return end - timedelta(days=7), end


def names_of(dataset: Dataset) -> dict[str, dict[str, str]]:
    """Every account's and agent's name by id: the dashboard's lookup."""
    return {
        "accounts": {account.id: account.name for account in dataset.accounts},
        "agents": {
            agent.id: agent.name for account in dataset.accounts for agent in account.agents
        },
    }


def _demo_keys(dataset: Dataset) -> tuple[DemoKey, ...]:
    keys = dataset.keys()
    if synthetic.DEMO_API_KEY in keys:
        chosen = [
            ("demo", synthetic.DEMO_API_KEY),
            ("subaccount", synthetic.DEMO_SUBACCOUNT_KEY),
            ("other", synthetic.FOREIGN_API_KEY),
        ]
    else:
        chosen = _derived(dataset)
    labels = {"demo": "demo", "subaccount": "its subaccount", "other": "other tenant"}
    return tuple(
        DemoKey(
            role=role,
            label=labels[role],
            key=key,
            account_id=keys[key].id,
            account_name=keys[key].name,
        )
        for role, key in chosen
        if key in keys
    )


def _derived(dataset: Dataset) -> list[tuple[str, str]]:
    tops = [a for a in dataset.accounts if a.parent_id is None and a.api_keys]
    if not tops:
        return []
    demo = tops[0]
    chosen = [("demo", demo.api_keys[0])]
    subs: list[Account] = [s for s in dataset.subaccounts(demo.id) if s.api_keys]
    if subs:
        chosen.append(("subaccount", subs[0].api_keys[0]))
    if len(tops) > 1:
        chosen.append(("other", tops[1].api_keys[0]))
    return chosen

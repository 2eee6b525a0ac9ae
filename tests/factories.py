"""Small, readable datasets for tests: accounts and conversations written out by hand."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from usagekit.mock.core.dataset import Account, Agent, ConversationRecord, Dataset
from usagekit.mock.core.instants import parse_datetime
from usagekit.mock.core.zones import get_timeline

PARENT = "11111111-1111-4111-8111-111111111111"
CHILD = "22222222-2222-4222-8222-222222222222"
OTHER = "33333333-3333-4333-8333-333333333333"
PARENT_KEY = "sk-test-parent"
CHILD_KEY = "sk-test-child"
OTHER_KEY = "sk-test-other"

ACCOUNTS = (
    Account(
        id=PARENT,
        parent_id=None,
        name="Parent",
        api_keys=(PARENT_KEY,),
        agents=(Agent(id="agent-a", name="Alice"), Agent(id="agent-b", name="Bob")),
    ),
    Account(
        id=CHILD,
        parent_id=PARENT,
        name="Child",
        api_keys=(CHILD_KEY,),
        agents=(Agent(id="agent-c", name="Carol"),),
    ),
    Account(id=OTHER, parent_id=None, name="Other", api_keys=(OTHER_KEY,), agents=()),
)


def at(text: str) -> int:
    """An RFC 3339 date-time with offset, as µs since the epoch."""
    return parse_datetime(text).instant(get_timeline("UTC"))


def conversation(
    start: str,
    seconds: int,
    *,
    account: str = PARENT,
    agent: str | None = "agent-a",
    type: str = "phone",
    status: str = "completed",
    direction: str = "inbound",
    id: str | None = None,
) -> ConversationRecord:
    return ConversationRecord(
        conversation_id=id or f"conv-{start}-{seconds}-{account[:4]}-{agent}-{type}-{status}",
        account_id=account,
        agent_id=agent,
        type=type,
        direction=direction,
        status=status,
        start=at(start),
        duration_seconds=seconds,
    )


def dataset(
    records: Iterable[ConversationRecord], accounts: tuple[Account, ...] = ACCOUNTS
) -> Dataset:
    return Dataset.from_records(accounts, records)


DAY = 86_400 * 1_000_000


def _month_start(instant: int) -> int:
    """The UTC month start at or before ``instant`` (µs)."""
    month = np.datetime64(instant // 1_000_000, "s").astype("M8[M]")
    return int(month.astype("M8[s]").astype(np.int64)) * 1_000_000


#: Agent ids a user's dataset may hold: JSON escapes (a quote, a backslash, a tab, a
#: control character), and characters whose order differs by code point and by UTF-16
#: code unit (U+FF21 sorts before U+1F916 by code point, after it by UTF-16).
ODD_AGENTS = ("\U0001f916 bot", '\uff21gent "q" \\ \t', "zo\u00eb\u0001")


def with_agents(agents: tuple[str, str, str]) -> tuple[Account, ...]:
    """:data:`ACCOUNTS` with their three agents (two of the parent's, the child's) renamed."""
    names = dict(zip(("agent-a", "agent-b", "agent-c"), agents, strict=True))
    return tuple(
        dataclasses.replace(
            account,
            agents=tuple(dataclasses.replace(a, id=names[a.id]) for a in account.agents),
        )
        for account in ACCOUNTS
    )


def busy_dataset(
    now: int,
    *,
    days: int = 120,
    count: int = 4000,
    seed: int = 7,
    agents: tuple[str, str, str] = ("agent-a", "agent-b", "agent-c"),
) -> Dataset:
    """Conversations of every kind over the ``days`` before ``now`` (µs), of ``agents``.

    Some start exactly on UTC midnights, Berlin midnights (winter) and UTC
    month starts, so that a server that counts the end of a range, or cuts
    buckets a second off, miscounts.
    """
    a, b, c = agents
    rng = np.random.default_rng(seed)
    first = now // DAY * DAY - days * DAY
    records: list[ConversationRecord] = []
    for i in range(count):
        start = first + int(rng.integers(0, days * DAY))
        if i % 50 == 0:
            start = start // DAY * DAY
        elif i % 50 == 1:
            start = start // DAY * DAY - 3600 * 1_000_000
        elif i % 50 == 2:
            start = _month_start(start)
        child = i % 4 == 0
        records.append(
            ConversationRecord(
                conversation_id=f"conv-{seed}-{i:05d}",
                account_id=CHILD if child else PARENT,
                agent_id=c if child else (a, b, None)[i % 3],
                type=("phone", "web", "test", "unknown")[i % 4],
                direction=("inbound", "outbound", "internal")[i % 3],
                status="completed" if i % 5 else ("failed", "transferred", "in_progress")[i % 3],
                start=start,
                duration_seconds=int(rng.integers(0, 900)),
            )
        )
    # One conversation on every UTC midnight and every Berlin midnight (CET and CEST).
    records.extend(
        dataclasses.replace(
            conversation_at(first + day * DAY - hours * 3_600_000_000, f"edge-{day}-{hours}"),
            agent_id=a,
        )
        for day in range(days)
        for hours in (0, 1, 2)
    )
    return Dataset.from_records(with_agents(agents), records)


def conversation_at(start: int, id: str) -> ConversationRecord:
    return ConversationRecord(
        conversation_id=id,
        account_id=PARENT,
        agent_id="agent-a",
        type="phone",
        direction="inbound",
        status="completed",
        start=start,
        duration_seconds=60,
    )

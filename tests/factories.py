"""Small, readable datasets for tests: accounts and conversations written out by hand."""

from __future__ import annotations

from collections.abc import Iterable

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

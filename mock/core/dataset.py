"""The dataset: accounts, their agents and keys, and their conversations.

Conversations are held as columns (numpy arrays) sorted by start time, so that
a time range is a binary search and an aggregation a handful of vectorised
operations. Strings that repeat (accounts, agents, types) are stored once, in
tables, and referred to by integer codes.

A :class:`Scope` is what one account's usage reads: the *completed*
conversations of the account and, for a top-level account, of all its
subaccounts, with just the columns the aggregator needs. Scopes are built on
first use and kept -- in this process, and, when the dataset has a
:class:`Derived` store (the columnar cache of :mod:`usagekit.mock.datasets.cache`),
for every process that maps the same dataset: the core only calls it, the
store does the I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

import numpy as np

from .recode import NO_AGENT  # the agent code of a conversation without an agent
from .recode import recode as _recode

__all__ = [
    "COMPLETED",
    "CONVERSATION_TYPES",
    "DIRECTIONS",
    "STATUSES",
    "UNASSIGNED",
    "Account",
    "Agent",
    "ConversationRecord",
    "Conversations",
    "Dataset",
    "Derived",
    "Scope",
]

T = TypeVar("T")

CONVERSATION_TYPES: tuple[str, ...] = ("phone", "web", "test", "unknown")
DIRECTIONS: tuple[str, ...] = ("inbound", "outbound", "internal")
STATUSES: tuple[str, ...] = ("in_progress", "completed", "failed", "transferred")
COMPLETED = STATUSES.index("completed")
#: The ``agent`` dimension value of a conversation without an agent.
UNASSIGNED = "unassigned"


class Derived(Protocol):
    """Where arrays derived from a dataset (scopes, rollups) are kept beyond one process."""

    def keep(self, name: str, kind: type[T], build: Callable[[], T]) -> T:
        """The ``kind`` kept as ``name``; else ``build()``'s, kept for the next asker.

        ``kind`` is a frozen dataclass whose fields are arrays, plain values
        (str, int, tuples of them, None) or ``derived`` (not kept).
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    id: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    id: str
    parent_id: str | None
    name: str
    api_keys: tuple[str, ...]
    agents: tuple[Agent, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationRecord:
    """One conversation, as the dataset files and the vendor's API describe it."""

    conversation_id: str
    account_id: str
    agent_id: str | None
    type: str
    direction: str
    status: str
    start: int  # µs since the epoch
    duration_seconds: int


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Conversations:
    """All conversations as columns, sorted by ``start`` (ties keep file order).

    ``account`` indexes :attr:`Dataset.accounts`; ``agent`` indexes
    :attr:`Dataset.agent_ids` (``NO_AGENT`` when the conversation has none);
    ``type``, ``direction`` and ``status`` index the tuples of the same names.
    """

    ids: np.ndarray  # bytes, 'S<n>'
    start: np.ndarray  # int64, µs since the epoch
    duration: np.ndarray  # int64, seconds
    account: np.ndarray  # int32
    agent: np.ndarray  # int32
    type: np.ndarray  # int8
    direction: np.ndarray  # int8
    status: np.ndarray  # int8
    #: Starts the file wrote past the microsecond, floored to it (0: not read from a file).
    floored: int = 0

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def empty(cls) -> Conversations:
        dtypes = {"ids": "S1", "start": np.int64, "duration": np.int64, "account": np.int32}
        dtypes |= {"agent": np.int32, "type": np.int8, "direction": np.int8, "status": np.int8}
        return cls(**{name: np.empty(0, dtype=dtype) for name, dtype in dtypes.items()})

    def take(self, index: np.ndarray) -> Conversations:
        """The rows at ``index`` (an integer or boolean array), in that order."""
        names = ("ids", "start", "duration", "account", "agent", "type", "direction", "status")
        return Conversations(**{name: getattr(self, name)[index] for name in names})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Scope:
    """The completed conversations one account's usage covers, sorted by start.

    ``agent`` and ``owner`` are codes into ``agent_values`` and
    ``owner_values``; ``type`` indexes :data:`CONVERSATION_TYPES`. Each value
    table is sorted, so ordering codes orders the dimension values.
    """

    account_id: str
    start: np.ndarray
    duration: np.ndarray
    agent: np.ndarray
    owner: np.ndarray
    type: np.ndarray
    agent_values: tuple[str, ...]
    owner_values: tuple[str, ...]
    type_values: tuple[str, ...]
    #: Where this scope's rollups are kept beyond this process (see :class:`Derived`).
    derived: Derived | None = field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.start)

    def column(self, dimension: str) -> np.ndarray:
        """The codes of ``dimension`` (``agent``, ``subaccount`` or ``type``)."""
        return {"agent": self.agent, "subaccount": self.owner, "type": self.type}[dimension]

    def values(self, dimension: str) -> tuple[str, ...]:
        """The sorted value table that :meth:`column`'s codes index."""
        return {
            "agent": self.agent_values,
            "subaccount": self.owner_values,
            "type": self.type_values,
        }[dimension]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Dataset:
    """Accounts and conversations; see :mod:`usagekit.mock.datasets.files` for the files."""

    accounts: tuple[Account, ...]
    agent_ids: tuple[str, ...]
    conversations: Conversations
    #: Keeps scopes and rollups for other processes of the same data; ``None``: memory only.
    derived: Derived | None = field(default=None, compare=False, repr=False)
    _by_id: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    #: Each parent's subaccounts in file order, found in one pass (not one per key).
    _children: dict[str, list[Account]] = field(default_factory=dict, init=False, repr=False)
    _scopes: dict[str, Scope] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({account.id: i for i, account in enumerate(self.accounts)})
        for account in self.accounts:
            if account.parent_id is not None:
                self._children.setdefault(account.parent_id, []).append(account)

    @classmethod
    def from_records(
        cls, accounts: Iterable[Account], records: Iterable[ConversationRecord]
    ) -> Dataset:
        """A dataset from typed records (already valid), sorted by start."""
        accounts = tuple(accounts)
        agent_ids = agent_table(accounts)
        account_code = {a.id: i for i, a in enumerate(accounts)}
        agent_code = {agent_id: i for i, agent_id in enumerate(agent_ids)}
        rows = list(records)
        conversations = Conversations(
            ids=np.array([r.conversation_id.encode() for r in rows] or [b""], "S")[: len(rows)],
            start=np.array([r.start for r in rows], dtype=np.int64),
            duration=np.array([r.duration_seconds for r in rows], dtype=np.int64),
            account=np.array([account_code[r.account_id] for r in rows], dtype=np.int32),
            agent=np.array(
                [NO_AGENT if r.agent_id is None else agent_code[r.agent_id] for r in rows],
                dtype=np.int32,
            ),
            type=np.array([CONVERSATION_TYPES.index(r.type) for r in rows], dtype=np.int8),
            direction=np.array([DIRECTIONS.index(r.direction) for r in rows], dtype=np.int8),
            status=np.array([STATUSES.index(r.status) for r in rows], dtype=np.int8),
        )
        order = np.argsort(conversations.start, kind="stable")
        return cls(accounts=accounts, agent_ids=agent_ids, conversations=conversations.take(order))

    def records(self) -> list[ConversationRecord]:
        """Every conversation as a typed record, in start order (for tests and small data)."""
        rows = self.conversations
        return [
            ConversationRecord(
                conversation_id=rows.ids[i].decode(),
                account_id=self.accounts[rows.account[i]].id,
                agent_id=None if rows.agent[i] == NO_AGENT else self.agent_ids[rows.agent[i]],
                type=CONVERSATION_TYPES[rows.type[i]],
                direction=DIRECTIONS[rows.direction[i]],
                status=STATUSES[rows.status[i]],
                start=int(rows.start[i]),
                duration_seconds=int(rows.duration[i]),
            )
            for i in range(len(rows))
        ]

    def serve_from(self, conversations: Conversations) -> None:
        """Read the same rows from ``conversations`` from now on: the columnar cache's
        mapping of the columns this dataset decoded, so the decoded copy can be freed."""
        object.__setattr__(self, "conversations", conversations)  # one reference, swapped

    def account(self, account_id: str) -> Account | None:
        index = self._by_id.get(account_id)
        return None if index is None else self.accounts[index]

    def subaccounts(self, account_id: str) -> tuple[Account, ...]:
        return tuple(self._children.get(account_id, ()))

    def keys(self) -> Mapping[str, Account]:
        """Every API key and the account it belongs to."""
        return {key: account for account in self.accounts for key in account.api_keys}

    def scope(self, account_id: str) -> Scope:
        """The conversations ``account_id``'s usage covers; ``KeyError`` if unknown."""
        found = self._scopes.get(account_id)
        if found is None:
            with self._lock:
                found = self._scopes.get(account_id)
                if found is None:
                    found = self._kept_scope(account_id)
                    self._scopes[account_id] = found
        return found

    def _kept_scope(self, account_id: str) -> Scope:
        account = self.accounts[self._by_id[account_id]]  # KeyError before any I/O
        if self.derived is None:
            return self._build_scope(account)
        kept = self.derived.keep(f"scope {account.id}", Scope, lambda: self._build_scope(account))
        return replace(kept, derived=self.derived)

    def _build_scope(self, account: Account) -> Scope:
        members = [account]
        if account.parent_id is None:
            members.extend(self.subaccounts(account.id))
        member = np.zeros(len(self.accounts), dtype=bool)
        member[[self._by_id[m.id] for m in members]] = True
        rows = self.conversations
        keep = np.flatnonzero(member[rows.account] & (rows.status == COMPLETED))
        # Only the columns usage reads: ids and directions would double the scope's size.
        agent_values, agent = _recode(
            rows.agent[keep], lambda code: UNASSIGNED if code == NO_AGENT else self.agent_ids[code]
        )
        owner_values, owner = _recode(rows.account[keep], lambda code: self.accounts[code].id)
        type_values, type_ = _recode(rows.type[keep], lambda code: CONVERSATION_TYPES[code])
        return Scope(
            account_id=account.id,
            start=rows.start[keep],
            duration=rows.duration[keep],
            agent=agent,
            owner=owner,
            type=type_,
            agent_values=agent_values,
            owner_values=owner_values,
            type_values=type_values,
        )


def agent_table(accounts: Iterable[Account]) -> tuple[str, ...]:
    """Every declared agent id, in declaration order: the codes of ``Conversations.agent``."""
    return tuple(agent.id for account in accounts for agent in account.agents)

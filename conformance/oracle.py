"""What the contract says a request should get, computed without asking the server.

The oracle reads a request the way the reference semantics do (the core's
``resolve_query``), knows which account each configured key may read, builds
the exact bucket grid of a query from the pinned zone database, and -- given
the dataset the server serves -- the exact answer. It never trusts the server
under test for anything but the one value the contract leaves to it: "now",
which a request without ``end`` can only learn from ``meta.end`` (the
:class:`~usagekit.conformance.view.ExchangeView` decides which "now" a request
is read with).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.buckets import (
    LABEL_WIDTH,
    OPENER_HEAD,
    OPENER_TAIL,
    BucketGrid,
    bucket_grid,
)
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.errors import QueryError
from usagekit.mock.core.instants import US
from usagekit.mock.core.query import RawQuery, UsageQuery, resolve_query

from .config import KitConfig
from .exchange import Exchange, KeyRole
from .stamps import Stamps

__all__ = ["Access", "Labels", "Oracle"]


#: The parameters a request sends once (or not at all).
_SINGLE = frozenset({"start", "end", "granularity", "tz", "limit"})


class Access(StrEnum):
    READABLE = "readable"
    FORBIDDEN = "forbidden"
    UNAUTHENTICATED = "unauthenticated"
    #: A key the kit does not know (proxied or recorded traffic): valid or not, whose.
    UNVERIFIED = "unverified"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Labels:
    """A grid's ``ts`` labels as the reference writes them, and the stamps they read as:
    the instants, and the offsets to the minute written."""

    text: str  # every label, one after the other, a NUL between two (none is in a label)
    count: int
    stamps: Stamps

    def read(self, texts: list[str]) -> Stamps | None:
        """The stamps of ``texts`` when they are exactly these labels, else ``None``.

        What reading each text would give, without reading it: an answer on its
        query's grid writes the reference's labels, and reading those was a
        twentieth of judging it (a hash and a look-up each). As many texts as
        labels, joined by NULs as the labels are, are each its label: the join
        has as many NULs as the labels' text only if no text holds one, and then
        it splits there alone (no pass over the texts' lengths).
        """
        if len(texts) != self.count:
            return None
        return self.stamps if "\0".join(texts) == self.text else None


def _labels(grid: BucketGrid, stamps: Stamps) -> Labels | None:
    """The labels of ``grid`` (its openers hold them, written for the encoder) and its
    ``stamps`` (:meth:`Oracle.grid`), or ``None`` unless they are all as wide as one
    another and written the common way (years 1 to 9999: 20 or 25 characters)."""
    head, openers = len(OPENER_HEAD), grid.openers
    if openers.shape[1] != head + LABEL_WIDTH + len(OPENER_TAIL) or not len(openers):
        return None  # rows widened past the label for some page: not read here
    text = openers[:, head : head + LABEL_WIDTH].tobytes()
    if b"\0" in text:  # labels narrower than the slot (``Z``): only then a copy without
        text = text.replace(b"\0", b"")
    width, count = len(text) // len(openers), len(openers)
    if width not in (20, 25) or width * count != len(text) or not text.isascii():
        return None
    offsets = stamps.offsets
    if np.count_nonzero(offsets % 60):  # a label writes its offset to the minute, rounded up
        stamps = Stamps(stamps.instants, -(-offsets // 60) * 60)
    rows = np.zeros((count, width + 1), np.uint8)  # each label and a NUL
    rows[:, :width] = np.frombuffer(text, np.uint8).reshape(count, width)
    return Labels(rows.tobytes()[:-1].decode("ascii"), count, stamps)


class Oracle:
    """The expected outcome of requests to the server under test."""

    def __init__(self, config: KitConfig, dataset: Dataset | None) -> None:
        self.config = config
        self.dataset = dataset
        self.absent_accounts: set[str] = set()
        self._aggregate = Aggregator(dataset) if dataset is not None else None

    # -- who may read what ----------------------------------------------------

    def access(self, exchange: Exchange, me: str | None = None) -> tuple[Access, str | None]:
        """Whether the request's key may read its account, and the account's real id.

        ``me``: the ``meta.account_id`` of a 200, when the caller has read it already.
        """
        config = self.config
        if exchange.key in (KeyRole.NONE, KeyRole.INVALID):
            return Access.UNAUTHENTICATED, None
        if exchange.key is KeyRole.TRAFFIC or exchange.key is KeyRole.REPEATED:
            return self._traffic_access(exchange, me)
        own = config.account_id if exchange.key is KeyRole.ACCOUNT else config.subaccount_id
        account = own if exchange.account == "me" else exchange.account
        if account == own:
            return Access.READABLE, account
        if exchange.key is KeyRole.ACCOUNT and account == config.subaccount_id:
            return Access.READABLE, account
        if account in self.absent_accounts or account == config.foreign_account_id:
            return Access.FORBIDDEN, None
        if exchange.key is KeyRole.SUBACCOUNT and account == config.account_id:
            return Access.FORBIDDEN, None
        if self.dataset is not None:
            return self._dataset_access(exchange, account)
        return Access.UNKNOWN, None

    @staticmethod
    def _traffic_access(exchange: Exchange, me: str | None) -> tuple[Access, str | None]:
        """A key the kit does not know: an upstream's 200 is its word that the key may read.

        Whether it should have been a 401 or a 403 instead is beyond one exchange;
        what a 200 must hold for that account is not. ``me`` is the account
        ``meta.account_id`` names.
        """
        if exchange.status != 200:
            return Access.UNVERIFIED, None
        if exchange.account != "me":
            return Access.READABLE, exchange.account
        if me is not None:
            return Access.READABLE, me
        try:
            account = exchange.json()["meta"]["account_id"]
        except (ValueError, KeyError, TypeError):
            return Access.UNKNOWN, None
        return (Access.READABLE, account) if isinstance(account, str) else (Access.UNKNOWN, None)

    def _dataset_access(self, exchange: Exchange, account_id: str) -> tuple[Access, str | None]:
        assert self.dataset is not None
        own_id = (
            self.config.account_id if exchange.key is KeyRole.ACCOUNT else self.config.subaccount_id
        )
        target = self.dataset.account(account_id)
        if target is None:
            return Access.FORBIDDEN, None
        if target.id == own_id or target.parent_id == own_id:
            return Access.READABLE, target.id
        return Access.FORBIDDEN, None

    # -- how the reference semantics read a request -------------------------------

    def raw_query(self, exchange: Exchange) -> RawQuery | None:
        """The request's parameters, or ``None`` where the contract leaves their reading open.

        A literal ``null`` and a repeated single-valued parameter are such cases.
        """
        # One pass over the parameters (a look-up of each name was a third of this).
        single: dict[str, str] = {}
        sent: list[str] = []
        for name, value in exchange.params:
            if name == "group_by":
                if value == "null":
                    return None
                sent.append(value)
            elif name in _SINGLE:
                if name in single or value == "null":
                    return None
                single[name] = value
        group_by = [item for value in sent for item in value.split(",")] if sent else None
        get = single.get
        return RawQuery(
            start=get("start"),
            end=get("end"),
            granularity=get("granularity"),
            group_by=group_by,
            tz=get("tz"),
            limit=get("limit"),
        )

    @staticmethod
    def resolve(raw: RawQuery, account_id: str, now: int) -> UsageQuery | QueryError:
        """The query ``raw`` asks of ``account_id`` at ``now``, or its ``QueryError``."""
        try:
            return resolve_query(raw, account_id=account_id, now=now)
        except QueryError as exc:
            return exc

    # -- expected answers ---------------------------------------------------------------

    @staticmethod
    def grid(query: UsageQuery) -> Stamps:
        """The buckets' starts and offsets, as the reference semantics cut them."""
        grid = bucket_grid(query.timeline, query.granularity, query.start, query.end, query.limit)
        # Each start but the last edge is a whole second in µs (starts * US, read-only
        # like the grid): the edges themselves, not a division and a product of them.
        instants = grid.edges[:-1]
        if instants.dtype != np.int64:
            instants = grid.starts.astype(np.int64) * US
        return Stamps(instants, grid.offsets.astype(np.int64, copy=False))

    @staticmethod
    def labels(query: UsageQuery, grid: Stamps) -> Labels | None:
        """The ``ts`` labels of the query's buckets as the reference writes them; ``grid``
        is the query's :meth:`grid`."""
        return _labels(
            bucket_grid(query.timeline, query.granularity, query.start, query.end, query.limit),
            grid,
        )

    def answer(self, query: UsageQuery) -> dict[str, Any] | None:
        """The exact body for ``query`` over the dataset, when the kit has it."""
        if self._aggregate is None or self.dataset is None:
            return None
        if self.dataset.account(query.account_id) is None:
            return None
        return self._aggregate(query).to_dict()

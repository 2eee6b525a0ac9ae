"""One exchange as every response rule reads it: each reading made once, on first use.

A response rule never parses anything itself. It names what it needs --
``@needs("usage", "query")`` -- and reads it from the :class:`ExchangeView`,
which parses the body, asks the oracle who may read the account and how the
reference semantics read the request, and builds the expected grid and answer.
Each reading is made at most once per exchange, and only when a rule asks for
it: a 200 is parsed once however many rules judge it.

Readings, and when each is there (``None`` otherwise):

=============  ==============================================================
``endpoint``   the request is a GET of the usage endpoint (True/False)
``ok``         ... and was answered 200 (True/False)
``usage``      the 200's body in the contract's shape
``error``      an error's (status >= 400) body in the contract's shape
``access``     who may read the account: an :class:`Access` (always there)
``account``    the real id of a readable account (``me`` resolved)
``raw``        the parameters, unless their reading is open (``null``, repeats)
``resolved``   the query the reference reads, or its ``QueryError``
``query``      the valid query of a readable account
``invalid``    the ``QueryError`` of a request with invalid parameters
``stamps``     the 200's bucket starts as arrays (:class:`Stamps`)
``columns``    the 200's values as flat columns (:class:`Columns`)
``grid``       the exact bucket starts of ``query`` (:class:`Stamps`)
``on_grid``    the 200's buckets are exactly ``grid``, in its offsets (True/False)
``answer``     with ``--data``, the exact body for ``query``
=============  ==============================================================
"""

from __future__ import annotations

from typing import Any

from usagekit.mock.core.errors import QueryError
from usagekit.mock.core.query import RawQuery, UsageQuery

from .body import ErrorBody, UsageBody, UsageMetaView
from .columns import Columns
from .config import CLOCK_SKEW, KitConfig
from .exchange import Exchange, is_usage_path
from .expecting import ExpectedColumns, expectation_of
from .failures import MalformedBody
from .once import once
from .oracle import Access, Labels, Oracle
from .profiles import Profile
from .reading import read_error, read_usage
from .stamps import Stamps, every

__all__ = ["ExchangeView"]


class ExchangeView:
    """An exchange and everything the rules read from it, each computed once."""

    def __init__(self, exchange: Exchange, oracle: Oracle) -> None:
        self.exchange = exchange
        self.oracle = oracle
        # Plain attributes, not properties: the rules and guards ask a dozen times an exchange.
        self.config: KitConfig = oracle.config
        self.profile: Profile = oracle.config.profile
        #: Whether the run holds the server to the reference semantics.
        self.reference = self.profile is Profile.REFERENCE
        self._resolutions: dict[tuple[str, int], UsageQuery | QueryError] = {}
        self._grid: tuple[UsageQuery, Stamps] | None = None

    def __repr__(self) -> str:
        return f"ExchangeView({self.exchange.method} {self.exchange.url} -> {self.exchange.status})"

    @property
    def validation_statuses(self) -> frozenset[int]:
        """How an invalid parameter may be answered under this run's profile."""
        return frozenset({422}) if self.reference else frozenset({400, 422})

    # -- what came back ------------------------------------------------------------------

    @once
    def endpoint(self) -> bool:
        return self.exchange.method == "GET" and is_usage_path(self.exchange.path)

    @once
    def ok(self) -> bool:
        return self.endpoint and self.exchange.status == 200

    @once
    def _usage(self) -> UsageBody | MalformedBody | None:
        if not self.ok:
            return None
        # The request says what its values must be: msgspec checks that as it decodes them.
        raw = self.raw
        expectation = (
            expectation_of(raw.group_by, reference=self.reference) if raw is not None else None
        )
        try:
            return read_usage(self.exchange, expectation, self._labels if self.reference else None)
        except MalformedBody as failure:
            return failure

    def _labels(self, meta: UsageMetaView) -> Labels | None:
        """The labels of the grid a 200 whose ``meta`` is read answers (see ``read_usage``):
        its query resolved as :attr:`resolved` will resolve it, the account a ``me`` names
        and the "now" a request without ``end`` ends at read from ``meta`` (a wrong guess
        costs only the time: labels are taken only where the texts are exactly those)."""
        raw = self.raw
        if raw is None:
            return None
        account = meta.account_id if self.exchange.account == "me" else self.exchange.account
        left_open = self.config.server_now is None and raw.end is None
        query = self._resolve(account, meta.end.instant if left_open else self.now)
        if not isinstance(query, UsageQuery):
            return None
        return self.oracle.labels(query, self._grid_of(query))

    def _resolve(self, account: str, now: int) -> UsageQuery | QueryError:
        """``Oracle.resolve`` of the request, kept for :attr:`resolved` (the grid's labels
        asked it first)."""
        key = (account, now)
        resolved = self._resolutions.get(key)
        if resolved is None:
            resolved = self._resolutions[key] = self.oracle.resolve(self.raw, account, now)
        return resolved

    def _grid_of(self, query: UsageQuery) -> Stamps:
        """``Oracle.grid`` of ``query``, kept for :attr:`grid` (the labels asked it first)."""
        if self._grid is None or self._grid[0] is not query:
            self._grid = (query, self.oracle.grid(query))
        return self._grid[1]

    @once  # a rule or a guard asks for it a dozen times an exchange
    def usage(self) -> UsageBody | None:
        """The 200's body, or ``None`` (also when malformed: see :attr:`usage_failure`)."""
        return self._usage if isinstance(self._usage, UsageBody) else None

    @property
    def usage_failure(self) -> MalformedBody | None:
        """Why a 200 of the endpoint breaks the contract's shape, if it does."""
        return self._usage if isinstance(self._usage, MalformedBody) else None

    @once
    def _error(self) -> ErrorBody | MalformedBody | None:
        if self.exchange.status < 400:
            return None
        try:
            return read_error(self.exchange)
        except MalformedBody as failure:
            return failure

    @property
    def error(self) -> ErrorBody | None:
        """An error's body, or ``None`` (also when malformed: see :attr:`error_failure`)."""
        return self._error if isinstance(self._error, ErrorBody) else None

    @property
    def error_failure(self) -> MalformedBody | None:
        return self._error if isinstance(self._error, MalformedBody) else None

    # -- what the contract expects -------------------------------------------------------

    @once
    def _access(self) -> tuple[Access, str | None]:
        # Traffic's ``me`` is the account a 200 names: read from the body already read.
        usage = self.usage if self.exchange.account == "me" else None
        return self.oracle.access(self.exchange, usage.meta.account_id if usage else None)

    @property
    def access(self) -> Access:
        return self._access[0]

    @property
    def account(self) -> str | None:
        """The real id of the account the request may read (``me`` resolved)."""
        return self._access[1]

    @once
    def raw(self) -> RawQuery | None:
        return self.oracle.raw_query(self.exchange) if self.endpoint else None

    @once
    def now(self) -> int:
        """The server's "now" for this request.

        Pinned by ``--server-now``; else, for a 200 to a request without
        ``end``, the ``meta.end`` it echoes (``meta_echoes_query`` holds that to
        the default); else when it was sent, for a recorded exchange (a HAR
        replayed days later); else the wall clock.
        """
        if self.config.server_now is None and self.raw is not None and self.raw.end is None:
            usage = self.usage
            if usage is not None:
                return usage.meta.end.instant
        sent_at = self.exchange.sent_at
        if sent_at is not None and self.config.server_now is None:
            return sent_at
        return self.config.now()

    @once
    def resolved(self) -> UsageQuery | QueryError | None:
        """The query the reference semantics read, its ``QueryError``, or ``None`` if open.

        Open are readings the contract leaves to the server (see
        :meth:`Oracle.raw_query`) and those its clock decides: a request that
        leaves ``end`` to the server's "now", when the kit cannot read that
        clock, is valid or not depending on where within
        :data:`~usagekit.conformance.config.CLOCK_SKEW` of the wall clock it is.
        """
        if self.raw is None:
            return None
        account = self.account or "unknown"
        resolved = self._resolve(account, self.now)
        if self.raw.end is None and self.config.server_now is None and self.usage is None:
            early = self.oracle.resolve(self.raw, account, self.now - CLOCK_SKEW)
            late = self.oracle.resolve(self.raw, account, self.now + CLOCK_SKEW)
            if isinstance(early, QueryError) is not isinstance(late, QueryError):
                return None
        return resolved

    @once  # a rule or a guard asks for it a dozen times an exchange
    def query(self) -> UsageQuery | None:
        """The valid query of a request on a readable account."""
        if self.access is not Access.READABLE or self.account is None:
            return None
        resolved = self.resolved
        return resolved if isinstance(resolved, UsageQuery) else None

    @property
    def invalid(self) -> QueryError | None:
        resolved = self.resolved
        return resolved if isinstance(resolved, QueryError) else None

    @property
    def stamps(self) -> Stamps | None:
        usage = self.usage
        return usage.starts if usage is not None else None

    @once
    def columns(self) -> Columns | ExpectedColumns | None:
        usage = self.usage
        if usage is None:
            return None
        if usage.expected is not None:
            return ExpectedColumns(usage.expected, lambda: Columns(usage))
        return Columns(usage)

    @once
    def grid(self) -> Stamps | None:
        query = self.query
        return self._grid_of(query) if query is not None else None

    @once
    def on_grid(self) -> bool:
        """Whether the 200's buckets are exactly the query's grid, each ``ts`` in the offset
        the grid was cut with: then the calendar rule and the zone rule both hold, and
        this one comparison answers for both (what either names on failure, it reads)."""
        grid, got = self.grid, self.stamps
        if grid is not None and got is grid:
            return True  # the answer's labels were the grid's own (see _labels)
        return (
            grid is not None
            and got is not None
            and len(grid) == len(got)
            and bool(every(grid.instants == got.instants))
            and bool(every(grid.offsets == got.offsets))
        )

    @once
    def answer(self) -> dict[str, Any] | None:
        query = self.query
        return self.oracle.answer(query) if query is not None else None

"""Typed views of the contract's bodies: the records the rules read.

:mod:`~usagekit.conformance.reading` reads a body off the wire into these
records (or says which field breaks the published shape). Fields the published
contract makes optional (``values``, ``dimensions``, ``meta.tz``,
``meta.group_by``) are kept as ``None`` when absent, so that the reference
profile can require them and the contract profile need not.

Two bodies are equal when they say the same thing in the contract's terms:
the same instants in the same offsets, the same values and meta. The text of a
timestamp and members the contract does not define (a request id, a
generation time) are not compared, so rules that compare answers accept them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Self

import msgspec

from .exchange import Exchange
from .once import once
from .stamps import Stamp, Stamps

__all__ = ["Bucket", "ErrorBody", "Expectation", "Expected", "UsageBody", "UsageMetaView", "Value"]


Count = Annotated[int, msgspec.Meta(ge=0)]


class Value(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One value of a bucket: a record msgspec decodes a body's values into directly."""

    seconds: Count
    conversations: Count
    dimensions: dict[str, str] | None = None


class Bucket(msgspec.Struct, frozen=True, eq=False, gc=False):
    """One bucket: equal to another that says the same, however its ``ts`` is written."""

    ts: Stamp
    text: str  # the ts as written, for messages
    values: tuple[Value, ...] | None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bucket):
            return NotImplemented
        return self.ts == other.ts and self.values == other.values

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((self.ts, self.values))


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageMetaView:
    account_id: str
    start: Stamp
    end: Stamp
    granularity: str
    group_by: tuple[str, ...] | None
    tz: str | None
    raw: dict[str, Any] = field(compare=False)


@dataclass(frozen=True, slots=True)
class Expectation:
    """What every value of an answer must be for the rules of a value to hold.

    ``names``: the requested dimensions, in ``group_by`` order (each value has
    exactly these); ``one_value``: each bucket has exactly one value;
    ``counted``: each value counts at least one conversation.
    """

    names: tuple[str, ...]
    one_value: bool
    counted: bool


@dataclass(frozen=True, slots=True)
class Expected:
    """An answer's buckets decoded as its :class:`Expectation` wants them, each with its
    ``values`` (see :mod:`~usagekit.conformance.expecting`, which lists those values only
    when a rule asks: an ungrouped answer's rules never do)."""

    expectation: Expectation
    buckets: Sequence[Any]


@dataclass(frozen=True, kw_only=True, eq=False)
class UsageBody:
    """A 200's body. The rules that read every bucket at once read ``starts`` and
    ``values`` (one per bucket, in order); :attr:`buckets` are built on first use, which
    the rules of a body that holds never make (:meth:`of` builds a body from buckets).
    A body read as expected (:attr:`expected`) reads ``values`` only when first asked."""

    meta: UsageMetaView
    exchange: Exchange = field(repr=False)
    starts: Stamps  # each bucket's ts, read, as arrays
    texts: Sequence[str] = field(repr=False)  # ... as written
    values: Sequence[tuple[Value, ...] | None] = field(repr=False)  # None: absent or null
    #: The values as the request expects them, when they are (else ``None``).
    expected: Expected | None = field(default=None, repr=False)

    @classmethod
    def of(cls, *, meta: UsageMetaView, buckets: tuple[Bucket, ...], exchange: Exchange) -> Self:
        body = cls(
            meta=meta,
            exchange=exchange,
            starts=Stamps.of([b.ts for b in buckets]),
            texts=[b.text for b in buckets],
            values=[b.values for b in buckets],
        )
        body.__dict__["buckets"] = buckets
        return body

    @once
    def stamps(self) -> list[Stamp]:
        """Each bucket's ts as a :class:`Stamp` (made only when a rule names a bucket)."""
        return list(self.starts)

    @once
    def buckets(self) -> tuple[Bucket, ...]:
        return tuple(map(Bucket, self.stamps, self.texts, self.values))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UsageBody):
            return NotImplemented
        return self.meta == other.meta and self.buckets == other.buckets

    def __hash__(self) -> int:
        return hash((self.meta, self.buckets))

    @once
    def raw(self) -> dict[str, Any]:
        """The body as JSON's own types (parsed only for the rules that compare it whole)."""
        return self.exchange.json()

    def totals(self) -> dict[int, tuple[int, int]]:
        """(seconds, conversations) per bucket start instant, summed over values."""
        return {
            b.ts.instant: (
                sum(v.seconds for v in b.values or ()),
                sum(v.conversations for v in b.values or ()),
            )
            for b in self.buckets
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorBody:
    code: str
    message: str
    fields: tuple[str, ...] | None  # errors[].field, when errors[] is present

"""The line-by-line check of ``conversations.jsonl``: the authority on what is valid.

:class:`LineChecker` holds the code tables built from ``accounts.json`` and
checks one line at a time, raising :class:`DatasetError` with the line number,
the field and the reason at the first bad line. The reader's fast paths
(:mod:`._columns`) use the same tables and leave any block they doubt to
:meth:`LineChecker.check_lines`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from usagekit.mock.core.dataset import CONVERSATION_TYPES, DIRECTIONS, NO_AGENT, STATUSES, Account
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.core.instants import MAX_INSTANT, MIN_INSTANT

from ._fields import MAX_DURATION, FieldError, read_duration, read_enum, read_start, read_text
from ._hints import not_json_lines, not_utf8
from ._ids import SeenIds, id_hashes

__all__ = ["FIELDS", "MAX_ID_BYTES", "Codes", "Columns", "LineChecker"]

FIELDS = (
    "conversation_id",
    "account_id",
    "agent_id",
    "type",
    "direction",
    "status",
    "start_timestamp",
    "duration_seconds",
)
#: The longest ``conversation_id`` (UTF-8 bytes): the id column is as wide as its
#: longest id, so this bounds its memory per conversation.
MAX_ID_BYTES = 128


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Columns:
    """One block of lines as columns, in file order, with the hashes of its ids."""

    ids: np.ndarray
    hashes: np.ndarray
    start: np.ndarray
    duration: np.ndarray
    account: np.ndarray
    agent: np.ndarray
    type: np.ndarray
    direction: np.ndarray
    status: np.ndarray
    #: The lines whose ``start_timestamp`` flooring to the microsecond changed
    #: (a non-zero digit past the sixth; see :data:`._fields.FRACTION_DIGITS`).
    floored: int = 0


def _table(values: tuple[str, ...]) -> dict[str | bytes, int]:
    # Keys as text (from json) and as UTF-8 bytes (from the canonical tier):
    # a str never equals bytes, so the two kinds cannot collide.
    return {key: code for code, value in enumerate(values) for key in (value, value.encode())}


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Codes:
    """Lookups from a field's value to its code, keyed by text and by UTF-8 bytes."""

    account: dict[str | bytes, int]
    #: ``None`` (JSON null) and ``b""`` (null in the canonical tier) map to NO_AGENT.
    agent: dict[str | bytes | None, int]
    #: The account code of each agent code; the extra last entry is NO_AGENT's.
    agent_owner: np.ndarray
    type: dict[str | bytes, int]
    direction: dict[str | bytes, int]
    status: dict[str | bytes, int]

    @classmethod
    def of(cls, accounts: tuple[Account, ...]) -> Codes:
        owners = [i for i, account in enumerate(accounts) for _ in account.agents]
        agent_ids = tuple(agent.id for account in accounts for agent in account.agents)
        return cls(
            account=_table(tuple(account.id for account in accounts)),
            agent={None: NO_AGENT, b"": NO_AGENT} | _table(agent_ids),
            agent_owner=np.array([*owners, -1], dtype=np.int32),
            type=_table(CONVERSATION_TYPES),
            direction=_table(DIRECTIONS),
            status=_table(STATUSES),
        )

    def columns(
        self,
        *,
        ids: np.ndarray,
        start: np.ndarray,
        duration: np.ndarray,
        account: np.ndarray,
        agent: np.ndarray,
        type: np.ndarray,
        direction: np.ndarray,
        status: np.ndarray,
        floored: int = 0,
    ) -> Columns | None:
        """A fast way's columns, with the ids' hashes, if every start and duration is in
        range and every agent belongs to its line's account; else ``None``."""
        if start.min() < MIN_INSTANT or start.max() > MAX_INSTANT:
            return None
        if duration.min() < 0 or duration.max() >= MAX_DURATION:
            return None
        if not np.all((agent == NO_AGENT) | (self.agent_owner[agent] == account)):
            return None
        return Columns(
            ids=ids,
            hashes=id_hashes(ids),
            start=start,
            duration=duration,
            account=account,
            agent=agent,
            type=type.astype(np.int8, copy=False),
            direction=direction.astype(np.int8, copy=False),
            status=status.astype(np.int8, copy=False),
            floored=floored,
        )


_Row = tuple[bytes, int, int, int, int, int, int, int, bool]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LineChecker:
    """The check of single lines of one file, against the codes of its accounts."""

    path: str
    accounts: tuple[Account, ...]
    codes: Codes

    def check_lines(self, lines: list[bytes], first_line: int, seen: SeenIds) -> Columns:
        """The columns of ``lines`` (the first is ``first_line``), or the first bad line's error."""
        rows = []
        bad = None
        for number, raw in enumerate(lines, start=first_line):
            try:
                rows.append(self.check_line(raw, number))
            except DatasetError as exc:
                bad = exc  # reported unless a line before it repeats an id
                break
        ids = np.array([row[0] for row in rows], dtype=np.bytes_)
        hashes = id_hashes(ids) if rows else np.empty(0, np.int64)
        here: dict[bytes, int] = {}
        for number, (key, hashed) in enumerate(
            zip(ids.tolist(), hashes.tolist(), strict=True), start=first_line
        ):
            earlier = here.get(key)
            if earlier is None:
                found = seen.find(key, hashed)
                earlier = None if found is None else found + 1
            if earlier is not None:
                raise self.error(
                    number,
                    "conversation_id",
                    f"duplicate {key.decode()!r}, first seen on line {earlier}",
                )
            here[key] = number
        if bad is not None:
            raise bad
        _, start, duration, account, agent, type_, direction, status, floored = zip(
            *rows, strict=True
        )
        return Columns(
            ids=ids,
            hashes=hashes,
            start=np.array(start, dtype=np.int64),
            duration=np.array(duration, dtype=np.int64),
            account=np.array(account, dtype=np.int32),
            agent=np.array(agent, dtype=np.int32),
            type=np.array(type_, dtype=np.int8),
            direction=np.array(direction, dtype=np.int8),
            status=np.array(status, dtype=np.int8),
            floored=sum(floored),
        )

    def error(self, line: int, field: str | None, message: str) -> DatasetError:
        return DatasetError(path=self.path, line=line, field=field, message=message)

    def check_line(self, raw: bytes, line: int) -> _Row:
        """One line as (id, start, duration, account, agent, type, direction, status) codes,
        and whether its start was floored."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            hint = not_utf8(raw) if line == 1 else ""
            raise self.error(line, None, f"not UTF-8 text (byte {exc.start + 1}){hint}") from None
        if not text.strip():
            raise self.error(line, None, "blank line: every line must hold one conversation")
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            reason = f"invalid JSON: {exc.msg} (column {exc.colno}){not_json_lines(text)}"
            raise self.error(line, None, reason) from None
        except ValueError:  # an integer past Python's digit limit
            raise self.error(line, None, "invalid JSON: a number too long to read") from None
        except RecursionError:
            raise self.error(line, None, "invalid JSON: nested too deeply") from None
        if not isinstance(record, dict):
            raise self.error(line, None, f"expected a JSON object{not_json_lines(text)}")
        for name in FIELDS:
            if name not in record:
                raise self.error(line, name, "missing; every line needs all eight fields")
        try:
            return self._codes(record)
        except FieldError as exc:
            raise self.error(line, exc.field, exc.message) from None

    def _codes(self, record: dict[str, Any]) -> _Row:
        # Checked in the order of FIELDS, so that the first bad field is the one named.
        conversation_id = read_text(record, "conversation_id")
        if not conversation_id or "\0" in conversation_id:
            raise FieldError("conversation_id", "must be a non-empty string without NUL")
        try:
            encoded = conversation_id.encode("utf-8")
        except UnicodeEncodeError as exc:  # JSON's "\ud83d": half a pair, no text
            lone = f"\\u{ord(conversation_id[exc.start]):04x}"
            raise FieldError(
                "conversation_id", f"holds a lone surrogate ({lone}), half a UTF-16 pair"
            ) from None
        if len(encoded) > MAX_ID_BYTES:
            raise FieldError("conversation_id", f"longer than {MAX_ID_BYTES} bytes")
        account_id = read_text(record, "account_id")
        account = self.codes.account.get(account_id)
        if account is None:
            raise FieldError("account_id", f"unknown account {account_id!r} (not in accounts.json)")
        agent = self._agent(record["agent_id"], account)
        type_ = read_enum(record, "type", self.codes.type)
        direction = read_enum(record, "direction", self.codes.direction)
        status = read_enum(record, "status", self.codes.status)
        start, floored = read_start(record["start_timestamp"])
        duration = read_duration(record["duration_seconds"])
        return (
            encoded,
            start,
            duration,
            account,
            agent,
            type_,
            direction,
            status,
            floored,
        )

    def _agent(self, value: Any, account: int) -> int:
        if value is None:
            return NO_AGENT
        if not isinstance(value, str):
            raise FieldError("agent_id", f"expected a string or null, not {json.dumps(value)}")
        code = self.codes.agent.get(value)
        owner_id = self.accounts[account].id
        if code is None:
            raise FieldError("agent_id", f"unknown agent {value!r} (not in accounts.json)")
        owner = int(self.codes.agent_owner[code])
        if owner != account:
            raise FieldError(
                "agent_id",
                f"agent {value!r} belongs to account {self.accounts[owner].id!r},"
                f" not to {owner_id!r}",
            )
        return code

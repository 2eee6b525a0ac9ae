"""The errors the core raises for bad input.

Hierarchy::

    UsagekitError                 base of everything usagekit raises on purpose
    ├── QueryError                one or more invalid query parameters (-> 422)
    ├── UnknownZoneError          a name that is not in the pinned IANA database
    └── DatasetError              a bad dataset record, with file, line and field

The core never uses ``assert`` for user input; the edges turn these into
responses (422 in the contract's error shape) or CLI messages.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DatasetError", "FieldError", "QueryError", "UnknownZoneError", "UsagekitError"]


class UsagekitError(Exception):
    """Base of the errors that usagekit raises for bad input."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldError:
    """One invalid field: ``field`` is ``query.<name>`` or ``path.<name>``.

    ``related`` names the other fields an error is about (``start >= end`` is
    reported on ``query.start`` and relates ``query.end``), so that a reader
    can accept either name.
    """

    field: str
    message: str
    related: tuple[str, ...] = ()


class QueryError(UsagekitError):
    """The query has invalid parameters; ``errors`` names each of them."""

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        self.errors = tuple(errors)
        count = len(self.errors)
        summary = "1 invalid parameter" if count == 1 else f"{count} invalid parameters"
        details = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        super().__init__(f"{summary}: {details}")


class UnknownZoneError(UsagekitError, LookupError):
    """``name`` is not a zone of the pinned IANA database."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"{name!r} is not an IANA time zone")


class DatasetError(UsagekitError):
    """A dataset file holds a bad record: where, which field, and why."""

    def __init__(self, *, path: str, line: int | None, field: str | None, message: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = message
        where = path if line is None else f"{path}:{line}"
        what = f" field {field!r}" if field else ""
        super().__init__(f"{where}:{what} {message}")

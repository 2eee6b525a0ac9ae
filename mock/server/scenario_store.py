"""Runtime scenarios: the flags' knobs, set while the mock runs, seen by every worker.

``PUT /_usagekit/scenario`` stores a :class:`Scenario` -- ``code``,
``latency_ms``, ``error_rate``, ``rate_limit`` -- for every key or for one
key; ``DELETE`` resets. The store is one JSON file that every worker of the
server reads (the parent creates its directory before the workers start);
a worker re-reads it when a change counter moves -- eight bytes of a file
every worker maps into memory (:class:`ChangeCounter`), so the check is a
memory read per request of the operation, no system call -- and a change
applies to the next request whichever worker answers. Writes go to a
temporary file renamed over the old one, under an exclusive lock, so a reader
never sees half a file. Without a
directory (an app built in-process), the store lives in memory.

Keys are stored by their SHA-256 digest, never as text.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import mmap
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from usagekit.mock.core.errors import FieldError

from .config import MAX_LATENCY_MS, MIN_RATE_LIMIT
from .scenarios import FORCIBLE

__all__ = [
    "ChangeCounter",
    "Scenario",
    "ScenarioError",
    "ScenarioStore",
    "Scenarios",
    "parse_scenario",
]

_FIELDS = ("code", "latency_ms", "error_rate", "rate_limit", "key")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One scope's knobs; ``None`` / 0 leaves that knob off."""

    code: int | None = None
    latency_ms: tuple[int, int] | None = None
    error_rate: float = 0.0
    rate_limit: float | None = None

    def to_json(self) -> dict[str, Any]:
        value = asdict(self)
        value["latency_ms"] = list(self.latency_ms) if self.latency_ms else None
        return value

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Scenario:
        latency = value.get("latency_ms")
        return cls(
            code=value.get("code"),
            latency_ms=(int(latency[0]), int(latency[1])) if latency else None,
            error_rate=float(value.get("error_rate", 0.0)),
            rate_limit=value.get("rate_limit"),
        )


@dataclass(frozen=True, slots=True)
class Scenarios:
    """Everything set: a global scenario and one per key digest (hex)."""

    everyone: Scenario | None = None
    by_key: Mapping[str, Scenario] = field(default_factory=dict)

    def for_key(self, key_digest: bytes | None) -> Scenario | None:
        """A key's own scenario replaces the global one for that key."""
        if key_digest is not None:
            own = self.by_key.get(key_digest.hex())
            if own is not None:
                return own
        return self.everyone

    def to_json(self) -> dict[str, Any]:
        return {
            "global": self.everyone.to_json() if self.everyone else None,
            "keys": {digest: s.to_json() for digest, s in self.by_key.items()},
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Scenarios:
        everyone = value.get("global")
        return cls(
            Scenario.from_json(everyone) if everyone else None,
            {d: Scenario.from_json(s) for d, s in value.get("keys", {}).items()},
        )


class ScenarioError(ValueError):
    """A PUT body that is not a scenario; ``errors`` names each bad field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


def parse_scenario(value: object) -> tuple[Scenario, str | None]:
    """A PUT body -> the scenario and the key it is for (``None``: every key)."""
    if not isinstance(value, dict):
        raise ScenarioError([FieldError(field="body", message="must be a JSON object")])
    errors = [
        FieldError(field=name, message="is not a scenario field")
        for name in value
        if name not in _FIELDS
    ]
    code = value.get("code")
    if code is not None and (type(code) is not int or code not in FORCIBLE):
        errors.append(
            FieldError(field="code", message=f"must be one of {', '.join(map(str, FORCIBLE))}")
        )
    latency = _latency(value.get("latency_ms"), errors)
    rate = value.get("error_rate", 0.0)
    if type(rate) not in (int, float) or not 0 <= rate <= 1:
        errors.append(FieldError(field="error_rate", message="must be a number in [0, 1]"))
    limit = value.get("rate_limit")
    # Compared, not converted: float() of a JSON integer past 1e308 raises.
    if limit is not None and (
        type(limit) not in (int, float) or not MIN_RATE_LIMIT <= limit <= sys.float_info.max
    ):
        errors.append(
            FieldError(
                field="rate_limit",
                message=f"must be a number of requests per second, at least {MIN_RATE_LIMIT:g}",
            )
        )
    key = value.get("key")
    if key is not None and (not isinstance(key, str) or not key or not _unicode(key)):
        errors.append(FieldError(field="key", message="must be an API key"))
    if errors:
        raise ScenarioError(errors)
    scenario = Scenario(code=code, latency_ms=latency, error_rate=float(rate), rate_limit=limit)
    return scenario, key


def _unicode(text: str) -> bool:
    """Whether ``text`` has no lone surrogate (JSON's ``"\\ud800"``): UTF-8 can carry it."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _latency(value: object, errors: list[FieldError]) -> tuple[int, int] | None:
    if value is None:
        return None
    pair = [value, value] if type(value) is int else value
    if (
        not isinstance(pair, list)
        or len(pair) != 2
        or any(type(v) is not int for v in pair)
        or not 0 <= pair[0] <= pair[1] <= MAX_LATENCY_MS
    ):
        errors.append(
            FieldError(
                field="latency_ms",
                message=f"must be MS or [LOW, HIGH] with 0 <= LOW <= HIGH <= {MAX_LATENCY_MS}",
            )
        )
        return None
    return pair[0], pair[1]


class ChangeCounter:
    """A number in a file every process maps (``MAP_SHARED``): reading it is a memory read.

    Bumped by a writer under the store's lock, after the new file is in place.
    """

    SIZE = 8

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < self.SIZE:
                os.ftruncate(fd, self.SIZE)
            self._map = mmap.mmap(fd, self.SIZE)
        finally:
            os.close(fd)

    def value(self) -> int:
        return int.from_bytes(self._map[: self.SIZE], "little")

    def bump(self) -> None:
        self._map[: self.SIZE] = ((self.value() + 1) % 2**64).to_bytes(self.SIZE, "little")


class ScenarioStore:
    """The scenarios of every worker: a JSON file in ``directory``, or memory."""

    def __init__(self, directory: str | None = None) -> None:
        self.path = Path(directory, "scenarios.json") if directory else None
        counter = self.path.with_name("scenarios.changes") if self.path else None
        self._changes = ChangeCounter(counter) if counter else None
        self._current = Scenarios()
        self._seen: int | None = None
        #: Bumped on every change this worker notices: the middleware rebuilds its draws.
        self.generation = 0

    def current(self) -> Scenarios:
        """What is in force now; re-reads the file when another worker replaced it."""
        if self._changes is None:
            return self._current
        seen = self._changes.value()
        if seen != self._seen:
            self._seen = seen
            self._current = self._read()
            self.generation += 1
        return self._current

    def put(self, scenario: Scenario, key_digest: bytes | None) -> Scenarios:
        with self._locked():
            now = self._read() if self.path else self._current
            if key_digest is None:
                changed = Scenarios(scenario, now.by_key)
            else:
                changed = Scenarios(now.everyone, {**now.by_key, key_digest.hex(): scenario})
            self._write(changed)
        return self.current()

    def delete(self, key_digest: bytes | None) -> Scenarios:
        with self._locked():
            now = self._read() if self.path else self._current
            if key_digest is None:
                changed = Scenarios()
            else:
                rest = {d: s for d, s in now.by_key.items() if d != key_digest.hex()}
                changed = Scenarios(now.everyone, rest)
            self._write(changed)
        return self.current()

    def _read(self) -> Scenarios:
        assert self.path is not None
        try:
            return Scenarios.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return Scenarios()

    def _write(self, scenarios: Scenarios) -> None:
        if self.path is None:
            self._current = scenarios
            self.generation += 1
            return
        partial = self.path.with_name(f"scenarios.{os.getpid()}.partial")
        partial.write_text(json.dumps(scenarios.to_json()), encoding="utf-8")
        os.replace(partial, self.path)
        assert self._changes is not None
        self._changes.bump()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        with open(self.path.with_name("scenarios.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

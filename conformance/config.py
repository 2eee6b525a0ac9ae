"""What a run of the kit is told: the server, its credentials, and how hard to look.

Also the one place where the kit learns "now": :meth:`KitConfig.now` is the
server's pinned clock when ``--server-now`` gives it, else the wall clock
(:func:`wall_clock`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from usagekit.mock.core.instants import US

from .profiles import Profile

__all__ = ["CLOCK_SKEW", "KitConfig", "Requirement", "wall_clock"]

#: How far the server's clock may be from this machine's (µs): a reading that
#: "now" decides within this margin is the server's, not the kit's, to make.
CLOCK_SKEW = 300 * US


class Requirement(StrEnum):
    """What a rule needs from the command line; without it the rule is skipped."""

    SUBACCOUNT = "--subaccount-id and --subaccount-key"
    FOREIGN_ACCOUNT = "--foreign-account-id"
    DATA = "--data"


def wall_clock() -> int:
    """This machine's clock, in whole seconds, as µs (the contract's instants have no finer use)."""
    return int(time.time()) * US


@dataclass(frozen=True, slots=True, kw_only=True)
class KitConfig:
    """One conformance run.

    ``account_id`` is the account ``api_key`` belongs to; ``subaccount_id`` must
    be one of its subaccounts and ``subaccount_key`` that subaccount's key;
    ``foreign_account_id`` an account ``api_key`` may not read. ``data`` is the
    dataset directory the server serves, for exact answers. ``server_now``
    (µs) is the server's pinned clock, if it pins one. ``app``, an ASGI or
    WSGI application, is judged in process instead of over the network;
    ``base_url`` then only names where it would be served, for the curls.
    ``min_coverage``: the coverage cells (or ``tz:*`` patterns) the run must exercise.
    ``max_time``: the seconds the whole run may take (None: no limit; :mod:`.budget`).
    """

    base_url: str
    api_key: str
    account_id: str
    subaccount_id: str | None = None
    subaccount_key: str | None = None
    foreign_account_id: str | None = None
    data: Path | None = None
    profile: Profile = Profile.REFERENCE
    max_examples: int = 100
    seed: int = 0
    timeout: float = 10.0
    retries: int = 2  # times a 429 or 503 is sent again before it counts
    server_now: int | None = None
    only: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()
    app: object | None = None
    min_coverage: tuple[str, ...] = ()
    max_time: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if (self.subaccount_id is None) != (self.subaccount_key is None):
            raise ValueError("--subaccount-id and --subaccount-key go together")

    def now(self) -> int:
        """The server's "now" as far as the kit can know it: pinned, or the wall clock."""
        return self.server_now if self.server_now is not None else wall_clock()

    def available(self) -> frozenset[Requirement]:
        """The requirements this run can meet."""
        met = set()
        if self.subaccount_id is not None:
            met.add(Requirement.SUBACCOUNT)
        if self.foreign_account_id is not None:
            met.add(Requirement.FOREIGN_ACCOUNT)
        if self.data is not None:
            met.add(Requirement.DATA)
        return frozenset(met)

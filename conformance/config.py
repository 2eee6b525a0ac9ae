"""What a run of the kit is told: the server, its credentials, and how hard to look."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .profiles import Profile
from .registry import Requirement

__all__ = ["KitConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class KitConfig:
    """One conformance run.

    ``account_id`` is the account ``api_key`` belongs to; ``subaccount_id`` must
    be one of its subaccounts and ``subaccount_key`` that subaccount's key;
    ``foreign_account_id`` an account ``api_key`` may not read. ``data`` is the
    dataset directory the server serves, for exact answers. ``server_now``
    (µs) is the server's pinned clock, if it pins one.
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
    server_now: int | None = None
    only: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if (self.subaccount_id is None) != (self.subaccount_key is None):
            raise ValueError("--subaccount-id and --subaccount-key go together")

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

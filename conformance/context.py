"""What a rule works with: the run's config, the oracle, and a way to send requests.

Every response a scenario gets through :meth:`KitContext.send` is also judged
by every response rule (the runner supplies ``judge``), so a scenario only
states what is particular to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .body import UsageBody, read_usage
from .client import Client
from .config import KitConfig
from .exchange import Exchange, KeyRole
from .failures import WrongStatus
from .oracle import Oracle
from .profiles import Profile

__all__ = ["KitContext", "Params"]

Params = Sequence[tuple[str, str]]


@dataclass(slots=True, eq=False)
class KitContext:
    config: KitConfig
    oracle: Oracle
    client: Client
    judge: Callable[[Exchange], None]
    #: Facts scenarios learn once and share (e.g. where the account has data).
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def profile(self) -> Profile:
        return self.config.profile

    @property
    def validation_statuses(self) -> frozenset[int]:
        """How an invalid parameter may be answered under this run's profile."""
        if self.profile is Profile.REFERENCE:
            return frozenset({422})
        return frozenset({400, 422})

    def send(
        self,
        params: Params = (),
        *,
        account: str | None = None,
        key: KeyRole = KeyRole.ACCOUNT,
        method: str = "GET",
        path: str | None = None,
    ) -> Exchange:
        exchange = self.client.send(
            account=account or self.config.account_id,
            params=params,
            key=key,
            method=method,
            path=path,
        )
        self.judge(exchange)
        return exchange

    def usage(
        self, params: Params = (), *, account: str | None = None, key: KeyRole = KeyRole.ACCOUNT
    ) -> UsageBody:
        """A request that must succeed, read as a usage body."""
        exchange = self.send(params, account=account, key=key)
        expect_status(exchange, {200}, "a valid request")
        return read_usage(exchange)


def expect_status(exchange: Exchange, allowed: Iterable[int], what: str) -> None:
    allowed = set(allowed)
    if exchange.status not in allowed:
        shown = " or ".join(str(s) for s in sorted(allowed))
        raise WrongStatus(f"{what} got {exchange.status}, expected {shown}", exchanges=(exchange,))


def query(**values: str | int | Sequence[str] | None) -> list[tuple[str, str]]:
    """Query parameters from keywords; a list value goes out in the comma form."""
    params: list[tuple[str, str]] = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            params.append((name, ",".join(value)))
        else:
            params.append((name, str(value)))
    return params

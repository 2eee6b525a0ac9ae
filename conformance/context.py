"""What a rule works with: the run's config, the oracle, and a way to send requests.

Every response a scenario gets through :meth:`KitContext.send` is also judged
by every response rule (the runner supplies ``judge``), so a scenario only
states what is particular to it. ``judge`` hands back the exchange's
:class:`ExchangeView`, so that a scenario reads the body the rules already
parsed instead of parsing it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .body import UsageBody
from .client import Client
from .config import KitConfig
from .exchange import Exchange, KeyRole
from .failures import MalformedBody, WrongStatus
from .oracle import Oracle
from .profiles import Profile
from .view import ExchangeView

__all__ = ["KitContext", "Params", "expect_status", "query", "usage_body"]

Params = Sequence[tuple[str, str]]


@dataclass(slots=True, eq=False)
class KitContext:
    config: KitConfig
    oracle: Oracle
    client: Client
    judge: Callable[[Exchange], ExchangeView]
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

    def look(
        self,
        params: Params = (),
        *,
        account: str | None = None,
        key: KeyRole = KeyRole.ACCOUNT,
        method: str = "GET",
        path: str | None = None,
    ) -> ExchangeView:
        """Send one request, have every response rule judge it, and hand back its view."""
        exchange = self.client.send(
            account=account or self.config.account_id,
            params=params,
            key=key,
            method=method,
            path=path,
        )
        return self.judge(exchange)

    def send(
        self,
        params: Params = (),
        *,
        account: str | None = None,
        key: KeyRole = KeyRole.ACCOUNT,
        method: str = "GET",
        path: str | None = None,
    ) -> Exchange:
        return self.look(params, account=account, key=key, method=method, path=path).exchange

    def usage(
        self, params: Params = (), *, account: str | None = None, key: KeyRole = KeyRole.ACCOUNT
    ) -> UsageBody:
        """A request that must succeed, read as a usage body."""
        view = self.look(params, account=account, key=key)
        expect_status(view.exchange, {200}, "a valid request")
        return usage_body(view)


def usage_body(view: ExchangeView) -> UsageBody:
    """The usage body of a 200, or the ``MalformedBody`` that says why there is none."""
    if view.usage is None:
        problem = view.usage_failure
        raise MalformedBody(
            problem.reason if problem else f"a {view.exchange.status} has no usage body",
            exchanges=(view.exchange,),
        )
    return view.usage


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

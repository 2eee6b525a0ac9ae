"""Synthetic datasets that look like a real voice-agent business, the same on every machine.

:func:`generate` builds several top-level accounts, some with subaccounts,
each with agents, and ``size`` conversations over the ``days`` before ``now``:
busy in each account's business hours in its own home zone, quieter at
weekends, growing over the period, with a few platform outage days on which
almost nothing completes, a few agents taking most calls, and durations that
depend on the type (phone calls last minutes, web sessions less, test calls
seconds). Every type and status occurs; conversations still running at
``now`` are ``in_progress``.

Fixed credentials, in every generated dataset whatever the seed, size or
version (documented for users; tests rely on them):

=================  ========================================  ============================
account            id                                        API key
=================  ========================================  ============================
demo (top-level)   ``7d9c3a52-4f1e-4b8a-9c2d-5e6f7a8b9c0d``  ``sk-usagekit-demo``
demo's subaccount  ``3f6b1c8e-2a4d-4e7f-8b9c-0d1e2f3a4b5c``  ``sk-usagekit-demo-support``
another tenant     ``c4e8a1f2-6b3d-4c5e-9f7a-8b1c2d3e4f5a``  ``sk-usagekit-foreign``
=================  ========================================  ============================

The demo account does business in Europe/Vienna and has a second, generated
subaccount too; the other tenant (America/New_York) is a separate top-level
account, so its key reading the demo account is a 403.

Determinism: the same ``(seed, now, size, days)`` gives the same dataset, and
:func:`~usagekit.mock.datasets.files.save_dataset` the same bytes, with the
numpy and Faker versions of ``constraints.txt``. Accounts and agents depend
on the seed alone: changing ``size``, ``now`` or ``days`` keeps them.
"""

from __future__ import annotations

import numpy as np
from faker import Faker

from usagekit.mock.core.dataset import Account, Agent, Dataset, agent_table
from usagekit.mock.core.instants import MAX_INSTANT, MIN_INSTANT

from ._profiles import HOMES, RHYTHMS, ROLES, TYPE_MIX, Home
from ._traffic import DAY, Business, draw_conversations

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_SIZE",
    "DEMO_ACCOUNT_ID",
    "DEMO_API_KEY",
    "DEMO_SUBACCOUNT_ID",
    "DEMO_SUBACCOUNT_KEY",
    "FOREIGN_ACCOUNT_ID",
    "FOREIGN_API_KEY",
    "MIN_SIZE",
    "generate",
]

DEMO_ACCOUNT_ID = "7d9c3a52-4f1e-4b8a-9c2d-5e6f7a8b9c0d"
DEMO_API_KEY = "sk-usagekit-demo"
DEMO_SUBACCOUNT_ID = "3f6b1c8e-2a4d-4e7f-8b9c-0d1e2f3a4b5c"
DEMO_SUBACCOUNT_KEY = "sk-usagekit-demo-support"
FOREIGN_ACCOUNT_ID = "c4e8a1f2-6b3d-4c5e-9f7a-8b1c2d3e4f5a"
FOREIGN_API_KEY = "sk-usagekit-foreign"

DEFAULT_SEED = 2024
#: Generates in well under half a second, so that the mock starts quickly.
DEFAULT_SIZE = 300_000
#: The smallest size for which every account has conversations and every
#: type and status occurs.
MIN_SIZE = 100
#: Generated top-level accounts besides the demo account and the other tenant.
_TENANTS = 3

# Independent random streams, so that e.g. the accounts do not depend on size.
_ACCOUNTS_STREAM, _TRAFFIC_STREAM = 0, 1


def generate(
    *, seed: int = DEFAULT_SEED, now: int, size: int = DEFAULT_SIZE, days: int = 400
) -> Dataset:
    """A dataset of ``size`` conversations starting in ``[now - days, now)``; ``now`` in µs."""
    if size < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE}, not {size}")
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    if not MIN_INSTANT + days * DAY <= now <= MAX_INSTANT:
        raise ValueError("now - days .. now must lie within the years 1 to 9999")
    streams = np.random.SeedSequence(seed).spawn(2)
    businesses = _businesses(streams[_ACCOUNTS_STREAM])
    traffic = np.random.Generator(np.random.PCG64(streams[_TRAFFIC_STREAM]))
    conversations = draw_conversations(businesses, traffic, now=now, size=size, days=days)
    accounts = tuple(b.account for b in businesses)
    return Dataset(accounts=accounts, agent_ids=agent_table(accounts), conversations=conversations)


def _businesses(stream: np.random.SeedSequence) -> tuple[Business, ...]:
    """The accounts, the demo account first, each with how its traffic behaves."""
    rng = np.random.Generator(np.random.PCG64(stream))
    demo_home, foreign_home, *others = HOMES
    homes = [others[i] for i in rng.choice(len(others), size=_TENANTS, replace=False)]
    maker = _Maker(rng)
    demo = maker.account(demo_home, DEMO_ACCOUNT_ID, "Demo Voice Co.", DEMO_API_KEY, agents=6)
    support = maker.account(
        demo_home, DEMO_SUBACCOUNT_ID, "Demo Voice Co. Support", DEMO_SUBACCOUNT_KEY, parent=demo
    )
    foreign = maker.account(foreign_home, FOREIGN_ACCOUNT_ID, "Other Tenant Inc.", FOREIGN_API_KEY)
    out = [
        maker.business(demo, demo_home, weight=2.5),
        maker.business(support, demo_home, weight=1.0),
        maker.business(maker.subaccount(demo_home, demo), demo_home, weight=0.6),
        maker.business(foreign, foreign_home, weight=1.0),
    ]
    for home in homes:
        parent = maker.account(home)
        weight = float(rng.lognormal(0.0, 0.5))
        out.append(maker.business(parent, home, weight=weight))
        for _ in range(int(rng.integers(0, 3))):
            sub = maker.subaccount(home, parent)
            out.append(maker.business(sub, home, weight=weight * float(rng.uniform(0.2, 0.7))))
    return tuple(out)


class _Maker:
    """Names, ids and keys from Faker in the home's locale, seeded from ``rng``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def faker(self, home: Home) -> Faker:
        fake = Faker(home.locale)
        fake.seed_instance(int(self.rng.integers(2**63)))
        return fake

    def account(
        self,
        home: Home,
        account_id: str | None = None,
        name: str | None = None,
        key: str | None = None,
        *,
        parent: Account | None = None,
        agents: int | None = None,
    ) -> Account:
        fake = self.faker(home)
        if agents is None:
            agents = int(self.rng.integers(2, 8) if parent is None else self.rng.integers(1, 5))
        keys = int(self.rng.integers(1, 3))
        return Account(
            id=account_id or fake.uuid4(),
            parent_id=None if parent is None else parent.id,
            name=name or fake.company(),
            api_keys=(key,) if key else tuple(_key(fake) for _ in range(keys)),
            agents=tuple(
                Agent(id=fake.uuid4(), name=f"{fake.first_name()} ({fake.random_element(ROLES)})")
                for _ in range(agents)
            ),
        )

    def subaccount(self, home: Home, parent: Account) -> Account:
        branch = self.faker(home).city()
        return self.account(home, name=f"{parent.name} - {branch}", parent=parent)

    def business(self, account: Account, home: Home, *, weight: float) -> Business:
        return Business(
            account=account,
            zone=home.zone,
            rhythm=RHYTHMS[int(self.rng.integers(len(RHYTHMS)))],
            weight=weight,
            growth=float(self.rng.uniform(1.3, 3.0)),
            type_mix=self.rng.dirichlet(TYPE_MIX * 60),
            zipf=float(self.rng.uniform(0.9, 1.4)),
        )


def _key(fake: Faker) -> str:
    return f"sk-{fake.hexify('^' * 32)}"

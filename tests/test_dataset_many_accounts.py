"""Many accounts: what a dataset answers about its accounts is the same, taken from an index.

``Dataset.subaccounts`` scanned every account for each one asked about, and
the mock's key index asks for every top-level key: quadratic in the accounts.
With 188,000 accounts (``accounts.json`` near its 64 MiB cap) ``usagekit mock
--data`` had not started after 15 minutes; ``bench/dataset.py`` measures it
against ``json.loads`` of the same file. These tests hold the index to the
scan it replaced, and the cache's name for the accounts to the accounts.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from usagekit.mock.core.dataset import Account, Agent, Conversations, Dataset, agent_table
from usagekit.mock.datasets._accounts import accounts_identity, accounts_json
from usagekit.mock.server.access import KeyIndex

_IDS = st.sampled_from(["a", "b", "c", "d", "e", "f", "ü", "me-not", ""])


@st.composite
def _accounts(draw: st.DrawFn) -> tuple[Account, ...]:
    """Accounts with unique ids and keys, parents among them or not (the core does not
    check what the loader checks), in any order."""
    ids = draw(st.lists(_IDS, unique=True, max_size=7))
    accounts = []
    for n, account_id in enumerate(ids):
        parent = draw(st.none() | st.sampled_from([*ids, "nobody"]))
        keys = tuple(f"key-{n}-{k}" for k in range(draw(st.integers(0, 2))))
        agents = tuple(Agent(id=f"agent-{n}-{k}", name="x") for k in range(draw(st.integers(0, 2))))
        accounts.append(
            Account(id=account_id, parent_id=parent, name="n", api_keys=keys, agents=agents)
        )
    return tuple(accounts)


def _dataset(accounts: tuple[Account, ...]) -> Dataset:
    return Dataset(
        accounts=accounts, agent_ids=agent_table(accounts), conversations=Conversations.empty()
    )


@given(accounts=_accounts())
def test_subaccounts_are_those_a_scan_finds_in_file_order(accounts: tuple[Account, ...]) -> None:
    dataset = _dataset(accounts)
    for asked in {*(a.id for a in accounts), "nobody", "zz"}:
        scanned = tuple(a for a in accounts if a.parent_id == asked)
        assert dataset.subaccounts(asked) == scanned


@given(accounts=_accounts())
def test_each_key_reads_its_account_and_a_top_level_ones_subaccounts(
    accounts: tuple[Account, ...],
) -> None:
    index = KeyIndex(_dataset(accounts))
    for account in accounts:
        readable = {account.id}
        if account.parent_id is None:
            readable |= {a.id for a in accounts if a.parent_id == account.id}
        for key in account.api_keys:
            grant = index.grant(key.encode())
            assert grant is not None
            assert grant.account_id == account.id
            assert grant.readable == frozenset(readable)


@given(first=_accounts(), second=_accounts())
def test_the_caches_name_for_accounts_is_equal_only_for_equal_accounts(
    first: tuple[Account, ...], second: tuple[Account, ...]
) -> None:
    # The one-line identity replaced the indented file text as the cache's name: it
    # must tell apart exactly what the indented text told apart.
    same_text = accounts_json(first) == accounts_json(second)
    assert (accounts_identity(first) == accounts_identity(second)) == same_text
    assert same_text == (first == second)

"""Auth and tenancy (contract-notes B7): 401, 403, parents and subaccounts, `me`."""

from __future__ import annotations

import logging

import pytest
from factories import CHILD, CHILD_KEY, OTHER, OTHER_KEY, PARENT, PARENT_KEY
from server_support import DATASET, ME, PATH, error_of, served

from usagekit.mock.server.access import KeyIndex

NOWHERE = "99999999-9999-4999-8999-999999999999"


@pytest.fixture(scope="module")
def mock():
    with served() as client:
        yield client


@pytest.mark.parametrize("key", [None, "", "sk-unknown", PARENT_KEY + "x", PARENT_KEY[:-1]])
def test_a_missing_or_unknown_key_is_401(mock, key) -> None:
    response = mock.get(ME, key=key)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_401_comes_before_validation(mock) -> None:
    response = mock.get(ME, key="sk-unknown", params={"limit": "0", "tz": "Mars/X"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("key", "account"),
    [
        (PARENT_KEY, OTHER),  # another tenant
        (OTHER_KEY, CHILD),  # another tenant's subaccount
        (CHILD_KEY, PARENT),  # a subaccount's key on its parent
        (PARENT_KEY, NOWHERE),  # an account that does not exist
        (CHILD_KEY, NOWHERE),
    ],
)
def test_an_account_the_key_may_not_read_is_403(mock, key, account) -> None:
    response = mock.get(PATH.format(account), key=key)
    assert response.status_code == 403
    body = error_of(response)
    assert body["code"] == "forbidden"
    assert account in body["message"]


def test_403_does_not_tell_whether_an_account_exists(mock) -> None:
    foreign = mock.get(PATH.format(OTHER), key=PARENT_KEY)
    missing = mock.get(PATH.format(NOWHERE), key=PARENT_KEY)
    assert foreign.text.replace(OTHER, "X") == missing.text.replace(NOWHERE, "X")


@pytest.mark.parametrize(
    ("key", "account"),
    [(PARENT_KEY, PARENT), (PARENT_KEY, CHILD), (CHILD_KEY, CHILD), (OTHER_KEY, OTHER)],
)
def test_a_key_reads_its_account_and_a_parent_its_subaccounts(mock, key, account) -> None:
    response = mock.get(PATH.format(account), key=key)
    assert response.status_code == 200
    assert response.json()["meta"]["account_id"] == account


@pytest.mark.parametrize(("key", "account"), [(PARENT_KEY, PARENT), (CHILD_KEY, CHILD)])
def test_me_is_the_keys_own_account(mock, key, account) -> None:
    me = mock.get(ME, key=key)
    assert me.json()["meta"]["account_id"] == account
    assert me.content == mock.get(PATH.format(account), key=key).content


def test_keys_never_reach_the_logs(mock, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        mock.get(ME, key=PARENT_KEY)
        mock.get(PATH.format(OTHER), key=PARENT_KEY)
        mock.get(ME, key="sk-secret-unknown")
    assert PARENT_KEY not in caplog.text
    assert "sk-secret-unknown" not in caplog.text


def test_key_index_confirms_the_whole_key() -> None:
    keys = KeyIndex(DATASET)
    assert len(keys) == 3
    parent = keys.grant(PARENT_KEY.encode())
    assert parent is not None
    assert parent.readable == {PARENT, CHILD}
    assert parent.resolve("me") == PARENT
    assert parent.resolve(OTHER) is None
    child = keys.grant(CHILD_KEY.encode())
    assert child is not None
    assert child.readable == {CHILD}
    assert keys.grant(b"sk-test") is None
    assert keys.grant(b"") is None

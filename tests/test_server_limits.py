"""Caps before parsing: an oversize request line is 400, an oversize value is one more 422 field."""

from __future__ import annotations

import re

import pytest
from factories import PARENT_KEY
from server_support import ME, error_of, fields_of, served

from usagekit.mock.core.errors import QueryError
from usagekit.mock.core.query import (
    MAX_GROUP_BY,
    MAX_LIMIT_DIGITS,
    MAX_TZ_LENGTH,
    RawQuery,
    resolve_query,
)
from usagekit.mock.core.zones import available_zones
from usagekit.mock.server.limits import MAX_PATH_BYTES, MAX_QUERY_BYTES
from usagekit.mock.server.scenarios import parse_prefer
from usagekit.mock.spec import load_spec


@pytest.fixture(scope="module")
def mock():
    with served() as client:
        yield client


def test_a_query_string_past_the_cap_is_400_before_the_key_is_read(mock) -> None:
    response = mock.get(f"{ME}?pad={'x' * MAX_QUERY_BYTES}")
    assert response.status_code == 400
    body = error_of(response)
    assert body["code"] == "bad_request"
    assert str(MAX_QUERY_BYTES) in body["detail"]


def test_a_query_string_at_the_cap_is_read(mock) -> None:
    pad = "x" * (MAX_QUERY_BYTES - len("pad="))
    assert mock.get(f"{ME}?pad={pad}", key=PARENT_KEY).status_code == 200


def test_a_path_past_the_cap_is_400(mock) -> None:
    response = mock.get(f"/v1/accounts/{'a' * MAX_PATH_BYTES}/analytics/usage", key=PARENT_KEY)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


def test_a_comma_bomb_is_one_field_among_the_others(mock) -> None:
    query = f"group_by={',' * (MAX_QUERY_BYTES - 100)}&tz=Mars/Olympus&limit=0"
    response = mock.get(f"{ME}?{query}", key=PARENT_KEY)
    assert fields_of(response) == ["query.group_by", "query.tz", "query.limit"]


@pytest.mark.parametrize("count", [MAX_GROUP_BY, MAX_GROUP_BY + 1])
def test_group_by_items_are_capped_duplicates_included(mock, count) -> None:
    response = mock.get(ME, key=PARENT_KEY, params={"group_by": ",".join(["agent"] * count)})
    if count <= MAX_GROUP_BY:
        assert response.json()["meta"]["group_by"] == ["agent"]
    else:
        assert fields_of(response) == ["query.group_by"]


def test_repeated_group_by_counts_every_item(mock) -> None:
    params = [("group_by", "agent,type")] * (MAX_GROUP_BY // 2 + 1)
    assert fields_of(mock.get(ME, key=PARENT_KEY, params=params)) == ["query.group_by"]


@pytest.mark.parametrize("digits", [MAX_LIMIT_DIGITS + 1, 4_000])
def test_a_long_limit_is_422_not_500(mock, digits) -> None:
    response = mock.get(ME, key=PARENT_KEY, params={"limit": "9" * digits})
    assert fields_of(response) == ["query.limit"]


def test_a_long_limit_with_leading_zeros_is_still_refused_unread() -> None:
    with pytest.raises(QueryError) as caught:
        resolve_query(RawQuery(limit="0" * 5_000 + "5"), account_id="a", now=0)
    assert [e.field for e in caught.value.errors] == ["query.limit"]


def test_the_core_refuses_long_zone_names_and_too_many_items() -> None:
    raw = RawQuery(tz="A" * (MAX_TZ_LENGTH + 1), group_by=["agent"] * (MAX_GROUP_BY + 1))
    with pytest.raises(QueryError) as caught:
        resolve_query(raw, account_id="a", now=0)
    assert [e.field for e in caught.value.errors] == ["query.group_by", "query.tz"]


@pytest.mark.parametrize("name", ["latency", "code"])
def test_huge_prefer_numbers_are_ignored_before_auth(mock, name) -> None:
    response = mock.get(ME, headers={"Prefer": f"{name}={'9' * 5_000}"})
    assert response.status_code == 401
    assert "preference-applied" not in response.headers


def test_parse_prefer_ignores_oversize_values_unread() -> None:
    assert parse_prefer(["code=429," + " " * 1_000]).code is None
    assert parse_prefer(["latency=" + "1" * 10]).latency_ms is None
    assert parse_prefer(["latency=12"]).latency_ms == 12


def test_the_spec_states_the_caps() -> None:
    spec = load_spec()
    params = spec["components"]["parameters"]
    group_by = params["GroupBy"]["schema"]
    assert (group_by["minItems"], group_by["maxItems"]) == (1, MAX_GROUP_BY)
    assert params["Tz"]["schema"]["maxLength"] == MAX_TZ_LENGTH
    description = spec["paths"]["/v1/accounts/{account_id}/analytics/usage"]["get"]["description"]
    assert f"{MAX_QUERY_BYTES} bytes" in description
    assert f"{MAX_PATH_BYTES} bytes" in description


def test_the_tz_pattern_admits_every_iana_name_and_no_digits_only_name() -> None:
    pattern = re.compile(load_spec()["components"]["parameters"]["Tz"]["schema"]["pattern"])
    assert all(pattern.search(name) for name in available_zones())
    assert not pattern.search("00")
    assert max(map(len, available_zones())) <= MAX_TZ_LENGTH


def test_a_long_limit_is_neither_converted_nor_echoed(mock) -> None:
    response = mock.get(ME, key=PARENT_KEY, params={"limit": "9" * 4_000})
    assert fields_of(response) == ["query.limit"]
    assert len(response.content) < 400

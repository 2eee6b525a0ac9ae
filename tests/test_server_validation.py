"""Validation: one 422 names every invalid field; group_by's forms; naive times; null."""

from __future__ import annotations

import pytest
from factories import PARENT, PARENT_KEY
from server_support import ME, error_of, fields_of, served

from usagekit.mock.server.validation import ContractURIParser


@pytest.fixture(scope="module")
def mock():
    with served() as client:
        yield client


def meta(mock, **params):
    response = mock.get(ME, key=PARENT_KEY, params=params)
    assert response.status_code == 200, response.text
    return response.json()["meta"]


def test_one_422_lists_every_invalid_field(mock) -> None:
    response = mock.get(
        ME, key=PARENT_KEY, params={"limit": "0", "tz": "Mars/X", "granularity": "week"}
    )
    assert fields_of(response) == ["query.granularity", "query.tz", "query.limit"]
    body = error_of(response)
    assert body["message"] == "3 invalid parameters."
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages["query.limit"] == "0 is less than the minimum of 1"
    assert "is not an IANA time zone" in messages["query.tz"]


def test_schema_and_semantic_errors_come_together(mock) -> None:
    params = {
        "start": "2024-03-05T00:00:00Z",
        "end": "2024-03-01T00:00:00Z",
        "group_by": "agent,colour",
        "limit": "501",
    }
    response = mock.get(ME, key=PARENT_KEY, params=params)
    assert fields_of(response) == ["query.start", "query.group_by", "query.limit"]
    messages = {e["field"]: e["message"] for e in error_of(response)["errors"]}
    assert messages["query.limit"] == "501 is greater than the maximum of 500"
    assert "must be before end" in messages["query.start"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2024-03-01"}, "query.start"),
        ({"start": "2024-13-01T00:00:00Z"}, "query.start"),
        ({"end": "2024-03-01T00:00:00.1234567Z"}, "query.end"),
        ({"end": "10000-01-01T00:00:00Z"}, "query.end"),
        ({"start": "0001-01-01T00:00:00Z", "tz": "America/New_York"}, "query.start"),
        ({"tz": "europe/vienna"}, "query.tz"),
        ({"tz": "None"}, "query.tz"),
        ({"limit": "abc"}, "query.limit"),
        ({"limit": "1.5"}, "query.limit"),
        ({"limit": "5_0"}, "query.limit"),
        ({"limit": "\u0665"}, "query.limit"),  # ARABIC-INDIC DIGIT FIVE
        ({"granularity": "Day"}, "query.granularity"),
        ({"group_by": "agent,"}, "query.group_by"),
    ],
)
def test_each_invalid_value_is_a_422_naming_its_field(mock, params, field) -> None:
    assert fields_of(mock.get(ME, key=PARENT_KEY, params=params)) == [field]


@pytest.mark.parametrize("name", ["start", "end", "tz", "group_by", "granularity", "limit"])
def test_an_empty_value_is_invalid(mock, name) -> None:
    assert fields_of(mock.get(f"{ME}?{name}=", key=PARENT_KEY)) == [f"query.{name}"]


@pytest.mark.parametrize("name", ["start", "end", "tz", "group_by", "limit"])
def test_null_means_absent(mock, name) -> None:
    assert meta(mock, **{name: "null"}) == meta(mock)


def test_unknown_parameters_are_ignored(mock) -> None:
    assert meta(mock, colour="blue", page="2") == meta(mock)


def test_group_by_comma_repeated_and_mixed_forms_are_one_request(mock) -> None:
    comma = mock.get(f"{ME}?group_by=agent,type,subaccount", key=PARENT_KEY)
    repeated = mock.get(f"{ME}?group_by=agent&group_by=type&group_by=subaccount", key=PARENT_KEY)
    mixed = mock.get(f"{ME}?group_by=agent,type&group_by=subaccount&group_by=agent", key=PARENT_KEY)
    assert comma.status_code == 200
    assert comma.content == repeated.content == mixed.content
    assert comma.json()["meta"]["group_by"] == ["agent", "type", "subaccount"]


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("granularity", "bogus", "hour"),
        ("tz", "UTC", "Europe/Vienna"),
        ("limit", "0", "2"),
        ("start", "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"),
        ("end", "2024-03-03T00:00:00Z", "2024-03-02T12:00:00Z"),
    ],
)
def test_a_single_valued_parameter_written_twice_reads_the_last(mock, name, first, last) -> None:
    """openapi.yaml leaves the repeat open; the reference reads the last (the first is
    never validated), by the front cache's path and connexion's alike."""
    span = {"start": "2024-03-01T00:00:00Z", "end": "2024-03-03T00:00:00Z"}
    rest = "&".join(f"{k}={v}" for k, v in span.items() if k != name)
    for _ in range(2):  # a new request, then its repeat from the memo
        twice = mock.get(f"{ME}?{rest}&{name}={first}&{name}={last}", key=PARENT_KEY)
        once = mock.get(f"{ME}?{rest}&{name}={last}", key=PARENT_KEY)
        assert twice.status_code == once.status_code == 200
        assert twice.content == once.content


def test_group_by_errors_name_every_bad_value(mock) -> None:
    response = mock.get(f"{ME}?group_by=agent,colour&group_by=size", key=PARENT_KEY)
    (error,) = error_of(response)["errors"]
    assert error["field"] == "query.group_by"
    assert "'colour'" in error["message"]
    assert "'size'" in error["message"]


def test_naive_date_times_are_read_in_tz(mock) -> None:
    vienna = meta(mock, start="2024-03-01T00:00:00", end="2024-04-01T00:00:00", tz="Europe/Vienna")
    assert vienna["start"] == "2024-03-01T00:00:00+01:00"
    assert vienna["end"] == "2024-04-01T00:00:00+02:00"
    assert vienna["account_id"] == PARENT


def test_offsets_and_z_are_accepted(mock) -> None:
    written = meta(mock, start="2024-03-01T00:00:00.5+05:45", end="2024-03-02T00:00:00z")
    assert written["start"] == "2024-02-29T18:15:00.500000Z"


def test_a_plus_in_the_query_string_gets_a_hint(mock) -> None:
    # An unescaped '+' arrives as a space: the error says how to write it.
    response = mock.get(f"{ME}?start=2024-03-01T00:00:00+01:00", key=PARENT_KEY)
    (error,) = error_of(response)["errors"]
    assert "%2B" in error["message"]


def test_uri_parser_merges_repeated_and_delimited_values() -> None:
    params = [
        {"name": "group_by", "in": "query", "style": "form", "explode": False,
         "x-usagekit-nullable": True, "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "tz", "in": "query", "schema": {"type": "string"}},
    ]  # fmt: skip
    parser = ContractURIParser(params, {})
    resolved = parser.resolve_query({"group_by": ["agent,type", "subaccount"], "tz": ["A", "B"]})
    assert resolved == {"group_by": ["agent", "type", "subaccount"], "tz": "B"}
    assert parser.resolve_query({"group_by": ["null"]}) == {"group_by": None}

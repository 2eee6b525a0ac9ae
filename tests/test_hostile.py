"""Hostile input: every parameter, header and the path, each answered in the contract's shape.

Requests go straight to the ASGI app as raw bytes (no HTTP client cleans them
up first), as uvicorn would hand them over: any byte in a header, NUL and
control characters, bad UTF-8 in percent escapes, thousands of digits, odd
zones and impossible dates. Each answer must be a status the contract names
for that request -- never 500 -- with a body in its shape: the usage payload
for 200, ``{code, message, detail?, errors?}`` with the status's own code for
the rest, and a 422 naming only the parameter that was hostile.
"""

from __future__ import annotations

import pytest
from hostile_support import ME, call, contract_shaped

# -- every query parameter -----------------------------------------------------------------

HOSTILE_VALUES = [
    "",
    " ",
    "%00",
    "a%00b",
    "%01%1F%7F",
    "%0D%0AX-Injected:%201",
    "%FF%FE",
    "%C0%AF",
    "%E2%80%AE",  # right-to-left override
    "%F0%9F%92%A5",
    "9" * 3000,
    "-1",
    "-" + "9" * 400,
    "1e309",
    "NaN",
    "Infinity",
    "0x10",
    "%EF%BC%91%EF%BC%92",  # full-width digits
    "null",
    "NULL",
    "[]",
    "{}",
    "..%2F..%2Fetc%2Fpasswd",
    "%3Cscript%3E",
    "'%20OR%201=1",
    "%25",
    "%",
    "%zz",
    "a" * 3000,
    ",",
    "," * 3000,
]
PARAMETERS = ["start", "end", "granularity", "group_by", "tz", "limit"]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=range(len(HOSTILE_VALUES)))
@pytest.mark.parametrize("name", PARAMETERS)
def test_a_hostile_value_of_each_parameter(name: str, value: str) -> None:
    status, headers, body = call(ME.encode(), f"{name}={value}".encode())
    document = contract_shaped(status, headers, body)
    assert status in (200, 422)
    if status == 422:
        assert [e["field"] for e in document["errors"]] == [f"query.{name}"]


ODD_ZONES = [
    "Etc/GMT+14",
    "Etc/GMT-14",
    "posixrules",
    "localtime",
    "Factory",
    "EST5EDT",
    "UTC%00",
    "Europe/../UTC",
    "Europe%2F..%2F..%2Fetc%2Fpasswd",
    "europe/vienna",
    "Europe/Vienna%20",
    "America/Argentina/ComodRivadavia",
    "Asia/Kathmandu",
    "%2FUTC",
    "UTC/",
    "+05:00",
    "Z",
    "GMT0",
    "Etc/Unknown",
    "A" * 65,
]


@pytest.mark.parametrize("zone", ODD_ZONES)
def test_odd_zones(zone: str) -> None:
    status, headers, body = call(ME.encode(), f"tz={zone}".encode())
    document = contract_shaped(status, headers, body)
    assert status in (200, 422)
    if status == 422:
        assert [e["field"] for e in document["errors"]] == ["query.tz"]


ODD_DATES = [
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-12:00",
    "2024-02-30T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-03-01T24:00:00Z",
    "2024-03-01T00:00:60Z",
    "2024-03-31T02:30:00",  # skipped in Vienna
    "2024-10-27T02:30:00",  # repeated in Vienna
    "+002024-03-01T00:00:00Z",
    "2024-03-01T00:00:00.1234567Z",
    "2024-03-01T00:00:00." + "1" * 3000,
    "2024-03-01%2000:00:00Z",
    "2024-03-01T00:00:00+99:99",
    "2024-03-01T00:00:00%2B14:00",
    "2024-03-01T00:00:00-00:00",
    "2024-03-01",
    "20240301T000000Z",
    "%EF%BC%92024-03-01T00:00:00Z",
    "2024-03-01T00:00:00z",
]


@pytest.mark.parametrize("date", ODD_DATES)
@pytest.mark.parametrize("name", ["start", "end"])
def test_odd_dates(name: str, date: str) -> None:
    status, headers, body = call(ME.encode(), f"{name}={date}&tz=Europe/Vienna".encode())
    document = contract_shaped(status, headers, body)
    assert status in (200, 422)
    if status == 422:
        assert {e["field"] for e in document["errors"]} <= {"query.start", "query.end"}


def test_every_parameter_hostile_at_once_is_one_422_naming_each() -> None:
    query = "&".join(f"{name}=%00{'9' * 500}" for name in PARAMETERS)
    status, headers, body = call(ME.encode(), query.encode())
    document = contract_shaped(status, headers, body)
    assert [e["field"] for e in document["errors"]] == [f"query.{n}" for n in PARAMETERS]


@pytest.mark.parametrize(
    "query",
    [
        "&" * 4000,
        "=" * 4000,
        "group_by=agent&" * 200,
        "a=" + "%00" * 1300,
        "pad=" + "x" * 4092,
        "tz=UTC&tz=" + "A" * 3000,
        "limit=" + "0" * 3000 + "1",
    ],
    ids=["ampersands", "equals", "repeats", "nuls", "pad at the cap", "repeated scalar", "zeros"],
)
def test_query_strings_at_the_cap(query: str) -> None:
    status, headers, body = call(ME.encode(), query.encode())
    contract_shaped(status, headers, body)
    assert status in (200, 422)


@pytest.mark.parametrize("size", [4097, 65_000, 1_000_000])
def test_query_strings_past_the_cap_are_400(size: int) -> None:
    status, headers, body = call(ME.encode(), b"group_by=" + b"," * size)
    assert contract_shaped(status, headers, body)["code"] == "bad_request"

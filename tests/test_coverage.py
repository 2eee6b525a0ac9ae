"""The coverage ledger: the cells a known set of requests exercises, and their counts."""

from __future__ import annotations

import pytest
import strategies
from hypothesis import given, settings

from usagekit.mock.core.buckets import bucket_grid
from usagekit.mock.core.coverage import CATALOGUE, catalogue, exchange_cells, query_cells
from usagekit.mock.core.instants import parse_instant
from usagekit.mock.core.ledger import Ledger, unmatched
from usagekit.mock.core.query import Granularity, RawQuery, UsageQuery, resolve_query
from usagekit.mock.spec import error_codes

NOW = parse_instant("2024-04-02T00:00:00Z")


def cells(status: int = 200, error: str | None = None, **params: object) -> tuple[str, ...]:
    raw = RawQuery(**params)  # type: ignore[arg-type]
    query = resolve_query(raw, account_id="acc", now=NOW) if status == 200 else None
    return exchange_cells(status, error_code=error, raw=raw, query=query)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tz": "UTC"}, {"tz:utc"}),
        ({"tz": "Etc/GMT+5"}, {"tz:fixed"}),
        ({"tz": "Asia/Kolkata"}, {"tz:fixed", "tz:fractional"}),
        ({"tz": "Asia/Kathmandu"}, {"tz:fixed", "tz:fractional"}),
        # January in Vienna: no change in the range, but a northern DST zone that year.
        (
            {"tz": "Europe/Vienna", "start": "2024-01-01T00:00:00", "end": "2024-01-03T00:00:00"},
            {"tz:dst-north"},
        ),
        (
            {"tz": "Europe/Vienna", "start": "2024-03-30T00:00:00", "end": "2024-04-01T00:00:00"},
            {"tz:dst-north", "tz:offset-change"},
        ),
        (
            {
                "tz": "Australia/Sydney",
                "start": "2024-01-01T00:00:00",
                "end": "2024-01-02T00:00:00",
            },
            {"tz:dst-south"},
        ),
        (
            {
                "tz": "Australia/Adelaide",
                "start": "2024-06-01T00:00:00",
                "end": "2024-06-02T00:00:00",
            },
            {"tz:dst-south", "tz:fractional"},
        ),
        # Apia skipped 2011-12-30; Sao Paulo's clocks jumped over midnight in 2018.
        (
            {"tz": "Pacific/Apia", "start": "2011-12-29T00:00:00", "end": "2012-01-01T00:00:00"},
            {"tz:dst-south", "tz:offset-change", "tz:skipped-midnight"},
        ),
        (
            {
                "tz": "America/Sao_Paulo",
                "start": "2018-11-03T00:00:00",
                "end": "2018-11-05T00:00:00",
            },
            {"tz:dst-south", "tz:offset-change", "tz:skipped-midnight"},
        ),
    ],
)
def test_zone_classes(params: dict[str, str], expected: set[str]) -> None:
    assert {c for c in cells(**params) if c.startswith("tz:")} == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # Venezuela (2016) and North Korea (2018) moved their clocks forward for good: a
        # change of standard time, no daylight saving, in either hemisphere.
        (
            {"tz": "America/Caracas", "start": "2016-05-01T00:00:00", "end": "2016-05-03T00:00:00"},
            {"tz:fractional", "tz:offset-change"},
        ),
        (
            {"tz": "Asia/Pyongyang", "start": "2018-01-01T00:00:00", "end": "2018-01-03T00:00:00"},
            {"tz:fractional"},
        ),
        # Morocco's clocks go back for Ramadan and forward after it: both ways in a year.
        (
            {
                "tz": "Africa/Casablanca",
                "start": "2024-03-01T00:00:00",
                "end": "2024-03-02T00:00:00",
            },
            {"tz:dst-north"},
        ),
    ],
)
def test_a_change_of_standard_time_is_no_daylight_saving(
    params: dict[str, str], expected: set[str]
) -> None:
    assert {c for c in cells(**params) if c.startswith("tz:")} == expected


def test_a_fall_back_night_changes_the_offset_but_skips_no_midnight() -> None:
    found = cells(tz="Europe/Vienna", start="2024-10-26T00:00:00", end="2024-10-28T00:00:00")
    assert "tz:offset-change" in found
    assert "tz:skipped-midnight" not in found


def test_parameters_present_or_defaulted_and_what_they_resolve_to() -> None:
    found = set(cells(granularity="hour", group_by=["type", "agent"], limit="1"))
    assert {
        "status:200",
        "param:start:default",
        "param:end:default",
        "param:granularity:present",
        "param:group_by:present",
        "param:tz:default",
        "param:limit:present",
        "granularity:hour",
        "group_by:agent+type",
        "group_by_order:type,agent",
        "limit:1",
        "limit:truncated",  # 720 hours, one bucket
        "range:<=31d",  # the default 30 days
        "tz:utc",
    } == found


def test_limit_500_is_an_edge_and_a_short_range_is_not_truncated() -> None:
    found = cells(start="2024-03-01T00:00:00Z", end="2024-03-01T00:30:00Z", granularity="hour")
    assert {"limit:500", "range:<=1h", "param:limit:default"} <= set(found)
    assert "limit:truncated" not in found


def test_an_error_names_its_status_and_code_but_no_resolved_cell() -> None:
    found = cells(422, "validation_error", tz="Mars/Olympus")
    assert {"status:422", "error:validation_error", "param:tz:present"} <= set(found)
    assert not [c for c in found if c.startswith(("tz:", "granularity:", "group_by"))]


def test_an_open_reading_still_counts_the_status() -> None:
    assert exchange_cells(200, raw=None, query=None) == ("status:200",)


def test_the_ledger_counts_a_known_request_set() -> None:
    ledger = Ledger()
    requests = [
        {},
        {"tz": "UTC", "granularity": "hour"},
        {"group_by": ["agent"]},
        {"group_by": ["agent", "type"]},
        {"group_by": ["type", "agent"]},
    ]
    for params in requests:
        ledger.record(cells(**params))
    ledger.record(cells(422, "validation_error", limit="0"))
    ledger.record(cells(401, "unauthorized"))
    counts = ledger.counts()
    assert ledger.exchanges == 7
    assert counts["status:200"] == 5
    assert counts["status:422"] == counts["status:401"] == 1
    assert counts["param:tz:default"] == 6
    assert counts["param:tz:present"] == 1
    assert counts["param:limit:present"] == 1
    assert counts["granularity:day"] == 4
    assert counts["granularity:hour"] == 1
    assert counts["group_by:none"] == 2
    assert counts["group_by:agent"] == 1
    assert counts["group_by:agent+type"] == 2
    assert counts["group_by_order:agent,type"] == counts["group_by_order:type,agent"] == 1
    assert counts["tz:utc"] == 5
    report = ledger.to_dict()
    assert report["exchanges"] == 7
    assert report["cells"]["granularity:month"] == 0
    assert "granularity:month" in report["not_exercised"]
    assert "status:401" in report["cells"]  # cells outside the catalogue are kept too


def test_the_catalogue_names_every_combination_and_order() -> None:
    assert sum(c.startswith("group_by:") for c in CATALOGUE) == 8
    assert sum(c.startswith("group_by_order:") for c in CATALOGUE) == 12
    assert len(CATALOGUE) == len(set(CATALOGUE))


def test_min_coverage_patterns() -> None:
    counts = {"granularity:day": 3, "tz:utc": 1}
    assert unmatched(["granularity:day"], counts, CATALOGUE) == []
    assert unmatched(["granularity:*"], counts, CATALOGUE) == [
        "granularity:hour",
        "granularity:month",
    ]
    assert unmatched(["tz:utc", "tz:dst-south"], counts, CATALOGUE) == ["tz:dst-south"]
    # A pattern that names nothing is reported, not silently passed.
    assert unmatched(["tz:mars"], counts, CATALOGUE) == ["tz:mars"]


def test_the_contracts_statuses_and_codes_are_cells_too() -> None:
    known = catalogue(error_codes())
    assert {"status:200", "status:422", "error:validation_error", "error:unauthorized"} <= set(
        known
    )
    assert set(CATALOGUE) <= set(known)
    ledger = Ledger(known)
    ledger.record(cells(401, "unauthorized"))
    assert "status:403" in ledger.to_dict()["not_exercised"]


@settings(max_examples=400, deadline=None)
@given(strategies.windows())
def test_limit_truncated_is_what_the_grid_says(window: strategies.Window) -> None:
    # The ledger tells most ranges short of the limit without their grid: never wrongly.
    query = UsageQuery(
        account_id="acc",
        start=window.start,
        end=window.end,
        granularity=Granularity(window.granularity),
        group_by=(),
        tz=window.tz,
        limit=window.limit,
    )
    grid = bucket_grid(query.timeline, query.granularity, query.start, query.end, query.limit)
    truncated = int(grid.edges[-1]) < query.end
    assert ("limit:truncated" in query_cells.__wrapped__(query)) == truncated

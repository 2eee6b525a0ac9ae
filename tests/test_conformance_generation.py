"""Schemathesis' tuning: the tuned contract, and which generated cases are kept."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from usagekit.conformance.generation import DATETIME, ZONES, _keep, tuned_contract
from usagekit.mock.core.instants import US, parse_datetime
from usagekit.mock.core.zones import available_zones, get_timeline

NOW = 1_800_000_000 * US


def case(query: dict[str, object], *, negative: bool = False) -> SimpleNamespace:
    mode = SimpleNamespace(is_negative=negative)
    return SimpleNamespace(query=query, meta=SimpleNamespace(generation=SimpleNamespace(mode=mode)))


def test_the_tuned_contract_is_still_valid_openapi() -> None:
    spec = tuned_contract()
    validate(spec)
    assert spec["components"]["parameters"]["Tz"]["schema"]["enum"] == list(ZONES)


def test_curated_zones_are_real() -> None:
    assert set(ZONES) <= available_zones()


@settings(max_examples=300, deadline=None)
@given(st.from_regex(DATETIME, fullmatch=True), st.sampled_from(ZONES))
def test_every_generated_date_time_is_valid_in_every_curated_zone(text: str, zone: str) -> None:
    parsed = parse_datetime(text)  # raises if the contract's grammar refuses it
    parsed.instant(get_timeline(zone))


def test_cases_with_a_literal_null_are_dropped() -> None:
    keep = _keep(NOW)
    assert not keep(None, case({"tz": "null"}))
    assert not keep(None, case({"group_by": ["agent", None]}))
    assert keep(None, case({"tz": "UTC"}))


def test_positive_cases_keep_start_before_end() -> None:
    keep = _keep(NOW)
    early, late = "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"
    assert keep(None, case({"start": early, "end": late}))
    assert not keep(None, case({"start": late, "end": early}))
    assert not keep(None, case({"start": "2099-01-01T00:00:00Z"}))  # after "now"
    assert keep(None, case({"start": late, "end": early}, negative=True))


def test_negative_cases_leave_date_times_and_real_zones_alone() -> None:
    keep = _keep(NOW)
    assert not keep(None, case({"start": "0"}, negative=True))
    assert not keep(None, case({"tz": "Europe/Paris"}, negative=True))  # real, not curated
    assert keep(None, case({"tz": "Not/A_Zone"}, negative=True))


def test_positive_cases_name_no_local_time_their_zone_skipped() -> None:
    keep = _keep(NOW)
    skipped = {"start": "2024-03-10T02:30:00", "end": "2024-03-11T00:00:00"}
    assert not keep(None, case({**skipped, "tz": "America/New_York"}))
    assert keep(None, case({**skipped, "tz": "UTC"}))
    ambiguous = {"start": "2024-11-03T01:30:00", "end": "2024-11-04T00:00:00"}
    assert keep(None, case({**ambiguous, "tz": "America/New_York"}))  # the contract reads it

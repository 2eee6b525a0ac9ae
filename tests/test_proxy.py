"""The validation proxy: silent in front of a correct upstream, loud in front of a faulty one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import ODD_AGENTS, PARENT, PARENT_KEY, busy_dataset
from proxy_support import DATASET, NOW, REQUESTS, direct, through, traffic
from servers.minimal import Fault
from servers.variants import Variant

from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import RuleKind
from usagekit.conformance.rules import RULES
from usagekit.conformance.traffic import Traffic
from usagekit.mock.datasets.files import save_dataset

# What each fault breaks that one exchange shows: the proxy must flag one of these.
CAUGHT_BY: dict[Fault, set[str]] = {
    Fault.IGNORES_LIMIT: {"bucket_count_within_limit"},
    Fault.LIMIT_OFF_BY_ONE: {"bucket_count_within_limit"},
    Fault.FIXED_OFFSET: {"buckets_follow_calendar", "ts_in_requested_zone"},
    Fault.UTC_LABELS: {"ts_in_requested_zone"},
    Fault.SPARSE_BUCKETS: {"buckets_follow_calendar"},
    Fault.GROUPS_DROP_SMALLEST: {"matches_reference"},
    Fault.UNSORTED_VALUES: {"values_sorted_by_dimensions"},
    Fault.EXTRA_DIMENSION_KEY: {"dimension_keys_match_group_by"},
    Fault.ZONE_500: {"status_matches_reference"},
    Fault.NO_AUTH: {"status_matches_reference"},
    Fault.DEFAULT_SPAN_7_DAYS: {"meta_echoes_query", "buckets_follow_calendar"},
    Fault.DEFAULT_GRANULARITY_HOUR: {"meta_echoes_query", "buckets_follow_calendar"},
    Fault.FIRST_ERROR_ONLY: {"status_matches_reference"},
    Fault.VALIDATION_400: {"status_matches_reference"},
    Fault.COMMA_GROUP_BY_IGNORED: {"meta_echoes_query", "dimension_keys_match_group_by"},
    Fault.NAIVE_AS_UTC: {"meta_echoes_query", "buckets_follow_calendar"},
    Fault.INCLUSIVE_END: {"matches_reference"},
    Fault.PARENT_WITHOUT_SUBACCOUNTS: {"matches_reference"},
    Fault.META_START_UTC: {"meta_echoes_query"},
    Fault.GROUP_BY_NOT_NORMALISED: {"meta_echoes_query"},
    Fault.ERROR_SHAPE: {"error_body_shape"},
    Fault.FIRST_BUCKET_AT_START: {"buckets_follow_calendar"},
    Fault.MERGED_FALL_BACK: {"buckets_follow_calendar"},
    Fault.TZ_CHANGES_TOTALS: {"matches_reference"},
    Fault.UNGROUPED_EMPTY_VALUES: {"dimension_keys_match_group_by"},
    Fault.META_WITHOUT_OPTIONALS: {"meta_echoes_query"},
    Fault.UNGROUPED_NULL_DIMENSIONS: {"dimension_keys_match_group_by"},
    Fault.ABSENT_ACCOUNT_404: {"status_matches_reference"},
}
# Faults only a comparison of several answers, or knowing whose key is whose, shows.
NOT_IN_ONE_EXCHANGE = {
    Fault.CROSS_TENANT,
    Fault.SUBACCOUNT_READS_PARENT,
    Fault.ME_ECHOED,
    Fault.NO_ALLOW_HEADER,
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dataset")
    save_dataset(DATASET, directory)
    return directory


def flagged(judge: Traffic) -> set[str]:
    return {v["rule"] for v in judge.violations()["violations"]}


def test_every_fault_is_accounted_for() -> None:
    assert set(CAUGHT_BY) | NOT_IN_ONE_EXCHANGE == set(Fault)


@pytest.mark.parametrize("profile", list(Profile))
def test_a_correct_upstream_gets_no_violation(data_dir: Path, profile: Profile) -> None:
    judge = traffic(data_dir, profile)
    answers = through(judge)
    assert judge.violations()["violations"] == [], judge.violations()
    assert [a.headers["x-usagekit-violations"] for a in answers] == ["0"] * len(REQUESTS)
    assert all("x-usagekit-rules" not in a.headers for a in answers)
    summary = judge.summary()
    assert summary.ok
    ran = {r.name for r in summary.results if r.passed}
    assert {"bucket_count_within_limit", "ts_in_requested_zone", "error_body_shape"} <= ran
    reference = {"buckets_follow_calendar", "meta_echoes_query", "matches_reference"}
    assert (reference <= ran) is (profile is Profile.REFERENCE)


#: Date-times ISO-8601 writes and the reference does not read: a server may read them or not.
ISO_8601 = [
    (PARENT, PARENT_KEY, [("start", "2024-03-01T10:30Z"), ("end", "20240305T000000Z")]),
    (PARENT, PARENT_KEY, [("start", "2024-03-01 10:30:00,5+01"), ("tz", "Mars/Base")]),
    (PARENT, PARENT_KEY, [("start", "2024-03-05T10:30Z"), ("end", "2024-03-01T00:00")]),
]


@pytest.mark.parametrize("profile", list(Profile))
@pytest.mark.parametrize("variant", list(Variant), ids=[v.name for v in Variant])
def test_no_false_alarm_in_front_of_a_correct_alternative(
    data_dir: Path, variant: Variant, profile: Profile
) -> None:
    judge = traffic(data_dir, profile)
    answers = through(judge, variants=frozenset({variant}), requests=[*REQUESTS, *ISO_8601])
    assert judge.violations()["violations"] == [], (variant.name, judge.violations())
    assert all(a.headers["x-usagekit-violations"] == "0" for a in answers)


@pytest.mark.parametrize("profile", list(Profile))
@pytest.mark.parametrize("variant", [None, Variant.UTF16_ORDER, Variant.JSON_SPELLING])
def test_no_false_alarm_on_agent_ids_of_any_text(
    tmp_path: Path, variant: Variant | None, profile: Profile
) -> None:
    # Escapes in JSON, and values sorted by code point or by UTF-16 code unit.
    odd = busy_dataset(NOW, agents=ODD_AGENTS)
    save_dataset(odd, tmp_path)
    judge = traffic(tmp_path, profile, dataset=odd)
    variants = frozenset({variant}) if variant else frozenset()
    through(judge, variants=variants, dataset=odd)
    assert judge.violations()["violations"] == [], judge.violations()
    ran = {r.name for r in judge.summary().results if r.passed}
    assert ("values_sorted_by_dimensions" in ran) is (profile is Profile.REFERENCE)


def test_answers_come_back_unchanged() -> None:
    proxied = through(traffic(), frozenset({Fault.ERROR_SHAPE}))
    straight = direct(frozenset({Fault.ERROR_SHAPE}))
    assert [(a.status, a.content) for a in proxied] == [(a.status, a.content) for a in straight]
    for mine, theirs in zip(proxied, straight, strict=True):
        added = {"x-usagekit-violations", "x-usagekit-rules", "date"}
        assert {k: v for k, v in mine.headers.items() if k not in added} == {
            k: v for k, v in theirs.headers.items() if k != "date"
        }


@pytest.mark.parametrize("fault", list(CAUGHT_BY), ids=[f.name for f in CAUGHT_BY])
def test_a_faulty_upstream_is_flagged_by_the_right_rule(data_dir: Path, fault: Fault) -> None:
    judge = traffic(data_dir)
    answers = through(judge, frozenset({fault}))
    found = flagged(judge)
    assert found & CAUGHT_BY[fault], f"{fault.name}: flagged {sorted(found)}"
    # Every violating answer says so in its headers, and the headers agree with the tally.
    marked = {
        rule.strip()
        for a in answers
        if a.headers["x-usagekit-violations"] != "0"
        for rule in a.headers["x-usagekit-rules"].split(",")
    }
    assert marked == found
    assert not judge.summary().ok


def test_strict_mode_answers_502_naming_each_rule() -> None:
    judge = traffic()
    answers = through(judge, frozenset({Fault.IGNORES_LIMIT}), strict=True)
    broken = [a for a in answers if a.headers["x-usagekit-violations"] != "0"]
    assert broken
    for answer in broken:
        assert answer.status == 502
        assert answer.headers["content-type"] == "application/json"
        body = json.loads(answer.content)
        assert body["code"] == "upstream_violation"
        assert set(body) <= {"code", "message", "detail", "errors"}
        rules = {e["field"] for e in body["errors"]}
        assert "bucket_count_within_limit" in rules
        assert rules == {r.strip() for r in answer.headers["x-usagekit-rules"].split(",")}
    clean = [a for a in answers if a.headers["x-usagekit-violations"] == "0"]
    assert clean
    assert all(a.status != 502 for a in clean)


def test_the_tally_counts_each_rule_and_reason_once_with_a_curl_against_the_upstream() -> None:
    judge = traffic()
    through(judge, frozenset({Fault.ERROR_SHAPE}))
    through(judge, frozenset({Fault.ERROR_SHAPE}))
    tally = judge.violations()
    assert tally["exchanges"] == 2 * len(REQUESTS)
    pairs = [(v["rule"], v["reason"]) for v in tally["violations"]]
    assert len(pairs) == len(set(pairs))
    shape = [v for v in tally["violations"] if v["rule"] == "error_body_shape"]
    assert shape
    assert all(v["count"] >= 2 for v in shape)
    # Against the upstream, which the proxy's client reached at a port of its own.
    assert all(v["curl"].startswith("curl ") and "'http://127.0.0.1:" in v["curl"] for v in shape)
    assert all("sk-" not in v["curl"] for v in tally["violations"])


@pytest.mark.parametrize("profile", list(Profile))
def test_a_proxy_reports_every_response_rule_and_why_one_did_not_run(profile: Profile) -> None:
    """The proxy declares its rules with check's helper: every response rule has a row, no
    scenario rule has one, and a rule of the other profile says why it did not run."""
    summary = traffic(profile=profile).summary()
    rows = {r.name: r for r in summary.results}
    assert set(rows) == {r.name for r in RULES if r.kind is RuleKind.RESPONSE}
    assert all(r.kind == "response" and r.source == "usagekit" for r in rows.values())
    skipped = {name: row.skipped for name, row in rows.items() if row.skipped is not None}
    reference_only = {r.name for r in RULES if r.profile is Profile.REFERENCE} & set(rows)
    if profile is Profile.CONTRACT:
        assert set(skipped) == reference_only
        assert all("contract profile" in why for why in skipped.values())
    else:  # without --data, the one rule that needs the dataset
        assert skipped == {"matches_reference": "needs --data"}

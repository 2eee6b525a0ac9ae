"""The kit against servers: it passes a correct one and names what is wrong with broken ones.

The correct server here is ``servers.minimal`` -- a plain Starlette
implementation written apart from the connexion mock, so that the kit is not
fitted to one implementation's habits. Each broken server switches on one
``Fault``; the kit must fail and name a rule that says what the fault breaks.
Each ``Variant`` is another correct answer where the contract admits more
than one: the kit must pass it under both profiles -- a false alarm is worse
than a miss. (``test_conformance_mock.py`` runs the kit against the mock.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from factories import CHILD, CHILD_KEY, ODD_AGENTS, OTHER, PARENT, PARENT_KEY, busy_dataset
from servers.minimal import Fault, MinimalServer
from servers.running import serving
from servers.variants import Variant

from usagekit.conformance.config import KitConfig
from usagekit.conformance.outcomes import Summary
from usagekit.conformance.profiles import Profile
from usagekit.conformance.runner import run
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.instants import US
from usagekit.mock.datasets.files import save_dataset

# What each fault breaks: the kit must fail at least one of these rules.
CAUGHT_BY: dict[Fault, set[str]] = {
    Fault.IGNORES_LIMIT: {"bucket_count_within_limit"},
    Fault.LIMIT_OFF_BY_ONE: {"bucket_count_within_limit"},
    Fault.FIXED_OFFSET: {"buckets_follow_calendar"},
    Fault.UTC_LABELS: {"ts_in_requested_zone"},
    Fault.SPARSE_BUCKETS: {"buckets_follow_calendar"},
    Fault.GROUPS_DROP_SMALLEST: {"groupings_sum_to_totals"},
    Fault.UNSORTED_VALUES: {"values_sorted_by_dimensions"},
    Fault.EXTRA_DIMENSION_KEY: {"dimension_keys_match_group_by"},
    Fault.ZONE_500: {"time_zones", "not_a_server_error"},
    Fault.NO_AUTH: {"missing_key_unauthorized"},
    Fault.CROSS_TENANT: {"foreign_account_forbidden"},
    Fault.SUBACCOUNT_READS_PARENT: {"subaccount_cannot_read_parent"},
    Fault.DEFAULT_SPAN_7_DAYS: {"defaults_applied"},
    Fault.DEFAULT_GRANULARITY_HOUR: {"defaults_applied"},
    Fault.FIRST_ERROR_ONLY: {"every_invalid_field_named"},
    Fault.VALIDATION_400: {"status_matches_reference"},
    Fault.COMMA_GROUP_BY_IGNORED: {"group_by_accepts_both_forms"},
    Fault.NAIVE_AS_UTC: {"datetimes_without_offset_read_in_tz"},
    Fault.INCLUSIVE_END: {"split_range_adds_up", "matches_reference"},
    Fault.PARENT_WITHOUT_SUBACCOUNTS: {"scope_includes_subaccounts"},
    Fault.ME_ECHOED: {"me_is_the_keys_account"},
    Fault.META_START_UTC: {"meta_echoes_query"},
    Fault.GROUP_BY_NOT_NORMALISED: {"group_by_duplicates_dropped"},
    Fault.ERROR_SHAPE: {"error_body_shape"},
    Fault.NO_ALLOW_HEADER: {"other_methods_not_allowed"},
    Fault.FIRST_BUCKET_AT_START: {"buckets_follow_calendar"},
    Fault.MERGED_FALL_BACK: {"buckets_follow_calendar"},
    Fault.TZ_CHANGES_TOTALS: {"totals_do_not_depend_on_tz"},
    Fault.UNGROUPED_EMPTY_VALUES: {"dimension_keys_match_group_by"},
    Fault.META_WITHOUT_OPTIONALS: {"meta_echoes_query"},
    Fault.UNGROUPED_NULL_DIMENSIONS: {"dimension_keys_match_group_by"},
    Fault.ABSENT_ACCOUNT_404: {"absent_account_forbidden"},
}

# Faults the published contract allows: the contract profile must pass them.
CONTRACT_ALLOWS = {
    Fault.VALIDATION_400,
    Fault.SPARSE_BUCKETS,
    Fault.UNGROUPED_EMPTY_VALUES,
    Fault.META_WITHOUT_OPTIONALS,
    Fault.UNGROUPED_NULL_DIMENSIONS,
    Fault.ABSENT_ACCOUNT_404,
}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return busy_dataset(int(time.time()) * US)


@pytest.fixture(scope="module")
def data_dir(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dataset")
    save_dataset(dataset, directory)
    return directory


def check(
    dataset: Dataset,
    faults: frozenset[Fault] = frozenset(),
    *,
    variants: frozenset[Variant] = frozenset(),
    profile: Profile = Profile.REFERENCE,
    data: Path | None = None,
    max_examples: int = 5,
) -> Summary:
    app = MinimalServer(dataset=dataset, faults=faults, variants=variants).app()
    with serving(app) as base_url:
        return run(
            KitConfig(
                base_url=base_url,
                api_key=PARENT_KEY,
                account_id=PARENT,
                subaccount_id=CHILD,
                subaccount_key=CHILD_KEY,
                foreign_account_id=OTHER,
                data=data,
                profile=profile,
                max_examples=max_examples,
            )
        )


def failed(summary: Summary) -> set[str]:
    return {result.name for result in summary.results if result.failed}


def explain(summary: Summary) -> str:
    return "\n".join(f"{f.rule}: {f.reason}" for f in summary.findings)


@pytest.mark.slow
@pytest.mark.parametrize("profile", list(Profile))
def test_a_correct_server_conforms(dataset: Dataset, data_dir: Path, profile: Profile) -> None:
    summary = check(dataset, profile=profile, data=data_dir, max_examples=15)
    assert summary.ok, explain(summary)
    ran = {r.name for r in summary.results if r.passed}
    assert "groupings_sum_to_totals" in ran
    assert ("matches_reference" in ran) is (profile is Profile.REFERENCE)
    assert summary.requests > 100


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(Fault), ids=[f.name for f in Fault])
def test_a_broken_server_is_caught_by_the_right_rule(
    dataset: Dataset, data_dir: Path, fault: Fault
) -> None:
    # The kit's own rules catch every fault; schemathesis' generation is left
    # out here to keep 29 runs fast (the correct-server runs include it).
    summary = check(dataset, frozenset({fault}), data=data_dir, max_examples=0)
    assert not summary.ok, f"{fault.name} ({fault.value}) went unnoticed"
    assert failed(summary) & CAUGHT_BY[fault], (
        f"{fault.name} was caught by {sorted(failed(summary))}, expected one of "
        f"{sorted(CAUGHT_BY[fault])}\n{explain(summary)}"
    )


def test_every_fault_has_an_expected_rule() -> None:
    assert set(CAUGHT_BY) == set(Fault)


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(CONTRACT_ALLOWS, key=lambda f: f.name))
def test_the_contract_profile_allows_what_the_contract_allows(
    dataset: Dataset, fault: Fault
) -> None:
    summary = check(dataset, frozenset({fault}), profile=Profile.CONTRACT)
    assert summary.ok, explain(summary)


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(Variant), ids=[v.name for v in Variant])
def test_every_correct_alternative_conforms(
    dataset: Dataset, data_dir: Path, variant: Variant
) -> None:
    summary = check(dataset, variants=frozenset({variant}), data=data_dir, max_examples=5)
    assert summary.ok, f"{variant.name} ({variant.value}) raised a false alarm\n{explain(summary)}"


@pytest.mark.slow
@pytest.mark.parametrize("profile", list(Profile))
def test_a_server_with_every_correct_alternative_conforms(
    dataset: Dataset, data_dir: Path, profile: Profile
) -> None:
    # Each variant alone under the stricter profile above; all at once under both here
    # (the contract profile's rules are the reference's, made more lenient).
    summary = check(
        dataset, variants=frozenset(Variant), profile=profile, data=data_dir, max_examples=15
    )
    assert summary.ok, explain(summary)
    assert "status_matches_reference" in {r.name for r in summary.results if r.passed} or (
        profile is Profile.CONTRACT
    )


@pytest.fixture(scope="module")
def odd_dataset() -> Dataset:
    return busy_dataset(int(time.time()) * US, agents=ODD_AGENTS)


@pytest.mark.slow
@pytest.mark.parametrize(
    "variants",
    [frozenset(), frozenset({Variant.UTF16_ORDER}), frozenset({Variant.JSON_SPELLING})],
    ids=["reference-order", "utf16-order", "json-spelling"],
)
def test_agent_ids_of_any_text_raise_no_false_alarm(
    odd_dataset: Dataset, tmp_path: Path, variants: frozenset[Variant]
) -> None:
    # Agent ids from a user's dataset: escapes in JSON, and an order that differs by code
    # point and by UTF-16 code unit -- the contract says "sorted", not in which collation.
    save_dataset(odd_dataset, tmp_path)
    summary = check(odd_dataset, variants=variants, data=tmp_path, max_examples=5)
    assert summary.ok, explain(summary)
    assert "values_sorted_by_dimensions" in {r.name for r in summary.results if r.passed}


@pytest.mark.slow
def test_agent_ids_of_any_text_out_of_order_are_caught(odd_dataset: Dataset) -> None:
    summary = check(odd_dataset, frozenset({Fault.UNSORTED_VALUES}), max_examples=0)
    assert "values_sorted_by_dimensions" in failed(summary), explain(summary)

"""The rule registry: one decorated function per rule, collected explicitly."""

from __future__ import annotations

import types

import pytest
from exchanges import usage_exchange

from usagekit.conformance.config import KitConfig, Requirement
from usagekit.conformance.errors import BadOptions
from usagekit.conformance.exchange import Exchange
from usagekit.conformance.oracle import Oracle
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import (
    NOT_APPLICABLE,
    Registry,
    RuleKind,
    needs,
    response_rule,
    scenario_rule,
    when,
)
from usagekit.conformance.rules import RULES
from usagekit.conformance.runner import _select
from usagekit.conformance.view import ExchangeView


def view(status: int) -> ExchangeView:
    return ExchangeView(exchange(status), Oracle(config(), None))


def exchange(status: int) -> Exchange:
    return usage_exchange(b"{}", status, headers={})


def make_module() -> types.ModuleType:
    module = types.ModuleType("fake_rules")

    @response_rule(Profile.CONTRACT)
    @when(lambda view: view.exchange.status == 200)
    def only_ok(view):
        """Judges 200s only."""

    @scenario_rule(Profile.REFERENCE, requires=Requirement.DATA)
    def needs_data(ctx):
        """Needs the dataset."""

    for func in (only_ok, needs_data):
        func.__module__ = module.__name__
        setattr(module, func.__name__, func)
    return module


def test_collect_reads_marks_name_kind_profile_and_summary() -> None:
    registry = Registry.collect(make_module())
    assert registry.names() == ["only_ok", "needs_data"]
    first, second = registry
    assert (first.kind, first.profile, first.summary) == (
        RuleKind.RESPONSE,
        Profile.CONTRACT,
        "Judges 200s only.",
    )
    assert (second.kind, second.requires) == (RuleKind.SCENARIO, frozenset({Requirement.DATA}))


def test_a_guard_makes_a_rule_not_applicable() -> None:
    rule = Registry.collect(make_module()).rules[0]
    assert rule.run_response(view(404)) is NOT_APPLICABLE
    assert rule.run_response(view(200)) is None


def test_needs_applies_a_rule_only_when_the_readings_are_there() -> None:
    seen = []

    @needs("ok", "usage")
    def wants_a_usage_body(view):
        seen.append(view.usage)

    assert wants_a_usage_body(view(404)) is NOT_APPLICABLE
    assert wants_a_usage_body(view(200)) is NOT_APPLICABLE  # b"{}" is no usage body
    assert seen == []


def test_needs_refuses_a_reading_the_view_does_not_have() -> None:
    with pytest.raises(ValueError, match="no reading usage_body"):
        needs("usage_body")


def test_duplicate_rule_names_are_refused() -> None:
    module = make_module()
    with pytest.raises(ValueError, match="unique"):
        Registry.collect(module, module)


def test_the_kit_s_rules_are_documented_and_uniquely_named() -> None:
    assert len(RULES) == len(set(RULES.names())) > 40
    for rule in RULES:
        assert rule.summary, rule.name
        assert not rule.summary.startswith(rule.name), rule.name


def test_reference_includes_contract_and_not_the_other_way() -> None:
    assert Profile.REFERENCE.includes(Profile.CONTRACT)
    assert not Profile.CONTRACT.includes(Profile.REFERENCE)


def config(**extra: object) -> KitConfig:
    return KitConfig(base_url="http://x/", api_key="k", account_id="a", **extra)  # type: ignore[arg-type]


def test_selection_follows_profile_requirements_and_choice() -> None:
    selected, skipped = _select(config(profile=Profile.CONTRACT))
    names = {rule.name for rule in selected}
    why = dict(skipped)
    assert "groupings_sum_to_totals" in names
    assert why["buckets_follow_calendar"] == "not part of the contract profile"
    assert why["parent_reads_subaccount"].startswith("needs --subaccount-id")
    selected, skipped = _select(config(only=frozenset({"limit_bounds"})))
    assert [rule.name for rule in selected] == ["limit_bounds"]


def test_unknown_rule_names_are_bad_options() -> None:
    with pytest.raises(BadOptions, match="no_such_rule"):
        _select(config(only=frozenset({"no_such_rule"})))


def test_config_strips_the_base_url_and_pairs_subaccount_options() -> None:
    assert config().base_url == "http://x"
    with pytest.raises(ValueError, match="go together"):
        config(subaccount_id="s")


def test_every_rule_says_which_answers_it_accepts() -> None:
    """No false alarms, written down: each rule names its alternatives, or says there are none."""
    silent = [
        rule.name
        for rule in RULES
        if "Accepts" not in (rule.func.__doc__ or "")
        and "One correct answer" not in (rule.func.__doc__ or "")
    ]
    assert not silent, f"rules whose docstring names no accepted alternative: {silent}"

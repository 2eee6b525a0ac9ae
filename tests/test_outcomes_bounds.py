"""The rules' tally is bounded: a server failing every answer for a new reason (a request
id in its error code or message) cannot grow a long-running proxy's memory without limit."""

from __future__ import annotations

from usagekit.conformance.outcomes import MAX_FINDINGS, MAX_MORE, Finding, Outcomes
from usagekit.conformance.reporting.markdown import render_html, render_markdown
from usagekit.conformance.reporting.terminal import render_summary


def _finding(n: int) -> Finding:
    return Finding(rule="codes", title="Wrong code", reason=f"422 has code 'e{n}'", detail="")


def test_distinct_reasons_past_the_kept_ones_are_counted_in_bounded_memory() -> None:
    outcomes = Outcomes()
    outcomes.declare("codes", source="usagekit", kind="response", profile="contract", summary="s")
    sent = MAX_FINDINGS + MAX_MORE + 500
    for n in [*range(sent), 0, 7]:  # and two reasons seen before
        outcomes.failed("codes", _finding(n))
    tally = outcomes._rules["codes"]
    assert len(tally.more) <= MAX_MORE
    (result,) = outcomes.summary(base_url="http://x", profile="contract", elapsed=1).results
    assert result.failed == sent + 2
    assert result.more == MAX_MORE
    assert result.more_capped
    summary = outcomes.summary(base_url="http://x", profile="contract", elapsed=1)
    said = f"more than {MAX_MORE} more distinct failures"
    for text in (render_markdown(summary), render_html(summary), render_summary(summary)):
        assert said in text


def test_below_the_bound_the_count_is_exact() -> None:
    outcomes = Outcomes()
    outcomes.declare("codes", source="usagekit", kind="response", profile="contract", summary="s")
    for n in [*range(MAX_FINDINGS + 3), 6, 6]:
        outcomes.failed("codes", _finding(n))
    (result,) = outcomes.summary(base_url="http://x", profile="contract", elapsed=1).results
    assert (result.more, result.more_capped) == (3, False)
    summary = outcomes.summary(base_url="http://x", profile="contract", elapsed=1)
    assert "… and 3 more distinct failures" in render_markdown(summary)

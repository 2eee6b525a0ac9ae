"""The rules' tally is bounded: a server failing every answer for a new reason (a request
id in its error code or message) cannot grow a long-running proxy's memory without limit,
nor the Markdown report past what GitHub takes as a step summary."""

from __future__ import annotations

import re

from usagekit.conformance.outcomes import MAX_FINDINGS, MAX_MORE, Finding, Judged, Outcomes
from usagekit.conformance.reporting.markdown import render_markdown
from usagekit.conformance.reporting.page import render_html
from usagekit.conformance.reporting.terminal import render_summary
from usagekit.conformance.results import DETAIL_KEPT, EXCERPT, REASON_KEPT


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


def test_the_markdown_of_the_worst_run_the_bounds_allow_fits_a_github_step_summary() -> None:
    # Every rule fails in MAX_FINDINGS ways and more, each as long as a finding may be: a
    # reason and a detail at their cut, three requests whose excerpts are all NULs.
    outcomes = Outcomes()
    body = "\\x00" * EXCERPT  # as Judged.of shows EXCERPT NUL bytes
    judged = tuple(
        Judged(curl=f"curl -sS 'http://x/{i}?{'a' * 2000}'", status=200, body=body,
               size=EXCERPT, digest="0" * 64)
        for i in range(3)
    )  # fmt: skip
    rules = [f"rule_{n}" for n in range(45)]
    for rule in rules:
        outcomes.declare(rule, source="usagekit", kind="scenario", profile="contract", summary="s")
        for n in range(MAX_FINDINGS + 500):
            reason, detail = f"{n} <b>" + "\x1b" * REASON_KEPT, f"{n}" + "\x00" * DETAIL_KEPT
            outcomes.failed(rule, Finding(rule=rule, title="t", reason=reason, detail=detail,
                                          judged=judged))  # fmt: skip
    summary = outcomes.summary(base_url="http://x", profile="contract", elapsed=1)
    markdown = render_markdown(summary)
    assert len(markdown.encode()) < 1 << 20  # GitHub's step summary refuses more
    # Nothing left out silently: each finding is shown whole, by its reason, or counted.
    whole = markdown.count("Answer judged:") // len(judged)
    headlines = markdown.count("\n#### ")
    (said,) = re.findall(r"(\d+) findings? (?:are|is) shown by (?:their|its) reason only", markdown)
    (left,) = re.findall(r"(\d+) more findings? of (\d+) rules? (?:are|is) not shown", markdown)
    assert headlines - whole == int(said)
    assert headlines + int(left[0]) == len(rules) * MAX_FINDINGS
    assert "the HTML report (--report FILE.html) and the JUnit XML show every one" in markdown
    for rule in rules:  # each failed rule keeps its heading and its count
        assert f"### `{rule}`" in markdown

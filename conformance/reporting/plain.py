"""A finding as plain text lines, the same on the terminal and in JUnit XML."""

from __future__ import annotations

from usagekit.conformance.outcomes import Finding, Judged, Summary, one_line

__all__ = [
    "answer_line",
    "budget_text",
    "finding_lines",
    "headline",
    "not_judged_lines",
    "times",
]


def times(finding: Finding) -> str:
    """How often the rule failed for the finding's reason, when more than once."""
    return f" ({finding.count} times)" if finding.count > 1 else ""


def headline(finding: Finding) -> str:
    """The reason, and how often the rule failed for it."""
    return f"{finding.reason}{times(finding)}"


def answer_line(judged: Judged) -> str:
    """The status and the beginning of the body that was judged, on one line."""
    if judged.status is None or not judged.size:
        return judged.answer
    return f"{judged.answer}: {one_line(judged.body)}"


def finding_lines(finding: Finding, *, detail_lines: int | None = None) -> list[str]:
    """The detail (a diff, say), then each request: how to send it again, what it got."""
    lines: list[str] = []
    if finding.detail and finding.detail != finding.reason:
        lines += finding.detail.splitlines()[:detail_lines]
    for judged in finding.judged:
        lines += [f"reproduce: {judged.curl}", f"  answer: {answer_line(judged)}"]
    return lines


def budget_text(summary: Summary) -> str:
    """What the time budget ended, in one sentence (a summary whose ``budget`` is set)."""
    count = len(summary.not_run)
    return (
        f"{summary.budget}: {count} rule{'s' if count != 1 else ''} not run (no verdict either way)"
    )


def not_judged_lines(summary: Summary) -> list[str]:
    """Exchanges of the endpoint seen but not judged: how many, why, and the first one."""
    if not summary.not_judged:
        return []
    total = sum(count for _, count, _ in summary.not_judged)
    lines = [f"NOT JUDGED ({total} exchanges of the endpoint)"]
    for why, count, example in summary.not_judged:
        lines += [f"  {count}: {why}", f"    first: {example}"]
    return lines

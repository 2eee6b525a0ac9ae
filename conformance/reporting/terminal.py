"""Progress on the terminal as the run goes, and the summary table at the end."""

from __future__ import annotations

from typing import TextIO

from usagekit.conformance.events import (
    Event,
    RuleChecked,
    RunFinished,
    RunStarted,
    StageFinished,
    StageStarted,
)
from usagekit.conformance.outcomes import Summary, visible
from usagekit.conformance.reporting.coverage import coverage_lines, uncovered_text
from usagekit.conformance.reporting.plain import (
    budget_text,
    finding_lines,
    headline,
    not_judged_lines,
)

__all__ = ["TerminalHandler", "render_summary"]


def render_summary(summary: Summary) -> str:
    """The table of rules and every failure with its reproduction."""
    width = max((len(r.name) for r in summary.results), default=10)
    lines = [
        "",
        f"{'rule':<{width}}  {'source':<12} {'passed':>7} {'failed':>7}  status",
        f"{'-' * width}  {'-' * 12} {'-' * 7} {'-' * 7}  {'-' * 20}",
    ]
    lines += [
        f"{r.name:<{width}}  {r.source:<12} {r.passed:>7} {r.failed:>7}  {r.status_text}"
        for r in summary.results
    ]
    findings = summary.findings
    if findings:
        lines += ["", f"FAILURES ({len(findings)})", ""]
        for finding in findings:
            lines.append(f"✗ {finding.rule}: {headline(finding)}")
            lines += [f"    {line}" for line in finding_lines(finding, detail_lines=8)]
            lines.append("")
        for result in summary.results:
            if result.more:
                lines.append(f"… and {result.more_text} more distinct failures of {result.name}")
    lines += coverage_lines(summary.coverage)
    lines += not_judged_lines(summary)
    failed = sum(1 for r in summary.results if r.failed)
    verdict = (
        f"DOES NOT CONFORM ({failed} rules fail)"
        if failed
        else "NOT FINISHED"
        if summary.budget is not None
        else "CONFORMS"
    )
    if summary.budget is not None:  # the run exits 3 (or 1): say why where it ends
        lines.append(f"⏱ {budget_text(summary)}")
    if summary.uncovered:  # the run exits 1 all the same: say why where it ends
        lines.append(f"✗ {uncovered_text(summary.uncovered)}")
    unjudged = sum(count for _, count, _ in summary.not_judged)
    lines.append(
        f"{verdict} — profile {summary.profile}, {summary.requests} requests, "
        + (f"{unjudged} not judged, " if unjudged else "")
        + f"{summary.elapsed:.1f} s"
    )
    return "\n".join(lines)


class TerminalHandler:
    """Prints progress lines while the run goes, then the summary."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def start(self, event: RunStarted) -> None:
        self._print(
            f"usagekit check {event.base_url} — profile {event.profile}, {event.rules} rules"
            + (f", {len(event.skipped)} skipped" if event.skipped else "")
        )

    def handle(self, event: Event) -> None:
        if isinstance(event, StageStarted):
            self._print(f"▶ {event.name}")
        elif isinstance(event, StageFinished):
            self._print(f"  {event.name} done in {event.elapsed:.1f} s")
        elif isinstance(event, RuleChecked):
            mark = "·" if not event.ran else "✓" if event.ok else "✗"
            self._print(f"  {mark} {event.name}" + (f" — {event.reason}" if event.reason else ""))
        elif isinstance(event, RunFinished):
            self._print(render_summary(event.summary))

    def shutdown(self) -> None:
        self.stream.flush()

    def _print(self, text: str) -> None:
        # What a server wrote (a header's escape sequence) must not drive the terminal.
        print(visible(text), file=self.stream, flush=True)

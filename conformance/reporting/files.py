"""Adapters from runner events to report files: the writers stay pure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from usagekit.conformance.events import Event, RunFinished, RunStarted
from usagekit.conformance.outcomes import Summary
from usagekit.conformance.reporting.junit import render_junit
from usagekit.conformance.reporting.markdown import render_html, render_markdown

__all__ = ["FileReport", "junit_report", "report_for"]


class FileReport:
    """Writes one file, rendered from the summary when the run finishes."""

    def __init__(self, path: Path, render: Callable[[Summary], str]) -> None:
        self.path = path
        self.render = render

    def start(self, event: RunStarted) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self.write(event.summary)

    def write(self, summary: Summary) -> None:
        """Write the report of ``summary`` -- also of a run that could not start."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.render(summary), encoding="utf-8")

    def shutdown(self) -> None:
        pass


def junit_report(path: Path) -> FileReport:
    return FileReport(path, render_junit)


def report_for(path: Path) -> FileReport:
    """The report the path's suffix names: .html/.htm HTML, .xml JUnit, else Markdown."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return FileReport(path, render_html)
    if suffix == ".xml":
        return FileReport(path, render_junit)
    return FileReport(path, render_markdown)

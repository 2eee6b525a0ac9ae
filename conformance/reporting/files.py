"""Adapters from runner events to report files: the writers stay pure.

A report is written whole to a temporary file beside it and then renamed over
it, so that a reader -- or a CI job killed mid-write -- never sees half a
report; a long-running proxy rewrites its reports this way while it runs.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from usagekit.conformance.coverage import empty_coverage
from usagekit.conformance.events import Event, RunFinished, RunStarted
from usagekit.conformance.outcomes import Summary
from usagekit.conformance.reporting.junit import render_junit
from usagekit.conformance.reporting.markdown import render_markdown
from usagekit.conformance.reporting.page import render_html

__all__ = [
    "FileReport",
    "coverage_report",
    "junit_report",
    "report_for",
    "unwritable",
    "write_atomically",
    "write_each",
]


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
        write_atomically(self.path, self.render(summary))

    def shutdown(self) -> None:
        pass


def write_atomically(path: Path, text: str) -> None:
    temporary = _temporary(path)
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def unwritable(reports: Iterable[object]) -> str | None:
    """Why a report file cannot be written, found before a run spends its time (its
    directory is made as needed); None when each can be."""
    for report in reports:
        if not isinstance(report, FileReport):
            continue
        try:
            report.path.parent.mkdir(parents=True, exist_ok=True)
            if report.path.is_dir():
                raise IsADirectoryError(21, "Is a directory")
            temporary = _temporary(report.path)
            temporary.touch()
            temporary.unlink()
        except OSError as exc:
            return f"cannot write {report.path}: {exc.strerror or exc}"
    return None


def write_each(reports: Iterable[object], summary: Summary) -> list[str]:
    """Writes each report file of ``summary``; one that cannot be written keeps none of the
    others from being written. Returns why each that could not be, was not."""
    failed = []
    for report in reports:
        if not isinstance(report, FileReport):
            continue
        try:
            report.write(summary)
        except Exception as exc:
            failed.append(f"cannot write {report.path}: {getattr(exc, 'strerror', None) or exc}")
    return failed


def coverage_report(path: Path) -> FileReport:
    """The run's coverage ledger as JSON; of a run that could not start, an empty one
    (the same shape: a CI step reading ``.cells`` needs no special case)."""

    def render(summary: Summary) -> str:
        coverage = summary.coverage if summary.coverage is not None else empty_coverage()
        return json.dumps(coverage, indent=2) + "\n"

    return FileReport(path, render)


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

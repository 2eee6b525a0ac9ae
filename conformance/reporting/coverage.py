"""The coverage section every report carries: cells by family, exercised or not."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["coverage_html", "coverage_lines", "coverage_markdown", "uncovered_text"]


def uncovered_text(uncovered: tuple[str, ...]) -> str:
    """Why a run that may conform still fails: the --min-coverage cells it never exercised."""
    return f"--min-coverage is not met: never exercised {', '.join(uncovered)}"


def _families(coverage: Mapping[str, Any]) -> dict[str, tuple[list[str], list[str]]]:
    """``family -> (exercised "cell xn", not exercised)`` in the ledger's order."""
    families: dict[str, tuple[list[str], list[str]]] = {}
    for cell, count in coverage["cells"].items():
        family, _, value = cell.partition(":")
        seen, unseen = families.setdefault(family, ([], []))
        (seen if count else unseen).append(f"{value} x{count}" if count else value)
    return families


def _headline(coverage: Mapping[str, Any]) -> str:
    cells = coverage["cells"]
    return (
        f"{coverage['exercised']} of {len(cells)} cells exercised "
        f"by {coverage['exchanges']} exchanges of the endpoint"
    )


def coverage_markdown(coverage: Mapping[str, Any] | None) -> list[str]:
    if coverage is None:
        return []
    lines = ["", "## Coverage", "", _headline(coverage) + ".", ""]
    lines += ["| family | exercised | not exercised |", "|---|---|---|"]
    for family, (seen, unseen) in _families(coverage).items():
        lines.append(f"| {family} | {', '.join(seen) or '—'} | {', '.join(unseen) or '—'} |")
    return lines


def coverage_html(coverage: Mapping[str, Any] | None) -> str:
    if coverage is None:
        return ""
    e = html.escape
    rows = "\n".join(
        f"<tr><td>{e(family)}</td><td>{e(', '.join(seen) or '—')}</td>"
        f"<td>{e(', '.join(unseen) or '—')}</td></tr>"
        for family, (seen, unseen) in _families(coverage).items()
    )
    return (
        f"<h2>Coverage</h2><p>{e(_headline(coverage))}.</p>\n"
        "<table><thead><tr><th>family</th><th>exercised</th><th>not exercised</th></tr>"
        f"</thead><tbody>\n{rows}\n</tbody></table>"
    )


def coverage_lines(coverage: Mapping[str, Any] | None) -> list[str]:
    """For the terminal and JUnit: the headline and what was never exercised."""
    if coverage is None:
        return []
    lines = [f"coverage: {_headline(coverage)}"]
    for family, (_, unseen) in _families(coverage).items():
        if unseen:
            lines.append(f"  not exercised {family}: {', '.join(unseen)}")
    return lines

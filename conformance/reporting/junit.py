"""JUnit XML for CI: one test case per rule, failures with their reproductions."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from usagekit.conformance.outcomes import RuleResult, Summary, visible
from usagekit.conformance.reporting.coverage import coverage_lines, uncovered_text
from usagekit.conformance.reporting.plain import (
    budget_text,
    finding_lines,
    headline,
    not_judged_lines,
)

__all__ = ["render_junit"]


def render_junit(summary: Summary) -> str:
    """The summary as a JUnit XML document (pure: plain data in, text out)."""
    if summary.error is not None:
        return _render_error(summary)
    failures = sum(1 for r in summary.results if r.status in ("failed", "tainted"))
    failures += bool(summary.uncovered)
    skipped = sum(1 for r in summary.results if r.status in ("skipped", "not run"))
    extra = bool(summary.uncovered) + (summary.budget is not None)
    suites = ET.Element("testsuites", name="usagekit conformance")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"usagekit conformance ({summary.profile}) {summary.base_url}",
        tests=str(len(summary.results) + extra),
        failures=str(failures),
        errors=str(int(summary.budget is not None)),
        skipped=str(skipped),
        time=f"{summary.elapsed:.3f}",
    )
    _properties(suite, summary)
    for result in summary.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"usagekit.{result.source}.{result.kind}",
            name=result.name,
        )
        if result.failed:
            failure = ET.SubElement(
                case,
                "failure",
                message=result.findings[0].reason if result.findings else "",
                type=result.findings[0].title if result.findings else "failure",
            )
            failure.text = _failure_text(result)
        elif result.status == "tainted":
            # Its own checks held, but not every answer it got: not a green test case.
            ET.SubElement(
                case, "failure", message=result.status_text, type="Failed through other rules"
            ).text = result.status_text
        elif result.status == "skipped":
            ET.SubElement(case, "skipped", message=result.skipped or "")
        elif result.status == "not run":  # the budget's, not the server's: no verdict
            ET.SubElement(case, "skipped", message=result.status_text)
        ET.SubElement(
            case, "system-out"
        ).text = f"{result.summary}\npassed {result.passed}, failed {result.failed}"
    if summary.uncovered:  # a run that exits 1 has a red test case saying why
        case = ET.SubElement(suite, "testcase", classname="usagekit.coverage", name="min_coverage")
        text = uncovered_text(summary.uncovered)
        ET.SubElement(case, "failure", message=text, type="Coverage not met").text = text
    if summary.budget is not None:  # not green, and not the server's failure: the run's
        case = ET.SubElement(suite, "testcase", classname="usagekit.run", name="time_budget")
        text = budget_text(summary)
        ET.SubElement(case, "error", message=text, type="Time budget").text = text
    if summary.coverage is not None or summary.not_judged:
        lines = coverage_lines(summary.coverage) + not_judged_lines(summary)
        ET.SubElement(suite, "system-out").text = "\n".join(lines)
    return _document(suites)


def _properties(suite: ET.Element, summary: Summary) -> None:
    """What judged the run (usagekit, the contract and its SHA-256, tzdata, schemathesis)."""
    properties = ET.SubElement(suite, "properties")
    for name, value in summary.provenance.items():
        ET.SubElement(properties, "property", name=f"usagekit.{name}", value=value)


def _render_error(summary: Summary) -> str:
    """A run that could not start: one errored test case that says why."""
    suites = ET.Element("testsuites", name="usagekit conformance")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"usagekit conformance ({summary.profile}) {summary.base_url}",
        tests="1",
        failures="0",
        errors="1",
        skipped="0",
        time=f"{summary.elapsed:.3f}",
    )
    _properties(suite, summary)
    case = ET.SubElement(suite, "testcase", classname="usagekit.run", name="usagekit check")
    error = ET.SubElement(
        case, "error", message=summary.error or "", type=summary.error_kind or "error"
    )
    error.text = f"could not judge the server ({summary.error_kind}): {summary.error}"
    return _document(suites)


def _document(suites: ET.Element) -> str:
    """The XML 1.0 document: a control character a server wrote (which no such document may
    hold, not even as a reference) is shown escaped."""
    ET.indent(suites)
    return visible(ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n")


def _failure_text(result: RuleResult) -> str:
    parts = []
    for finding in result.findings:
        parts += [headline(finding), *finding_lines(finding), ""]
    return "\n".join(parts)

"""`usagekit --version` and every report say what judged the run."""

from __future__ import annotations

import hashlib
import importlib.metadata
import xml.etree.ElementTree as ET
from pathlib import Path

import schemathesis
import tzdata
import yaml
from click.testing import CliRunner

from usagekit.cli.main import main
from usagekit.conformance.outcomes import Summary
from usagekit.conformance.provenance import provenance
from usagekit.conformance.reporting.junit import render_junit
from usagekit.conformance.reporting.markdown import render_markdown
from usagekit.conformance.reporting.page import render_html

ROOT = Path(__file__).parents[1]
CONTRACT = (ROOT / "openapi.yaml").read_bytes()
SHA = hashlib.sha256(CONTRACT).hexdigest()


def summary() -> Summary:
    return Summary(base_url="http://x.test", profile="reference", results=(), elapsed=1, requests=0)


def test_version_names_the_kit_the_contract_and_the_libraries_in_force() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(" ", 1) for line in result.output.splitlines())
    assert lines == {
        "usagekit": importlib.metadata.version("usagekit"),
        "contract": yaml.safe_load(CONTRACT)["info"]["version"],
        "contract-sha256": SHA,
        "tzdata": f"{importlib.metadata.version('tzdata')} (IANA {tzdata.IANA_VERSION})",
        "schemathesis": schemathesis.__version__,
    }


def test_the_version_is_the_one_in_pyproject() -> None:
    declared = next(
        line.split("=", 1)[1].strip().strip('"')
        for line in (ROOT / "pyproject.toml").read_text().splitlines()
        if line.startswith("version =")
    )
    assert provenance().usagekit == declared


def test_the_changelog_has_an_unreleased_section_and_one_for_the_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = [line for line in changelog.splitlines() if line.startswith("## [")]
    assert headings[0] == "## [Unreleased]"
    assert any(h.startswith(f"## [{provenance().usagekit}] - ") for h in headings), headings


def test_junit_carries_the_provenance_as_suite_properties() -> None:
    suite = ET.fromstring(render_junit(summary())).find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
    assert properties["usagekit.contract-sha256"] == SHA
    assert properties == {f"usagekit.{k}": v for k, v in provenance().items()}
    # JUnit readers expect <properties> before the test cases.
    assert suite[0].tag == "properties"


def test_a_run_that_could_not_start_says_what_would_have_judged_it() -> None:
    aborted = Summary.aborted(base_url="http://x.test", profile="reference", kind="k", error="e")
    suite = ET.fromstring(render_junit(aborted)).find("testsuite")
    assert suite is not None
    assert suite[0].tag == "properties"
    assert SHA in render_markdown(aborted)


def test_markdown_and_html_headers_carry_the_provenance() -> None:
    for text in (render_markdown(summary()), render_html(summary())):
        header = text.split("Conform", 1)[0]
        for name, value in provenance().items():
            assert name in header
            assert value in header
        assert SHA in header

"""`usagekit check --app module:attr`: an ASGI or WSGI app judged in process, no network.

The apps live in ``tests/inprocess_apps.py``: the mock through its own app
factory, the independent server (correct, and with a fault), and the correct
one behind WSGI.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from usagekit.cli.check import check
from usagekit.conformance.inprocess import IN_PROCESS_BASE_URL
from usagekit.mock.datasets.synthetic import DEMO_ACCOUNT_ID, DEMO_API_KEY

TESTS = Path(__file__).parent


def judge(*args: str) -> Result:
    common = ["--app-dir", str(TESTS), "--account-id", DEMO_ACCOUNT_ID, "--max-examples", "3"]
    return CliRunner().invoke(check, [*common, *args], env={"USAGEKIT_API_KEY": DEMO_API_KEY})


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], "--base-url (or --app MODULE:ATTR), --api-key and --account-id are required"),
        (["--app", "inprocess_apps"], "expected module:attribute"),
        (["--app", "no_such_module_here:app"], "cannot import no_such_module_here"),
        (["--app", "inprocess_apps:nothing"], "inprocess_apps has no nothing"),
        (["--app", "inprocess_apps:HOUR"], "is not an ASGI or WSGI application"),
    ],
)
def test_a_bad_target_is_a_usage_error(args: list[str], said: str) -> None:
    result = judge(*args)
    assert result.exit_code == 2, result.output
    assert said in result.output


@pytest.mark.slow
def test_the_mock_through_its_app_factory_conforms(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    result = judge("--app", "inprocess_apps:mock_app", "--factory", "--junit-xml", str(report))
    assert result.exit_code == 0, result.output
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert IN_PROCESS_BASE_URL in suite.get("name", "")
    assert suite.get("failures") == "0"


@pytest.mark.slow
def test_the_independent_server_conforms_in_process() -> None:
    result = judge("--app", "inprocess_apps:minimal")
    assert result.exit_code == 0, result.output
    assert "CONFORMS" in result.output


@pytest.mark.slow
def test_a_wsgi_app_is_judged_too() -> None:
    result = judge("--app", "inprocess_apps:minimal_wsgi")
    assert result.exit_code == 0, result.output
    assert "schemathesis cannot send its auth probe to a WSGI app" in result.output


@pytest.mark.slow
def test_a_fault_is_caught_in_process_with_a_curl_for_where_the_app_would_run() -> None:
    result = judge("--app", "inprocess_apps:minimal_utc_labels")
    assert result.exit_code == 1, result.output
    assert "✗ ts_in_requested_zone" in result.output
    assert 'reproduce: curl -sS -H "X-API-Key: $USAGEKIT_API_KEY" ' in result.output
    assert f" '{IN_PROCESS_BASE_URL}/" in result.output

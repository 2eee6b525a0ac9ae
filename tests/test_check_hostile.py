"""``usagekit check`` against a hostile or broken server: bounded, and with its reports.

A partner points the kit at a server that may misbehave (``servers.hostile``,
a raw asyncio server in a process of its own). Whatever it does, the kit --
run as users run it, a ``usagekit check`` process -- holds its memory and its
time to what it was told, names the request that showed it with a curl, and
writes every report. The process runs under an address-space limit, so that a
kit that read without bound fails here instead of taking the machine.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
from factories import PARENT, PARENT_KEY
from server_support import DATASET, NOW
from servers.hostile import hostile
from servers.minimal import MinimalServer
from servers.running import serving
from starlette.middleware.gzip import GZipMiddleware

from usagekit.conformance.client import _decoded
from usagekit.conformance.config import KitConfig
from usagekit.conformance.recording import TIMEOUTS, TOO_LARGE
from usagekit.conformance.runner import run

USAGEKIT = Path(sys.executable).with_name("usagekit")
#: The kit's address space: far above what it needs, far below what an unbounded read takes.
ADDRESS_SPACE = 3 << 30


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def check(base_url: str, tmp_path: Path, *extra: str) -> tuple[int, str, ET.Element]:
    """One ``usagekit check`` of ``limit_bounds``: its exit status, output and JUnit suite."""
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [str(USAGEKIT), "check", "--base-url", base_url, "--api-key", "sk-k", "--account-id",
         "acct", "--max-examples", "0", "--check", "limit_bounds", "--junit-xml", str(junit),
         "--report", str(tmp_path / "report.md"), *extra],
        capture_output=True, text=True, timeout=120, preexec_fn=_limited,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert (tmp_path / "report.md").exists(), output
    return done.returncode, output, ET.parse(junit).getroot()


def failure_of(suite: ET.Element) -> str:
    failure = suite.find(".//testcase[@name='limit_bounds']/failure")
    assert failure is not None, ET.tostring(suite, encoding="unicode")
    return f"{failure.get('message')}\n{failure.text}"


@pytest.mark.parametrize("mode", ["endless", "chunked", "huge_length", "gzip_bomb", "double_gzip"])
def test_an_answer_past_the_cap_is_a_finding_not_a_read_without_end(
    mode: str, tmp_path: Path
) -> None:
    with hostile(mode) as base_url:
        code, output, suite = check(base_url, tmp_path, "--timeout", "60")
    assert code == 1, output
    failure = failure_of(suite)
    assert "the answer is larger than 32 MiB" in failure, failure
    assert "reproduce: curl -sS" in failure


@pytest.mark.parametrize("mode", ["drip", "head_drip"])
def test_a_server_that_drips_is_held_to_timeout_for_the_whole_answer(
    mode: str, tmp_path: Path
) -> None:
    # A byte every 0.5 s: each read is well within --timeout, the answer never is.
    with hostile(mode, every=0.5) as base_url:
        code, output, suite = check(base_url, tmp_path, "--timeout", "2")
        # The printed curl gets no whole answer in time either (curl's exit 28).
        (curl,) = re.findall(r"reproduce: (curl .*)", output)
        env = {"PATH": os.environ["PATH"], "USAGEKIT_API_KEY": "sk-k"}
        replay = subprocess.run(["sh", "-c", f"{curl} -o /dev/null --max-time 2"], env=env)
        assert replay.returncode == 28, curl
    assert code == 1, output
    assert "no answer within --timeout 2 s" in failure_of(suite)


def test_a_body_of_control_characters_and_markdown_reaches_every_report_harmless(
    tmp_path: Path,
) -> None:
    with hostile("control") as base_url:
        code, output, suite = check(base_url, tmp_path)  # the JUnit XML parses
    assert code == 1, output
    assert not set(output) & {"\x00", "\x1b", "\x9b", "\ufffe"}, repr(output)
    assert "# Conforms\\x00\\x1b[2J\\x9b2J\\ufffe" in failure_of(suite)
    markdown = (tmp_path / "report.md").read_text()
    # The body stays inside its block: a longer fence than any run of backticks in it.
    assert "\n````\n```\n# Conforms\\x00" in markdown, markdown
    assert "\\ufffe\n```\n````\n" in markdown, markdown


@pytest.mark.parametrize(
    ("mode", "rule", "reason"),
    [
        ("endless", TOO_LARGE, "the answer is larger than 32 MiB"),
        ("gzip_bomb", TOO_LARGE, "the answer is larger than 32 MiB"),
        ("drip", TIMEOUTS, "no answer within --timeout 2 s"),
    ],
)
def test_schemathesis_cases_are_held_to_the_same_bounds(
    mode: str, rule: str, reason: str, tmp_path: Path
) -> None:
    with hostile(mode) as base_url:
        code, output, suite = check(base_url, tmp_path, "--timeout", "2", "--max-examples", "1")
    assert code == 1, output
    failure = suite.find(f".//testcase[@name='{rule}']/failure")
    assert failure is not None, output
    assert reason in (failure.text or ""), failure.text
    assert "reproduce: curl -sS" in (failure.text or ""), failure.text


def could_not_judge(suite: ET.Element) -> ET.Element:
    error = suite.find(".//testcase[@name='usagekit check']/error")
    assert error is not None, ET.tostring(suite, encoding="unicode")
    return error


@pytest.mark.parametrize("base_url", ["http://[::1", "localhost:8000", "ftp://127.0.0.1"])
def test_a_base_url_that_is_no_http_url_is_bad_usage_with_every_report(
    base_url: str, tmp_path: Path
) -> None:
    code, output, suite = check(base_url, tmp_path)
    assert code == 2, output
    error = could_not_judge(suite)
    assert error.get("type") == "bad usage", error.text
    assert "--base-url" in (error.get("message") or ""), error.text


def test_json_nested_too_deep_to_read_is_not_json_even_in_preflight(tmp_path: Path) -> None:
    # Preflight reads the answer to `--account-id me` for the hint of whose key it is.
    with hostile("deep", start=0) as base_url:
        code, output, suite = check(base_url, tmp_path, "--account-id", "me")
    assert code == 2, output
    error = could_not_judge(suite)
    assert error.get("type") == "bad usage", error.text
    assert "--account-id me" in (error.get("message") or ""), error.text


def test_a_correct_server_that_compresses_its_answers_passes() -> None:
    app = GZipMiddleware(MinimalServer(dataset=DATASET, now=NOW).app(), minimum_size=0)
    with serving(app) as base_url:
        summary = run(
            KitConfig(
                base_url=base_url, api_key=PARENT_KEY, account_id=PARENT, server_now=NOW,
                max_examples=0, only=frozenset({"limit_bounds", "groupings_sum_to_totals"}),
            )
        )  # fmt: skip
    assert summary.ok, [(f.rule, f.reason) for f in summary.findings]
    assert all(r.passed for r in summary.results if r.skipped is None)


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
def test_deflate_is_read_with_or_without_its_zlib_wrapper(wbits: int) -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    undone = _decoded(packer.compress(b'{"a": 1}') + packer.flush(), "deflate")
    assert (undone.body, undone.undecoded) == (b'{"a": 1}', "")


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("false_gzip", "Content-Encoding says gzip, but the body is not the gzip it says it is"),
        ("brotli", "the answer is in br (Content-Encoding: br), which the request did not accept"),
    ],
)
def test_an_answer_no_client_can_decode_fails_the_coding_rule(
    mode: str, why: str, tmp_path: Path
) -> None:
    # The rule the proxy and a replay judge it by; before, a false gzip was "no answer" of
    # whichever rule asked, and br (never offered) was judged as its bytes.
    with hostile(mode) as base_url:
        code, output, suite = check(
            base_url, tmp_path, "--check", "content_encoding_readable", "--check", "limit_bounds"
        )
    assert code == 1, output
    failure = suite.find(".//testcase[@name='content_encoding_readable']/failure")
    assert failure is not None, ET.tostring(suite, encoding="unicode")
    text = f"{failure.get('message')}\n{failure.text}"
    assert why in text, text
    assert "reproduce: curl -sS" in text
    assert "no answer" not in failure_of(suite)  # limit_bounds judged the 422 it was sent


def test_a_redirect_is_the_servers_answer_and_judged(tmp_path: Path) -> None:
    # As check --replay judges a 3xx in a HAR (tests/test_har_foreign.py).
    with hostile("redirect") as base_url:
        code, output, suite = check(
            base_url, tmp_path, "--check", "limit_bounds", "--check", "status_matches_reference"
        )
    assert code == 1, output
    failure = suite.find(".//testcase[@name='status_matches_reference']/failure")
    assert failure is not None, ET.tostring(suite, encoding="unicode")
    assert "302" in f"{failure.get('message')}\n{failure.text}"

"""``usagekit check`` against a server that rate-limits every request for an hour: bounded.

A 429's ``Retry-After`` is waited out at most :data:`MAX_WAIT` and at most
``--retries`` times, for schemathesis' generated cases as for the kit's own
requests: schemathesis by itself waits up to 60 s, three times per case, so that
a server answering ``429 Retry-After: 3600`` stretched a run to hours.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from factories import PARENT, PARENT_KEY
from server_support import DATASET, NOW
from servers.hostile import LIMITED, hostile
from servers.minimal import MinimalServer
from servers.running import serving

from usagekit.conformance.client import MAX_WAIT
from usagekit.conformance.config import KitConfig
from usagekit.conformance.runner import run

USAGEKIT = Path(sys.executable).with_name("usagekit")
#: Far longer than the run needs without waits (a few seconds), far shorter than
#: one case of schemathesis' own waits (3 x 60 s).
BOUND = 90.0


def test_schemathesis_cases_wait_out_a_429_only_as_retries_and_max_wait_allow(
    tmp_path: Path,
) -> None:
    assert MAX_WAIT < BOUND / 3
    junit = tmp_path / "junit.xml"
    with hostile("limited") as base_url:
        try:
            done = subprocess.run(
                [str(USAGEKIT), "check", "--base-url", base_url, "--api-key", "sk-k",
                 "--account-id", "acct", "--max-examples", "1", "--retries", "0",
                 "--check", "limit_bounds", "--junit-xml", str(junit)],
                capture_output=True, text=True, timeout=BOUND,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"still waiting on the 429s after {BOUND:g} s") from exc
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    # The 429 that persisted (no retry asked for) is what limit_bounds judged, with its curl.
    failure = ET.parse(junit).getroot().find(".//testcase[@name='limit_bounds']/failure")
    assert failure is not None, output
    assert "429" in (failure.text or ""), failure.text
    assert "reproduce: curl -sS" in (failure.text or ""), failure.text


class LimitedOnce:
    """Answers the first try of every distinct request of the endpoint with a 429."""

    def __init__(self, app: Any) -> None:
        self.app, self.seen = app, Counter[tuple[str, bytes]]()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            request = (scope["path"], scope["query_string"])
            self.seen[request] += 1
            if self.seen[request] == 1:
                headers = [(b"content-type", b"application/json"), (b"retry-after", b"0")]
                await send({"type": "http.response.start", "status": 429, "headers": headers})
                await send({"type": "http.response.body", "body": LIMITED})
                return
        await self.app(scope, receive, send)


def test_schemathesis_cases_are_sent_again_after_a_429() -> None:
    app = LimitedOnce(MinimalServer(dataset=DATASET, now=NOW).app())
    with serving(app) as base_url:
        summary = run(
            KitConfig(
                base_url=base_url, api_key=PARENT_KEY, account_id=PARENT, server_now=NOW,
                max_examples=2, retries=1, only=frozenset({"limit_bounds"}),
            )
        )  # fmt: skip
    assert summary.ok, [(f.rule, f.reason, f.curl) for f in summary.findings]
    # The kit's requests and schemathesis' cases alike: none left at its 429.
    assert len(app.seen) > 10, app.seen
    assert min(app.seen.values()) >= 2, [r for r, n in app.seen.items() if n < 2]

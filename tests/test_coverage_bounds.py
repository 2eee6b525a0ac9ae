"""The coverage ledger is bounded: no traffic grows it, or the reports written from it.

A real ``usagekit proxy`` in front of a raw upstream that answers every request with
an error code never seen before -- a backend that puts a request id in its codes --
and with codes that would write a report's Markdown or a terminal's colours.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from proxy_support import proxy_process
from servers.threaded import in_thread

from usagekit.conformance.coverage import contract_ledger
from usagekit.mock.core.ledger import MAX_UNKNOWN

USAGE = "/v1/accounts/me/analytics/usage"
HOSTILE = "a|b\n<script>alert(1)</script>\x1b[31mred"


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            number = request.split(b"n=", 1)[1].split(b" ", 1)[0].decode()
            code = HOSTILE if number == "hostile" else f"e{number}-{'k' * 20}"
            body = json.dumps({"code": code, "message": "m"}).encode()
            head = b"HTTP/1.1 422 X\r\ncontent-type: application/json\r\n"
            writer.write(head + b"content-length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def unique_codes() -> AbstractContextManager[str]:
    """An upstream whose 422s each carry a new code (``n`` in the query names it)."""
    return in_thread(_handle)


@pytest.mark.slow
def test_unique_error_codes_from_an_upstream_do_not_grow_the_ledger(tmp_path: Path) -> None:
    sent = 400
    report, coverage_json = tmp_path / "r.md", tmp_path / "c.json"
    args = ["--report", str(report), "--coverage-json", str(coverage_json)]
    with unique_codes() as upstream, proxy_process(upstream, *args) as (base, process):
        # A violation's line per new code: read, lest a full pipe stall the proxy.
        threading.Thread(target=process.stderr.read, daemon=True).start()  # type: ignore[union-attr]
        with httpx.Client(base_url=base, headers={"X-API-Key": "sk-x"}) as client:
            for n in [*map(str, range(sent)), "hostile"]:
                assert client.get(USAGE, params={"n": n}).status_code == 422
            live = client.get("/_usagekit/coverage").json()
        process.send_signal(signal.SIGINT)
        process.wait(30)
    known = len(contract_ledger().known)
    for ledger in (live, json.loads(coverage_json.read_text())):
        assert ledger["exchanges"] == sent + 1
        assert len(ledger["cells"]) <= known + MAX_UNKNOWN + 1, len(ledger["cells"])
        # The codes past the first few, and any that is not a plain token, count as one.
        assert ledger["cells"]["error:(other)"] == sent + 1 - MAX_UNKNOWN
        assert not [c for c in ledger["cells"] if "script" in c or "|" in c or "\n" in c]
    text = report.read_text()
    assert "<script>" not in text
    assert "\x1b" not in text
    assert len(text) < 20_000, len(text)


def test_cells_outside_the_catalogue_are_kept_by_name_up_to_a_bound() -> None:
    ledger = contract_ledger()
    for n in range(3 * MAX_UNKNOWN):
        ledger.record(("status:422", f"error:code_{n}"))
    ledger.record(("status:422", "error:" + "x" * 65))  # plain, but too long to be a name
    ledger.add({"error:code_0": 2, "error:another": 5, "status:999": 1}, 3)
    counts = ledger.counts()
    assert [c for c in counts if c.startswith("error:code_")] == [
        f"error:code_{n}" for n in range(MAX_UNKNOWN)
    ]
    assert counts["error:code_0"] == 3
    assert counts["error:(other)"] == 2 * MAX_UNKNOWN + 1 + 5
    assert counts["status:(other)"] == 1
    assert counts["status:422"] == 3 * MAX_UNKNOWN + 1
    assert ledger.exchanges == 3 * MAX_UNKNOWN + 1 + 3

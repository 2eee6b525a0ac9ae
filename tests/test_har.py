"""HAR files: valid HAR 1.2 after every entry, keys redacted, crash-safe, and read from browsers."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qsl

import httpx
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from servers.running import serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from usagekit.conformance import harfile
from usagekit.conformance.config import KitConfig
from usagekit.conformance.errors import BadOptions
from usagekit.conformance.har import REDACTED, HarWriter, Recorded, query_params
from usagekit.conformance.harentry import CUT_SHORT
from usagekit.conformance.harfile import read_har
from usagekit.conformance.proxy import MAX_RECORDED, ValidationProxy
from usagekit.conformance.traffic import Traffic

DATA = Path(__file__).parent / "data"
SCHEMA = json.loads((DATA / "har-1.2.schema.json").read_text(encoding="utf-8"))
KEY = "sk-live-do-not-leak-0123456789"
SESSION = "session=s3cr3t-do-not-leak-9876; Path=/; HttpOnly"


def har_errors(path: Path) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    document = json.loads(path.read_bytes())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def recorded(n: int = 0, content: bytes = b'{"meta": {}, "data": []}') -> Recorded:
    return Recorded(
        started=1_700_000_000.0 + n,
        method="GET",
        url=f"http://127.0.0.1:9/v1/accounts/acc_1/analytics/usage?limit={n + 1}&tz=UTC",
        request_headers=(("X-API-Key", KEY), ("Accept", "application/json"), ("Cookie", SESSION)),
        status=200,
        reason="OK",
        response_headers=(("content-type", "application/json"), ("Set-Cookie", SESSION)),
        content=content,
        elapsed=0.0123,
    )


def test_the_schema_is_a_valid_json_schema_that_rejects_a_broken_har() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert not validator.is_valid({"log": {"version": "1.2", "creator": {}, "entries": []}})
    assert not validator.is_valid(
        {"log": {"version": "1.1", "creator": {"name": "x", "version": "1"}, "entries": []}}
    )


def test_the_file_is_valid_har_after_every_entry(tmp_path: Path) -> None:
    path = tmp_path / "traffic.har"
    writer = HarWriter(path, "usagekit proxy", "0.1.0")
    assert har_errors(path) == []
    assert read_har(path) == []
    for n in range(3):
        writer.add(recorded(n))
        assert har_errors(path) == []
        assert len(read_har(path)) == n + 1
    writer.close()
    entries = json.loads(path.read_bytes())["log"]["entries"]
    assert [e["request"]["queryString"][0] for e in entries] == [
        {"name": "limit", "value": str(n + 1)} for n in range(3)
    ]


def test_keys_and_cookies_never_reach_the_disk(tmp_path: Path) -> None:
    path = tmp_path / "traffic.har"
    writer = HarWriter(path, "usagekit proxy", "0.1.0")
    writer.add(recorded())
    writer.close()
    text = path.read_text(encoding="utf-8")
    assert KEY not in text
    assert "s3cr3t" not in text  # neither the cookie sent nor the one the answer set
    (entry,) = read_har(path)
    assert entry.header("x-api-key") == REDACTED
    assert entry.header("cookie") == REDACTED
    assert dict(entry.response_headers) == {
        "content-type": "application/json",
        "Set-Cookie": REDACTED,
    }


def test_a_round_trip_keeps_what_the_rules_read(tmp_path: Path) -> None:
    path = tmp_path / "traffic.har"
    writer = HarWriter(path, "usagekit proxy", "0.1.0")
    binary = bytes(range(256))
    writer.add(recorded(0, content=binary))
    writer.add(recorded(1, content='{"ü": 1}'.encode()))
    writer.close()
    first, second = read_har(path)
    assert first.content == binary
    assert second.content == '{"ü": 1}'.encode()
    assert second.params == (("limit", "2"), ("tz", "UTC"))
    assert second.status == 200
    assert abs(second.elapsed - 0.0123) < 1e-6
    assert second.started == pytest.approx(1_700_000_001.0)


def test_a_file_cut_mid_entry_gives_the_entries_before_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "traffic.har"
    writer = HarWriter(path, "usagekit proxy", "0.1.0")
    for n in range(3):
        writer.add(recorded(n))
    writer.close()
    whole = path.read_bytes()
    cut = whole.rindex(b'{"startedDateTime"') + 40  # inside the third entry
    path.write_bytes(whole[:cut])
    assert [e.params[0] for e in read_har(path)] == [("limit", "1"), ("limit", "2")]


_WRITER = """
import sys, time
from pathlib import Path
from usagekit.conformance.har import HarWriter, Recorded
writer = HarWriter(Path(sys.argv[1]), "usagekit proxy", "0.1.0")
n = 0
while True:
    writer.add(Recorded(started=time.time(), method="GET", url=f"http://h/x?n={n}",
        request_headers=(), status=200, reason="OK", response_headers=(),
        content=b"x" * 50_000, elapsed=0.001))
    print(n, flush=True)
    n += 1
"""


def test_a_killed_writer_loses_at_most_the_entry_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "killed.har"
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    acknowledged = -1
    deadline = time.monotonic() + 30
    while acknowledged < 200 and time.monotonic() < deadline:
        acknowledged = int(process.stdout.readline())
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    entries = read_har(path)
    # Every entry written before the last acknowledgement survives, in order.
    assert len(entries) >= acknowledged + 1
    assert [e.params[0][1] for e in entries] == [str(n) for n in range(len(entries))]


def test_a_browser_export_reads(tmp_path: Path) -> None:
    assert har_errors(DATA / "devtools-export.har") == []  # the schema takes a real export
    entries = read_har(DATA / "devtools-export.har")
    usage = [e for e in entries if "/analytics/usage" in e.url]
    assert len(entries) == 4
    assert len(usage) == 2
    first, second = usage
    assert first.header(":authority") is None  # HTTP/2 pseudo-headers are not headers
    assert first.header("x-api-key") is not None
    assert json.loads(first.content)["meta"]["granularity"] == "day"
    assert json.loads(second.content)["code"] == "validation_error"  # base64 in the export
    assert first.params == (("start", "2024-03-01T00:00:00Z"), ("end", "2024-03-03T00:00:00Z"))


@pytest.mark.parametrize(
    ("text", "message"),
    [("not json at all", "not a HAR file"), ('{"log": {"entries": {}}}', "not a list")],
)
def test_a_file_that_is_not_a_har_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.har"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadOptions, match=message):
        read_har(path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BadOptions, match="No such file"):
        read_har(tmp_path / "absent.har")


@pytest.mark.parametrize(
    "query",
    [
        "",
        "tz=UTC&limit=24",
        "group_by=agent,type&group_by=&&limit",
        "=&a==b&&=x&tz=Europe/Vienna&",
        "start=2024-01-01T00:00:00%2B01:00&tz=America%2FNew_York",
        "a+b=c+d&e=%zz&f=%E2%82%AC",
        "end=2024-01-02T00:00:00+05:30",
    ],
)
def test_a_query_is_read_as_parse_qsl_reads_it(query: str) -> None:
    assert query_params(query) == tuple(parse_qsl(query, keep_blank_values=True))


_AWKWARD = st.text(alphabet='\\"{}[],: aé\U0001f600\t', max_size=40)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(_AWKWARD, min_size=1, max_size=4), chunk=st.integers(1, 64))
def test_entries_are_read_alike_whatever_the_chunks(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], chunk: int
) -> None:
    """Strings of quotes, backslashes and brackets, cut anywhere by the reads."""
    path = tmp_path_factory.mktemp("chunks") / "t.har"
    writer = HarWriter(path, "usagekit proxy", "0.1.0")
    for n, text in enumerate(texts):
        writer.add(dataclasses.replace(recorded(n, text.encode()), reason=text))
    writer.close()
    whole = read_har(path)
    assert [e.content for e in whole] == [t.encode() for t in texts]
    with mock.patch.object(harfile, "CHUNK", chunk):
        assert read_har(path) == whole
        # Too large to hold, every one: each passed over, none lost, none run together.
        with mock.patch.object(harfile, "MAX_ENTRY", chunk):
            over = read_har(path)
    assert len(over) == len(texts)
    assert {e.unjudged for e in over} == {harfile.TOO_LARGE}


async def _download(request: Request) -> Response:
    size = int(request.query_params["size"])
    if request.query_params.get("chunked"):

        async def parts() -> AsyncIterator[bytes]:
            for at in range(0, size, 300_000):
                yield b"x" * min(300_000, size - at)

        return StreamingResponse(parts(), media_type="application/octet-stream")
    return Response(b"x" * size, media_type="application/octet-stream")


DOWNLOADS = Starlette(routes=[Route("/files/{name}", _download)])


def _recorded_through(upstream: str, path: Path, targets: list[str]) -> list[int]:
    """``targets`` through a recording proxy in front of ``upstream``: the sizes got."""
    recorder = HarWriter(path, "usagekit proxy", "test")
    judge = Traffic(KitConfig(base_url=upstream, api_key="", account_id=""))
    proxy = ValidationProxy(upstream, judge, recorder=recorder)

    async def go() -> list[int]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=proxy), base_url="http://proxy.test"
        ) as client:
            sizes = [len((await client.get(target)).content) for target in targets]
        await proxy.aclose()
        return sizes

    try:
        return asyncio.run(go())
    finally:
        recorder.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_a_streamed_answer_cut_at_the_recorders_limit_is_marked_cut(
    tmp_path: Path, chunked: bool
) -> None:
    path = tmp_path / "t.har"
    sizes = [MAX_RECORDED + 700_001, MAX_RECORDED, 10]
    flag = "&chunked=1" if chunked else ""
    with serving(DOWNLOADS) as upstream:
        got = _recorded_through(upstream, path, [f"/files/f?size={n}{flag}" for n in sizes])
    assert got == sizes  # the client gets every byte, whatever the recording keeps
    assert har_errors(path) == []
    cut, whole, small = json.loads(path.read_bytes())["log"]["entries"]
    content = cut["response"]["content"]
    assert content["_truncated"] is True
    assert f"of {sizes[0]} bytes" in content["comment"]
    assert content["size"] == len(content["text"]) == MAX_RECORDED
    assert cut["response"]["bodySize"] == sizes[0]
    # HAR 1.2: a field of one's own starts with an underscore.
    assert {k for k in content if k not in ("size", "mimeType", "text", "encoding", "comment")} == {
        "_truncated"
    }
    for entry in (whole, small):  # a body the recording holds whole is not marked
        assert set(entry["response"]["content"]) == {"size", "mimeType", "text"}
    assert [e.unjudged for e in read_har(path)] == [CUT_SHORT, "", ""]

"""Content codings through ``usagekit proxy`` and in the replay of its recording.

A real proxy process in front of a raw asyncio upstream (a thread of this
process) that answers the endpoint with a correct 422 in the contract's shape,
written in the coding the request's ``mode`` names. A client that gets an
answer it cannot decode -- a head that says gzip over plain JSON, or ``br``
it never offered -- has no answer at all: the rule ``content_encoding_readable``
names it, live and in ``check --replay`` of the recording alike. Every correct
coding passes, and ``br`` the request did accept is not judged (no brotli here).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from proxy_support import proxy_process
from servers.threaded import in_thread

pytestmark = pytest.mark.slow

USAGEKIT = Path(sys.executable).with_name("usagekit")
#: limit=0 is out of range: a 422 naming it is the reference's answer, whoever asks.
USAGE = "/v1/accounts/me/analytics/usage?limit=0"
REFUSAL = (
    b'{"code":"validation_error","message":"The request is invalid.",'
    b'"errors":[{"field":"query.limit","message":"must be between 1 and 500"}]}'
)
RULE = "content_encoding_readable"


def _deflated(wbits: int) -> Callable[[bytes], bytes]:
    def pack(body: bytes) -> bytes:
        packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
        return packer.compress(body) + packer.flush()

    return pack


#: mode: (Content-Encoding, what the body becomes)
CODINGS: dict[str, tuple[bytes | None, Callable[[bytes], bytes]]] = {
    "plain": (None, bytes),
    "identity": (b"identity", bytes),
    "gzip": (b"gzip", _deflated(31)),
    "x_gzip": (b"x-gzip", _deflated(31)),
    "gzip_upper": (b"GZIP", _deflated(31)),
    "deflate_zlib": (b"deflate", _deflated(zlib.MAX_WBITS)),
    "deflate_raw": (b"deflate", _deflated(-zlib.MAX_WBITS)),
    "false_gzip": (b"gzip", bytes),  # says gzip, is the plain JSON
    "false_deflate": (b"deflate", bytes),
    "br": (b"br", bytes),  # no brotli here: whatever the bytes, the kit cannot read them
}


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            mode = request.split(b"mode=", 1)[1].split(b" ", 1)[0].split(b"&")[0].decode()
            coding, pack = CODINGS[mode]
            body = pack(REFUSAL)
            fields = [b"content-type: application/json", b"content-length: %d" % len(body)]
            if coding is not None:
                fields.append(b"content-encoding: " + coding)
            writer.write(b"\r\n".join([b"HTTP/1.1 422 X", *fields]) + b"\r\n\r\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextmanager
def proxied(*args: str) -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    """A real proxy in front of the upstream: its URL, and its running tally."""
    with in_thread(_handle) as upstream, proxy_process(upstream, *args) as (base, process):
        yield base, lambda: httpx.get(f"{base}/_usagekit/violations").json()
        assert process.poll() is None, "the proxy died"


def _ask(base: str, mode: str, accept: str = "gzip, deflate") -> tuple[httpx.Response, bytes]:
    """The proxy's answer, and its body as it came (no client can decode some of them)."""
    headers = {"X-API-Key": "sk-x", "Accept-Encoding": accept}
    with httpx.stream("GET", f"{base}{USAGE}&mode={mode}", headers=headers, timeout=30) as got:
        return got, b"".join(got.iter_raw())


def _raw_get(base: str, target: str) -> bytes:
    """A GET with no Accept-Encoding at all (httpx always sends one), its whole answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-Key: sk-x\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


CORRECT = ["plain", "identity", "gzip", "x_gzip", "gzip_upper", "deflate_zlib", "deflate_raw"]


def test_every_correct_coding_passes_and_reaches_the_client_as_sent() -> None:
    with proxied() as (base, tally):
        for mode in CORRECT:
            answer, body = _ask(base, mode)
            assert answer.status_code == 422, (mode, body)
            assert answer.headers["x-usagekit-violations"] == "0", (mode, tally())
            assert body == CODINGS[mode][1](REFUSAL), mode  # as the upstream sent it
        assert tally()["violations"] == [], tally()


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("false_gzip", "Content-Encoding says gzip, but the body is not the gzip it says it is"),
        ("false_deflate", "Content-Encoding says deflate, but the body is not the deflate"),
    ],
)
def test_a_body_that_is_not_its_coding_is_a_violation(mode: str, why: str) -> None:
    with proxied() as (base, tally):
        # httpx, as any client, cannot read it
        with pytest.raises(httpx.DecodingError):
            httpx.get(f"{base}{USAGE}&mode={mode}", headers={"X-API-Key": "sk-x"}, timeout=30)
        answer, body = _ask(base, mode, accept="identity;q=0.5, gzip, deflate")
        assert (answer.status_code, body) == (422, REFUSAL)  # as the upstream sent it
        assert answer.headers["x-usagekit-violations"] == "1", tally()
        assert answer.headers["x-usagekit-rules"] == RULE
        [violation] = tally()["violations"]
    assert violation["rule"] == RULE
    assert why in violation["reason"], violation
    assert "no client can decode the answer" in violation["reason"]
    assert "--compressed" in violation["curl"]


def test_a_strict_proxy_answers_a_coding_no_client_can_read_with_its_502() -> None:
    with proxied("--strict") as (base, _):
        answer, raw = _ask(base, "false_gzip")
    assert answer.status_code == 502
    body = json.loads(raw)
    assert body["code"] == "upstream_violation"
    assert [e["field"] for e in body["errors"]] == [RULE]


def test_br_the_client_did_not_offer_is_a_violation() -> None:
    with proxied() as (base, tally):
        # The proxy forwards only the codings it reads: the upstream was offered gzip alone.
        answer, _ = _ask(base, "br", accept="gzip, br")
        assert answer.headers["x-usagekit-violations"] == "1", tally()
        [violation] = tally()["violations"]
    assert violation["rule"] == RULE
    assert "the answer is in br" in violation["reason"]
    assert "did not accept (Accept-Encoding: 'gzip'" in violation["reason"], violation


def test_br_to_a_request_that_offered_any_coding_is_not_judged() -> None:
    # No Accept-Encoding: any coding is acceptable (RFC 9110 12.5.3), and the kit has no brotli.
    with proxied() as (base, tally):
        answer = _raw_get(base, f"{USAGE}&mode=br")
        answer_again = _raw_get(base, f"{USAGE}&mode=br")  # a repeat: not judged either
        seen = tally()
    assert b"\r\nx-usagekit-violations: 0\r\n" in answer.lower(), answer[:400]
    assert answer.split(b"\r\n\r\n", 1)[1] == answer_again.split(b"\r\n\r\n", 1)[1] == REFUSAL
    assert seen["violations"] == [], seen
    [unjudged] = seen["not_judged"]
    assert unjudged["why"].startswith("not judged (br)"), unjudged
    assert unjudged["count"] == 2


def _replayed(har: Path, tmp_path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(USAGEKIT), "check", "--replay", str(har), "--now", "2024-04-02T00:00:00Z",
         "--report", str(tmp_path / "replay.md")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return {"code": done.returncode, "output": done.stdout + done.stderr}


def test_the_replay_of_the_recording_gives_the_live_verdicts(tmp_path: Path) -> None:
    har = tmp_path / "live.har"
    with proxied("--record", str(har)) as (base, tally):
        for mode in CORRECT:
            _ask(base, mode)
        _ask(base, "false_gzip", accept="gzip")
        _raw_get(base, f"{USAGE}&mode=br")
        live = tally()
    assert [v["rule"] for v in live["violations"]] == [RULE]
    entries = json.loads(har.read_text())["log"]["entries"]
    marked = [e["response"]["content"] for e in entries if "_undecoded" in e["response"]["content"]]
    assert len(marked) == 2, marked  # the false gzip, and the br kept as it came
    replayed = _replayed(har, tmp_path)
    assert replayed["code"] == 1, replayed["output"]
    report = (tmp_path / "replay.md").read_text()
    assert RULE in report
    assert "not the gzip it says it is" in report
    assert "not judged (br)" in report
    assert "1 not judged" in replayed["output"], replayed["output"]

"""Raw requests with a chosen ``Host`` (or none), for the DNS-rebinding tests of both servers."""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

USAGEKIT = str(Path(sys.executable).with_name("usagekit"))
DEMO_KEY = "sk-usagekit-demo"
ME = "/v1/accounts/me/analytics/usage"
EVIL = "evil.example"


@dataclass(frozen=True, slots=True)
class Raw:
    status: int
    head: str  # lower-cased status line and headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def ask(
    base: str, path: str, host: str | None, *, key: str | None = DEMO_KEY, version: str = "1.1"
) -> Raw:
    """``GET path`` on a new connection, with ``Host: host`` (no Host at all for ``None``)."""
    return exchange(base, [request(path, host, key=key, version=version, close=True)])[0]


def request(
    path: str, host: str | None, *, key: str | None = DEMO_KEY, version: str = "1.1",
    close: bool = False,
) -> bytes:  # fmt: skip
    lines = [f"GET {path} HTTP/{version}"]
    lines += [f"Host: {host}"] if host is not None else []
    lines += [f"X-API-Key: {key}"] if key else []
    lines += ["Connection: close"] if close else []
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange(base: str, requests: list[bytes]) -> list[Raw]:
    """Each of ``requests`` on one connection, in turn, and its answer (its body as long as
    its ``content-length``)."""
    address = urlsplit(base)
    answers = []
    with socket.create_connection((address.hostname, address.port), timeout=20) as sock:
        buffered = b""
        for sent in requests:
            sock.sendall(sent)
            while b"\r\n\r\n" not in buffered:
                chunk = sock.recv(65536)
                assert chunk, f"closed before an answer to {sent[:80]!r}"
                buffered += chunk
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            text = head.decode("latin-1").lower()
            length = next(
                int(line.split(":", 1)[1])
                for line in text.split("\r\n")
                if line.startswith("content-length:")
            )
            while len(buffered) < length:
                chunk = sock.recv(65536)
                assert chunk, "closed within a body"
                buffered += chunk
            body, buffered = buffered[:length], buffered[length:]
            answers.append(Raw(int(text.split()[1]), text, body))
    return answers


def refused(answer: Raw, host: str) -> bool:
    """Whether ``answer`` is the refusal of ``host``: a 400 in the contract's error shape
    that says how to allow it."""
    if answer.status != 400 or "content-type: application/json" not in answer.head:
        return False
    body = answer.json()
    name = host.rpartition(":")[0] if host.count(":") == 1 else host
    return body["code"] == "bad_request" and f"--allowed-host {name.lower()}" in body["detail"]

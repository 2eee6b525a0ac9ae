"""A hostile or broken server under test, on a raw asyncio socket, in a process of its own.

``python -m servers.hostile --port N --mode MODE`` answers the first request
of the endpoint (the kit's preflight) with a plain 422 in the contract's shape,
and every later one as ``MODE`` says; ``--from 0`` misbehaves from the first
request on. Any other path (schemathesis probes the root) gets a plain 404, or
with ``--root MODE`` (``endless``, ``drip``) that mode's answer from the first.
:func:`hostile` starts it for the length of a ``with`` block. What a partner's
server may do to the kit:

* ``endless`` / ``chunked`` / ``huge_length``: a 200 whose body never ends (read
  to the connection's end, chunked, or announced as a terabyte);
* ``drip`` / ``head_drip``: a byte every ``--every`` seconds, of the body or of the head;
* ``gzip_bomb`` / ``double_gzip``: 1 GiB of zeros, gzipped once or twice;
* ``silent``, ``reset``, ``garbage``: no answer, a reset, not HTTP at all;
* ``deep``: a 200 of JSON nested 100 000 deep; ``latin1``: a 200 that is not UTF-8;
* ``control``: a 200 of control characters and Markdown (:data:`CONTROL`);
* ``limited``: a 429 in the contract's shape that says to come back in an hour;
* ``long``: a 422 whose ``detail`` is no string but a list of a MiB, new each time;
* ``markup``: a 200 whose reason phrase, content type and JSON (keys and values) hold
  terminal escapes, HTML, Markdown and mentions (:data:`MARKUP`), a new key each time;
* ``false_gzip``: a 422 in the contract's shape whose head says ``Content-Encoding: gzip``
  but whose body is the plain JSON (no client can decode it); ``brotli``: the same 422
  said to be in ``br``, which the kit never offers;
* ``redirect``: a 302 to the same request on another host (the kit follows none).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import socket
import struct
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from processes import free_port, running

REFUSAL = (
    b'{"code":"validation_error","message":"The request is invalid.",'
    b'"errors":[{"field":"limit","message":"no"}]}'
)
#: A NUL (in no XML 1.0 document), a terminal's escape sequences (7-bit and C1), a
#: noncharacter, and a Markdown fence that would close the report's own.
CONTROL = b"```\n# Conforms\x00\x1b[2J\xc2\x9b2J\xef\xbf\xbe\n```"
#: What a report must show as text: an OSC 8 link and a title, a carriage return that
#: rewrites the line, a tag that ends a <textarea>, script, Markdown and mentions.
MARKUP_TEXT = (
    "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07\x1b]0;pwned\x07\rCONFORMS "
    "</textarea></pre><script>window.pwned=1</script><img src=x onerror='window.pwned=2'>"
    "' onmouseover='window.pwned=3' x=\" ```\n# Conforms\n | a | b | "
    "[ok](javascript:window.pwned=4) @octocat #1 <details><summary>ok</summary>"
)
NOT_FOUND = b'{"code":"not_found","message":"Not found."}'
LIMITED = b'{"code":"rate_limit_exceeded","message":"Too many requests."}'
MODES = (
    "endless", "chunked", "huge_length", "drip", "head_drip", "gzip_bomb", "double_gzip",
    "silent", "reset", "garbage", "deep", "latin1", "control", "limited", "markup", "long",
    "false_gzip", "brotli", "redirect",
)  # fmt: skip


@contextmanager
def hostile(
    mode: str, *, start: int = 1, every: float = 0.5, root: str | None = None
) -> Iterator[str]:
    """The hostile server in a subprocess; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "servers.hostile", "--port", str(port), "--mode", mode]
    command += ["--from", str(start), "--every", str(every)]
    command += ["--root", root] if root is not None else []
    # It answers nothing at all to a probe when it misbehaves from the start: wait for the port.
    with running(command, port, path="/ready", timeout=30.0) as base:
        yield base


def head(status: int, *fields: bytes) -> bytes:
    lines = [b"HTTP/1.1 %d X" % status, b"content-type: application/json", *fields]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _bomb(rounds: int) -> bytes:
    """1 GiB of zeros gzipped (about 1 MiB), ``rounds`` times over."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    data = b"".join(packer.compress(zeros) for _ in range(1024)) + packer.flush()
    for _ in range(rounds - 1):
        data = gzip.compress(data, compresslevel=9)
    return data


class Hostile:
    def __init__(self, mode: str, start: int, every: float, root: str | None = None) -> None:
        self.mode, self.start, self.every, self.seen = mode, start, every, 0
        self.root = root
        self.bomb = _bomb(2 if mode == "double_gzip" else 1) if "gzip" in mode else b""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                if request.startswith(b"GET /ready "):
                    writer.write(head(204, b"content-length: 0"))
                    continue
                if b" /v1/" not in request.split(b"\r\n", 1)[0]:
                    if self.root is not None:
                        await self.misbehave(writer, self.root)
                        return
                    writer.write(head(404, b"content-length: %d" % len(NOT_FOUND)) + NOT_FOUND)
                    continue
                self.seen += 1
                if self.seen <= self.start:
                    writer.write(head(422, b"content-length: %d" % len(REFUSAL)) + REFUSAL)
                    continue
                await self.misbehave(writer)
                return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def misbehave(self, writer: asyncio.StreamWriter, mode: str | None = None) -> None:
        mode, chunk = mode or self.mode, b" " * 65536
        if mode == "silent":
            await asyncio.sleep(3600)
        elif mode == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode == "garbage":
            writer.write(b"SPAM SPAM SPAM\r\n\r\n")
        elif mode == "limited":
            fields = [b"retry-after: 3600", b"content-length: %d" % len(LIMITED)]
            writer.write(head(429, *fields) + LIMITED)
        elif mode == "redirect":
            location = b"location: http://elsewhere.test/v1/accounts/acct/analytics/usage"
            writer.write(head(302, location, b"content-length: 0"))
        elif mode in ("false_gzip", "brotli"):
            coding = b"gzip" if mode == "false_gzip" else b"br"
            fields = [b"content-encoding: " + coding, b"content-length: %d" % len(REFUSAL)]
            writer.write(head(422, *fields) + REFUSAL)
        elif mode in ("endless", "huge_length", "chunked"):
            fields = {"endless": [], "huge_length": [b"content-length: %d" % (1 << 40)]}
            writer.write(head(200, *fields.get(mode, [b"transfer-encoding: chunked"])))
            if mode == "chunked":
                chunk = b"%x\r\n%s\r\n" % (len(chunk), chunk)
            while True:
                writer.write(chunk)
                await writer.drain()
        elif mode == "drip":
            writer.write(head(200, b"content-length: 1000000"))
            await self.drip(writer, b" " * 1000000)
        elif mode == "head_drip":
            await self.drip(writer, head(200, *[b"x-drip: %d" % i for i in range(10000)]))
        elif mode in ("gzip_bomb", "double_gzip"):
            encoding = b"gzip" if mode == "gzip_bomb" else b"gzip, gzip"
            fields = [b"content-encoding: " + encoding, b"content-length: %d" % len(self.bomb)]
            writer.write(head(200, *fields) + self.bomb)
        elif mode == "markup":
            await self.markup(writer)
        elif mode == "long":
            long = b'{"code":"validation_error","message":"no","detail":["%s", %d]}'
            body = long % (b"A" * (1 << 20), self.seen)
            writer.write(head(422, b"content-length: %d" % len(body)) + body)
        else:
            bodies = {"deep": b"[" * 100000 + b"]" * 100000, "control": CONTROL}
            body = bodies.get(mode, b'{"meta": "\xff\xfe"}')
            writer.write(head(200, b"content-length: %d" % len(body)) + body)
        await writer.drain()

    async def markup(self, writer: asyncio.StreamWriter) -> None:
        text = f"{MARKUP_TEXT} {self.seen}"
        body = json.dumps({text: text, "code": text, "message": text, "meta": {"account_id": text}})
        data = body.encode()
        reason = MARKUP_TEXT.replace("\r", "").replace("\n", "").encode()
        writer.write(
            b"HTTP/1.1 200 "
            + reason
            + b"\r\ncontent-type: text/html; x="
            + reason
            + b"\r\ncontent-length: %d\r\n\r\n" % len(data)
            + data
        )

    async def drip(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(self.every)


async def _main(port: int, hostile_server: Hostile) -> None:
    server = await asyncio.start_server(hostile_server.serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="servers.hostile")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--from", dest="start", type=int, default=1)
    parser.add_argument("--every", type=float, default=0.5)
    parser.add_argument("--root", choices=MODES)
    args = parser.parse_args(argv)
    asyncio.run(_main(args.port, Hostile(args.mode, args.start, args.every, args.root)))


if __name__ == "__main__":
    main()

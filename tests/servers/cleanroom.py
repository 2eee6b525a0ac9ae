"""A clean-room server of the usage endpoint, written from the contract alone.

It shares no code with the mock or ``servers.minimal``: ``http.server`` from the
standard library, its own reading of the query (``cleanroom_query``), its own
calendar from ``zoneinfo`` (``cleanroom_calendar``) and its own sums over the
dataset files read with ``json`` (``cleanroom_data``). Where the contract admits
more than one answer it takes another than the reference's, so that the kit is
seen to accept each: ``data`` before ``meta`` and other key orders, indented
JSON with non-ASCII escaped, lower-case header names and ``charset=UTF-8``,
gzip when the client accepts it, a zero offset as ``+00:00``, a local-mean-time
offset's seconds to the nearest minute, fractions with as few digits as they
need, its own error messages with a ``detail``, and the relation ``start < end``
judged only once every field is valid.

``python -m servers.cleanroom --data DIR --port N [--now ISO]`` serves it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from servers.cleanroom_calendar import to_instant
from servers.cleanroom_data import Data, load, usage
from servers.cleanroom_query import Invalid, read_query

ENDPOINT = re.compile(r"/v1/accounts/([^/]+)/analytics/usage")
MAX_BODY = 1 << 20


def make_handler(data: Data, now: int | None) -> type[BaseHTTPRequestHandler]:
    class Handler(CleanroomHandler):
        pass

    Handler.data, Handler.now = data, now
    return Handler


class CleanroomHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cleanroom/1.0"
    timeout = 10
    disable_nagle_algorithm = True  # head and body are two writes: no 40 ms delayed ACK
    data: Data
    now: int | None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # any method at all: routed here, not 501
            return self.guarded
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own refusals (a bad request line, too many headers): 400 JSON
        self.close_connection = True
        self.reply(400, "bad_request", f"Unreadable request ({code}: {message or 'error'}).")

    def guarded(self) -> None:
        try:
            self.answer()
        except Exception as error:  # a bug of ours is a 500 in the contract's shape
            self.close_connection = True
            self.reply(500, "internal_error", f"Internal error ({type(error).__name__}).")

    def answer(self) -> None:
        if not self._drain_body():
            return
        target = self.path
        path, _, query = target.partition("?")
        if len(query.encode()) > 4096 or len(path.encode()) > 1024:
            self.reply(400, "bad_request", "Request line too long to be read.")
            return
        match = ENDPOINT.fullmatch(path)
        if match is None:
            self.reply(404, "not_found", f"Nothing is served at {path}.")
            return
        if self.command != "GET":
            self.reply(405, "method_not_allowed", f"Method {self.command} is not allowed.",
                       extra={"allow": "GET"})  # fmt: skip
            return
        key = self.headers.get("x-api-key")
        key_account = self.data.keys.get(key) if key else None
        if key_account is None:
            self.reply(401, "unauthorized", "Send a valid key in X-API-Key.")
            return
        account = unquote(match[1], errors="replace")
        account = key_account if account == "me" else account
        if not self.data.readable(key_account, account):
            self.reply(403, "forbidden", "That account is not readable with this key.")
            return
        now = self.now if self.now is not None else to_instant(datetime.now().astimezone())
        try:
            resolved = read_query(query, now)
        except Invalid as invalid:
            errors = [{"message": m, "field": f} for f, m in invalid.problems]
            self.reply(422, "validation_error", "The query has invalid parameters.",
                       more={"detail": f"{len(errors)} problem(s)", "errors": errors})  # fmt: skip
            return
        self.send_json(200, usage(self.data, account, resolved))

    def _drain_body(self) -> bool:
        length = self.headers.get("content-length")
        if self.headers.get("transfer-encoding") or (length and not length.isdigit()):
            self.send_error(400)
            return False
        if length and int(length) > MAX_BODY:
            self.send_error(400)
            return False
        if length:
            self.rfile.read(int(length))
        return True

    def reply(self, status: int, code: str, message: str, *, extra: dict[str, str] | None = None,
              more: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.send_json(status, {"message": message, "code": code, **(more or {})}, extra)

    def send_json(self, status: int, body: object, extra: dict[str, str] | None = None) -> None:
        # an error indented; a 200 on one line, spaced (json's C encoder: no indent)
        raw = json.dumps(body, indent=1 if status >= 400 else None).encode("ascii")
        headers = {"content-type": "application/json;charset=UTF-8", **(extra or {})}
        headers_in = getattr(self, "headers", None)
        accepted = headers_in.get("accept-encoding", "") if headers_in else ""
        if len(raw) > 256 and _accepts_gzip(accepted):
            raw = gzip.compress(raw, compresslevel=1)
            headers |= {"content-encoding": "gzip", "vary": "Accept-Encoding"}
        self.send_response_only(status)
        self.send_header("date", self.date_time_string())
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(raw)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)


def _accepts_gzip(header: str) -> bool:
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="servers.cleanroom")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--now", help="pinned now, ISO 8601 with offset")
    args = parser.parse_args(argv)
    now = to_instant(datetime.fromisoformat(args.now)) if args.now else None
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(load(args.data), now))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()

"""A server that answers HTTP/1.0, every body ended by closing the connection.

Old stacks and some gateways answer so (RFC 9112, 6.3: without Content-Length or
chunking, the body runs to the close). ``http10(base)`` fronts a server that
answers HTTP/1.1 and relays each of its answers so, for the length of a ``with``.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

#: Request headers the front sets itself (or, Accept-Encoding, leaves to the backend's
#: identity answer: the relayed body is the one the backend sent).
_OWN = {"host", "connection", "accept-encoding", "content-length"}


@contextmanager
def http10(base: str) -> Iterator[str]:
    """A front to ``base`` that answers HTTP/1.0; yields its base URL."""
    client = httpx.Client(base_url=base, timeout=30)

    class Relay(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            method, target, _ = self.rfile.readline(8192).decode("latin-1").split(" ", 2)
            headers = []
            while (line := self.rfile.readline(8192).decode("latin-1").strip()) != "":
                name, _, value = line.partition(":")
                if name.strip().lower() not in _OWN:
                    headers.append((name.strip(), value.strip()))
            answer = client.request(method, target, headers=headers)
            head = [f"HTTP/1.0 {answer.status_code} {answer.reason_phrase}"]
            head += [
                f"{name}: {value}"
                for name, value in answer.headers.multi_items()
                if name.lower() not in ("content-length", "transfer-encoding", "connection")
            ]
            body = b"" if method == "HEAD" else answer.content
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Relay)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        client.close()

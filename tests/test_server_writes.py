"""An answer over a real socket leaves in one write: head with body, pipelined too."""

from __future__ import annotations

from connection_support import answer, connect, read_one, server
from factories import PARENT_KEY
from server_support import ME, uvicorn_server

from usagekit.mock.wire import OneWrite

__all__ = ["server"]  # a fixture, used by name


class Recorder:
    """A transport that records what is written, and how (one call each)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def writelines(self, parts: tuple[bytes, ...]) -> None:
        self.calls.append(("writelines", b"".join(parts)))

    def close(self) -> None:
        self.calls.append(("close", b""))

    def is_closing(self) -> bool:
        return False


def test_an_answers_head_leaves_with_its_body_in_one_write() -> None:
    recorder = Recorder()
    one = OneWrite(recorder)  # type: ignore[arg-type]
    one.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # a client waits for it: at once
    one.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert recorder.calls == [("write", b"HTTP/1.1 100 Continue\r\n\r\n")]
    one.write(b"body")
    one.write(b"more")
    one.flush()
    assert recorder.calls[1:] == [
        ("writelines", b"HTTP/1.1 200 OK\r\n\r\nbody"),
        ("write", b"more"),
    ]
    assert not one.is_closing()


def test_an_answer_without_body_leaves_on_completion_or_close() -> None:
    recorder = Recorder()
    one = OneWrite(recorder)  # type: ignore[arg-type]
    one.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert recorder.calls == []
    one.close()
    assert recorder.calls == [("write", b"HTTP/1.1 204 No Content\r\n\r\n"), ("close", b"")]


def test_keep_alive_answers_head_and_body_together_also_pipelined(server) -> None:
    """Over the socket: a pipelined burst, a HEAD (405, a head only) and a 401 in between;
    every answer whole, in order, its head and body in one segment on loopback."""
    request = (
        f"GET {ME}?granularity=day HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {PARENT_KEY}\r\n\r\n"
    )
    other = f"HEAD {ME} HTTP/1.1\r\nHost: localhost\r\n\r\n"
    missing = f"GET {ME} HTTP/1.1\r\nHost: localhost\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(request.encode())
        first = sock.recv(1 << 20)
        head, _, body = first.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert body, "the head came without its body"
        sock.sendall((request + other + missing + request).encode())
        stream = sock.makefile("rb")
        statuses = []
        for method in ("GET", "HEAD", "GET", "GET"):
            status_line = stream.readline()
            statuses.append(int(status_line.split(b" ", 2)[1]))
            length = 0
            while (line := stream.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if method == "GET":
                assert len(stream.read(length)) == length
        assert statuses == [200, 405, 401, 200]


def test_the_front_doors_answers_in_one_write_are_the_bytes_asgi_sends() -> None:
    """A new request and its repeat, answered at the front door: through the protocol's
    whole-answer hook (no access log), and by ASGI's two messages (an access log declines
    the hook). Byte for byte the same but for the date, on a kept-alive connection."""
    request = (
        f"GET {ME}?granularity=hour&group_by=agent&tz=Europe/Vienna&start=2024-10-26T00:00:00"
        "&end=2024-10-28T00:00:00 HTTP/1.1\r\n"
        f"Host: localhost\r\nX-API-Key: {PARENT_KEY}\r\n\r\n"
    ).encode()
    answers = []
    for access_log in (False, True):
        with uvicorn_server(access_log=access_log) as base, connect(base) as sock:
            sock.sendall(request)
            first = read_one(sock)
            sock.sendall(request)
            answers.append([first, read_one(sock)])
    undated = [
        [b"\r\n".join(x for x in raw.split(b"\r\n") if not x.startswith(b"date: ")) for raw in pair]
        for pair in answers
    ]
    assert undated[0] == undated[1]
    assert answer(answers[0][1])[0] == 200
    assert b"vary: Origin" in answers[0][0]

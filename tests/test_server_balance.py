"""Connections spread over the workers of ``--workers N`` (mock/server/balance.py, board.py):
a worker busier than its sibling passes a new connection on before reading a byte."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from processes import free_port
from server_support import ME, NOW, SERVE, TESTS, wait_healthy
from test_server_prefork import children

from usagekit.mock.datasets.synthetic import DEMO_API_KEY
from usagekit.mock.server.balance import Balance
from usagekit.mock.server.board import BEAT, STALE, Board
from usagekit.mock.server.config import ServerConfig


def test_the_board_counts_a_passed_connection_at_once_and_a_new_worker_afresh() -> None:
    board = Board.create(3)
    board.opened(0, 4)
    assert [board.load(slot) for slot in range(3)] == [4, 0, 0]
    board.passed(0, 2)
    board.passed(1, 2)
    assert board.load(2) == 2  # on their way: counted before worker 2 has run
    board.taken(2, 0)
    board.opened(2, 1)
    assert board.load(2) == 2  # one taken in and open, one still coming
    board.claim(2)  # a replacement: its predecessor's connections went with it
    assert board.load(2) == 0
    now = time.monotonic_ns()
    assert board.alive(2, now)
    assert not board.alive(1, now)  # never beat
    assert not board.alive(2, now + int(STALE * 1e9) + 1)


class Echo(asyncio.Protocol):
    """A worker's protocol in miniature: offers each new connection to its balance,
    then echoes what it reads on the connections it keeps."""

    taken_from: int | None = None

    def __init__(self, balance: Balance, held: list[Echo]) -> None:
        self.balance = balance
        self.held = held

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.taken_from is None and self.balance.pass_on(transport):
            return
        self.transport = transport
        self.held.append(self)
        self.balance.opened(len(self.held), self.taken_from)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


@contextmanager
def worker(
    balance: Balance, held: list[Echo], setup: Callable[[asyncio.AbstractEventLoop], object]
) -> Iterator[None]:
    """An event loop in a thread, ``setup`` run on it first, until the block ends; then
    ``balance`` stops there, as a worker's does when it shuts down, and the connections
    it ``held`` are closed."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def begin() -> None:
            result = setup(loop)
            if asyncio.iscoroutine(result):
                await result
            ready.set()

        loop.run_until_complete(begin())
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield
    finally:

        def stop() -> None:
            balance.stop(loop)
            for echo in held:
                echo.transport.abort()  # type: ignore[attr-defined]
            loop.call_soon(loop.stop)  # after the transports' own closing callbacks

        loop.call_soon_threadsafe(stop)
        thread.join(10)


def echoed(port: int, count: int) -> list[bytes]:
    """``count`` connections opened at once, each sending its own bytes at once (before
    any is accepted); what each gets back."""
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    for i, client in enumerate(clients):
        client.sendall(f"hello {i}".encode())
    answers = []
    for client in clients:
        client.settimeout(10)
        answers.append(client.recv(100))
        client.close()
    return answers


@dataclass
class Pair:
    """Two workers on one board: only the first accepts from the listening socket."""

    board: Board
    port: int
    held: tuple[list[Echo], list[Echo]]


@contextmanager
def pair(*, second_beats: bool = True) -> Iterator[Pair]:
    board = Board.create(2)
    first, second = Balance(board), Balance(board)
    held_first: list[Echo] = []
    held_second: list[Echo] = []
    listening = socket.create_server(("127.0.0.1", 0))

    def accepts_nothing(loop: asyncio.AbstractEventLoop) -> None:
        second.start(loop, lambda: Echo(second, held_second))
        if not second_beats:
            assert second.beating is not None
            second.beating.cancel()  # as a worker stuck in a long answer: no beat renewed

    async def accepts(loop: asyncio.AbstractEventLoop) -> None:
        first.start(loop, lambda: Echo(first, held_first))
        await loop.create_server(lambda: Echo(first, held_first), sock=listening)

    port = listening.getsockname()[1]
    second_worker = worker(second, held_second, accepts_nothing)
    with listening, second_worker, worker(first, held_first, accepts):
        yield Pair(board, port, (held_first, held_second))


def test_a_worker_that_accepts_everything_passes_half_on_with_no_byte_lost() -> None:
    with pair() as workers:
        assert echoed(workers.port, 10) == [f"hello {i}".encode() for i in range(10)]
        assert [len(held) for held in workers.held] == [5, 5]
        assert workers.board.load(0) == workers.board.load(1) == 5


def test_a_sibling_that_stopped_beating_is_passed_nothing() -> None:
    with pair(second_beats=False) as workers:
        time.sleep(STALE + 2 * BEAT)
        assert echoed(workers.port, 6) == [f"hello {i}".encode() for i in range(6)]
        assert [len(held) for held in workers.held] == [6, 0]


#: Connects to a worker's address from outside the server, as any local process may.
FOREIGN = (
    "import array, socket, sys\n"
    "peer = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
    "peer.connect(bytes.fromhex(sys.argv[1]))\n"
    "rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [0]))]\n"
    "try:\n"
    "    peer.sendmsg([b'\\0\\0'], rights)\n"
    "    peer.settimeout(10)\n"
    "    print(len(peer.recv(1)))\n"
    "except OSError as error:\n"
    "    print(type(error).__name__)\n"
)


def test_only_a_sibling_may_pass_a_connection() -> None:
    board = Board.create(2)
    second = Balance(board)
    held: list[Echo] = []

    with worker(second, held, lambda loop: second.start(loop, lambda: Echo(second, held))):
        address = board.address(second.slot).hex()  # type: ignore[arg-type]
        run = [sys.executable, "-c", FOREIGN, address]
        said = subprocess.run(run, capture_output=True, text=True, timeout=30, check=True)
        # Closed at once: the process is this test's child, not a child of its parent.
        assert said.stdout.strip() in {"0", "ConnectionResetError", "BrokenPipeError"}
        assert held == []
        assert board.load(second.slot) == 0  # type: ignore[arg-type]


def established(pid: int, port: int) -> int:
    """How many of ``pid``'s descriptors are established TCP connections to ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    fds = Path(f"/proc/{pid}/fd")
    links = [os.readlink(fd) for fd in fds.iterdir() if fd.is_symlink()]
    return sum(link.startswith("socket:[") and link[8:-1] in inodes for link in links)


def test_two_workers_share_a_burst_of_connections_and_answer_each(tmp_path) -> None:
    port = free_port()
    settings = ServerConfig(port=port, workers=2, now=NOW, access_log=False)
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, settings.to_env()], env={**os.environ, "PYTHONPATH": path}
    )
    request = f"GET {ME}?tz=UTC HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {DEMO_API_KEY}\r\n\r\n"
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        clients = []
        for _ in range(32):  # a burst, each request sent before its connection is accepted
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(request.encode())
            clients.append(client)
        heads = []
        for client in clients:
            client.settimeout(30)
            heads.append(client.recv(12))
        assert heads == [b"HTTP/1.1 200"] * 32
        held = sorted(established(pid, port) for pid in children(process.pid))
        # Without passing on, a burst has landed 32 to 0 on this machine.
        assert sum(held) == 32, held
        assert held[0] >= 12, held
        for client in clients:
            client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

"""``usagekit proxy`` as a process: the proxy app on uvicorn, its log, and its reports.

:func:`serve_proxy` builds the judge (:class:`Traffic`), the app
(:class:`ValidationProxy`) and the optional HAR recorder, serves until SIGINT
or SIGTERM (uvicorn's own handlers stop it gracefully), and writes every report
then -- and every ``refresh`` seconds while it runs, so that a job killed
without a signal still leaves reports no older than that. A proxy that cannot
listen raises :class:`BadOptions` (the command writes its reports saying so).
"""

from __future__ import annotations

import contextlib
import gc
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TextIO

import uvicorn

from usagekit.mock.bounds import enough_descriptors
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.hosts import HostRule
from usagekit.mock.wire import serving_collector

from .config import KitConfig
from .errors import BadOptions
from .events import Handler, RunFinished, RunStarted
from .har import HarWriter
from .outcomes import Finding, visible
from .protocol import ProxyProtocol
from .proxy import ValidationProxy
from .traffic import Traffic

__all__ = ["ProxyConfig", "ViolationLog", "serve_proxy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyConfig:
    """One proxy run: where it listens, what it forwards to, and what it writes."""

    kit: KitConfig  # base_url is the upstream
    host: str = "127.0.0.1"
    port: int = 8080
    strict: bool = False
    record: Path | None = None
    refresh: float = 5.0  # seconds between report refreshes
    timeout: float = 30.0
    #: Seconds a client has to send a whole request (ProxyProtocol's request deadline), or
    #: to take some of its answer once the socket's buffer is full (its stall deadline).
    read_timeout: float = 5.0
    #: Open client connections; one more is answered 503 (ProxyProtocol's connection cap).
    max_connections: int = 1000
    #: Lets any client that sends it as a bearer token read /_usagekit/* (else loopback only).
    admin_token: str | None = None
    #: ``--allowed-host`` (:func:`usagekit.mock.hosts.allowed_names`'): names answered besides
    #: localhost and IP addresses; empty: those only on a loopback ``host``, any elsewhere.
    allowed_hosts: tuple[str, ...] = ()


class ViolationLog:
    """Logs each (rule, reason) once, with its curl, and again as its count grows tenfold."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, finding: Finding, count: int) -> None:
        if count == 1:
            lines = [f"✗ {finding.rule}: {finding.reason}"]
            lines += [f"    reproduce: {curl}" for curl in finding.curl[:1]]
        elif _power_of_ten(count):
            lines = [f"✗ {finding.rule}: {finding.reason} (seen {count} times)"]
        else:
            return
        with self._lock:
            print(visible("\n".join(lines)), file=self.stream, flush=True)


def _power_of_ten(n: int) -> bool:
    while n % 10 == 0 and n > 1:
        n //= 10
    return n == 1


def serve_proxy(
    config: ProxyConfig,
    dataset: Dataset | None,
    handlers: Sequence[Handler] = (),
    *,
    version: str,
    log: TextIO = sys.stderr,
) -> Traffic:
    """Serve until stopped; the reports are written periodically and once more at the end."""
    traffic = Traffic(config.kit, dataset, on_violation=ViolationLog(log))
    for handler in handlers:
        handler.start(
            RunStarted(
                base_url=config.kit.base_url,
                profile=config.kit.profile.value,
                rules=len(traffic.rules),
                skipped=(),
            )
        )

    def write_reports() -> None:
        if not handlers:
            return  # no report asked for: no summary every few seconds either
        summary = traffic.summary()
        for handler in handlers:
            handler.handle(RunFinished(summary=summary))

    try:
        recorder = (
            HarWriter(config.record, "usagekit proxy", version)
            if config.record is not None
            else None
        )
    except OSError as exc:  # a directory that is not there, or not writable
        raise BadOptions(f"--record {config.record}: {exc.strerror or exc}") from exc
    app = ValidationProxy(
        config.kit.base_url,
        traffic,
        strict=config.strict,
        recorder=recorder,
        timeout=config.timeout,
        admin_token=config.admin_token,
        max_connections=config.max_connections,
    )
    served = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        lifespan="on",
        http=partial(
            ProxyProtocol,
            request_timeout=config.read_timeout,
            max_connections=config.max_connections,
            # Every path, forwarded or its own: against DNS rebinding (usagekit.mock.hosts).
            hosts=HostRule.of(config.host, config.allowed_hosts),
        ),
        log_level="warning",
        access_log=False,  # URLs may carry what users would not want in CI logs
        # The answers are the upstream's, Date and Server included: not a second of each.
        server_header=False,
        date_header=False,
        proxy_headers=False,  # read for the proxy's own paths only (trust_forwarded)
    )
    app.trust_forwarded(served.forwarded_allow_ips)
    server = uvicorn.Server(served)
    # What the kit built (the spec, schemathesis' and the rules' tables, the oracle) lives
    # as long as the proxy: out of the cyclic collector's sight, as the mock's workers do,
    # so that the full collections a judged answer's garbage triggers no longer walk it.
    gc.collect()
    gc.freeze()
    # A client's connection, an upstream connection in use and one being opened each.
    enough_descriptors(config.max_connections, per_connection=3)
    stop = threading.Event()
    refresher = threading.Thread(
        target=_refresh, args=(stop, config.refresh, write_reports), daemon=True
    )
    refresher.start()
    try:
        # A never-seen answer's records are thousands of containers, freed by reference
        # counts once judged: the collector's pace of a server (mock/wire.py) spares them.
        with _signals_end_the_run(), serving_collector(), contextlib.suppress(SystemExit):
            server.run()  # uvicorn exits (1) when it cannot listen
    finally:
        stop.set()
        refresher.join(timeout=config.refresh + 5)
        if recorder is not None:
            recorder.close()
        if server.started:
            write_reports()
        for handler in handlers:
            handler.shutdown()
    if not server.started:
        raise BadOptions(f"cannot listen on {config.host}:{config.port}")
    return traffic


@contextmanager
def _signals_end_the_run() -> Iterator[None]:
    """SIGINT and SIGTERM stop the proxy and still let it write its reports and exit 0/1.

    uvicorn stops gracefully on either, then raises the signal again to the
    handler it found; that handler is this one, which ignores it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ignore(_sig: int, _frame: FrameType | None) -> None:
    pass


def _refresh(stop: threading.Event, every: float, write: Callable[[], None]) -> None:
    while not stop.wait(every):
        write()

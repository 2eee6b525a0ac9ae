"""Serving the app with uvicorn, in one process or several.

One worker serves the app built in this process (so a bad dataset fails
before the socket opens). Several workers share one app: it is built here,
once, and the workers are forked from this process (:mod:`.prefork`), so the
dataset is in memory once whatever their number; this process then becomes
their small supervisor, which starts a worker that dies afresh
(:mod:`.worker`, from the config in :data:`CONFIG_ENV`); their connections are
spread evenly over them (:mod:`.balance`). With ``--watch`` each worker
reloads its own data, so there uvicorn's ``workers=N`` starts each worker from
an import string and :func:`app_from_env`, an app factory, builds it from the
:class:`ServerConfig` the parent wrote into :data:`CONFIG_ENV`. The parent
fixes everything that must be equal in every worker before it starts them --
in particular the anchor instant of the synthetic dataset (the pinned
``--now``, else the wall clock floored to the UTC hour) -- so that every
worker generates the same data and gives byte-identical answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import uvicorn
from starlette.types import ASGIApp

from usagekit.mock.bounds import enough_descriptors
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.datasets.cache import Entry
from usagekit.mock.datasets.later import Later
from usagekit.mock.hosts import HostRule
from usagekit.mock.wire import serving_collector

from .balance import Balance
from .board import BOARD_ENV, Board
from .config import CONFIG_ENV, ServerConfig, wall_clock_hour
from .heap import IdleRelease, release_free_memory
from .logs import log_config
from .prefork import Prefork
from .protocol import ContractProtocol
from .sources import load_dataset
from .watch import signature
from .workbench import create_workbench

__all__ = [
    "APP_FACTORY",
    "GracefulServer",
    "app_from_env",
    "build_app",
    "prepare",
    "serve",
    "uvicorn_options",
]

#: starlette 1.10's warning when connexion 3.3 imports its TestClient (harmless here).
STARLETTE_TESTCLIENT = "Using `httpx` with `starlette.testclient` is deprecated"

#: The import string of the app factory every worker calls.
APP_FACTORY = "usagekit.mock.server.run:app_from_env"
#: Seconds in-flight answers get to finish after SIGTERM.
GRACEFUL_SECONDS = 10
#: The niceness of the thread that writes a first load into the columnar cache.
KEEP_NICE = 10


def prepare(config: ServerConfig) -> ServerConfig:
    """``config`` with what every worker must share decided once, here."""
    if config.anchor is None:
        anchor = config.now if config.now is not None else wall_clock_hour()
        config = dataclasses.replace(config, anchor=anchor)
    if config.workers > 1 and config.control_dir is None:
        # Runtime scenarios and the requests journal are shared through files here.
        config = dataclasses.replace(config, control_dir=tempfile.mkdtemp(prefix="usagekit-"))
    return config


def build_app(config: ServerConfig, *, shared: bool = False) -> ASGIApp:
    """The app of one worker for ``config``; raises a ``UsagekitError`` for a bad dataset.

    ``shared``: the app is built to be forked into several workers, so every
    account's scope is built (or mapped from the columnar cache) now, once,
    instead of in each worker on first use.
    """
    return _build(config, shared=shared, later=False)[0]


def _build(config: ServerConfig, *, shared: bool, later: bool) -> tuple[ASGIApp, Later | None]:
    """The app, and the dataset's cache writes still to do (``later``: a first load of one
    worker's columns and scopes are written by :func:`_keep_when_up` once it answers)."""
    # The files as they were before the load: an edit made while this worker starts
    # is then one --watch reloads, not one taken for the data already loaded.
    watched = signature(Path(config.data_dir)) if config.watch and config.data_dir else None
    dataset = load_dataset(config, later=later)
    keeping = None
    if shared and isinstance(dataset.derived, Later):
        # A first load: forked workers would each be charged for the decoded columns,
        # all resident, ids included. Written now (while the app is built: the writes
        # and checksums release the GIL) and mapped instead; the workers build the
        # scopes they are asked for, and the first to build each keeps it for the other.
        keeping = threading.Thread(target=dataset.derived.keep_now, name="usagekit-keep")
        keeping.start()
    elif shared:
        _with_scopes(dataset)  # every scope here, once, for every worker
    if shared and isinstance(dataset.derived, Entry):
        # Scopes built just now read the mapped columns and left their pages in this
        # process's page tables, for every worker to inherit and be charged for. A
        # second load maps the columns and the scopes now kept afresh, untouched.
        dataset = _with_scopes(load_dataset(config))
    app = create_workbench(dataset, config, watched=watched)
    # Everything built so far (the spec, connexion's tables, the dataset) lives as long
    # as the worker: out of the cyclic collector's sight, a full collection no longer
    # walks it, which keeps those pauses out of the answers' p99 -- and, in forked
    # workers, keeps the collector from writing to (and so copying) the shared pages.
    gc.collect()
    if keeping is not None:
        keeping.join()  # no thread may run at the fork; the decoded copy is freed by now
    gc.freeze()
    release_free_memory()
    return app, dataset.derived if isinstance(dataset.derived, Later) else None


def _keep_when_up(later: Later, up: Callable[[], bool]) -> threading.Thread:
    """Write ``later``'s items from a thread of low priority, once ``up()`` is true."""

    def keep() -> None:
        with contextlib.suppress(OSError, AttributeError):  # Linux: this thread's own nice
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), KEEP_NICE)
        while not up():
            time.sleep(0.05)
        later.keep_now()

    thread = threading.Thread(target=keep, name="usagekit-keep", daemon=True)
    thread.start()
    return thread


def _with_scopes(dataset: Dataset) -> Dataset:
    for account in dataset.accounts:
        dataset.scope(account.id)
    return dataset


def app_from_env() -> ASGIApp:
    """The app of one worker, from the config the parent put in the environment."""
    return build_app(ServerConfig.from_env())


def uvicorn_options(config: ServerConfig, balance: Balance | None = None) -> dict[str, Any]:
    """uvicorn's settings for ``config``: the contract's protocol, timeouts, logging;
    ``balance``: this worker's part in spreading connections over its siblings."""
    return {
        "host": config.host,
        "port": config.port,
        "lifespan": "off",
        "access_log": config.access_log,
        "log_level": config.log_level,
        "log_config": log_config(),
        # Our protocol (see .protocol), with its knobs bound; a partial pickles for workers.
        "http": partial(
            ContractProtocol,
            request_timeout=config.read_timeout,
            max_connections=config.max_connections,
            idle=IdleRelease(),
            balance=balance,
            # The CORS layer's "*" (never an origin: none is read there), so that a browser
            # reads a refusal below the app -- the connection cap's 503 -- as any other.
            refusal_headers=() if config.cors_origins else (("access-control-allow-origin", "*"),),
            # The names it answers for: against DNS rebinding (usagekit.mock.hosts).
            hosts=HostRule.of(config.host, config.allowed_hosts),
        ),
        # No websockets: an Upgrade is answered as plain HTTP, in the contract's shape.
        "ws": "none",
        # Without an access log the app reads X-Forwarded-* itself, inside the front door
        # (ServerConfig.forwarded_inside, .app.with_edges).
        "proxy_headers": not config.forwarded_inside,
        "timeout_keep_alive": config.keep_alive,
        # In-flight answers finish on SIGTERM; a stuck one does not hold the exit for ever.
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
    }


class GracefulServer(uvicorn.Server):
    """uvicorn's server, exiting 0 after a graceful shutdown on SIGTERM or SIGINT.

    uvicorn re-raises the signal it caught once it has shut down, so one worker
    would exit 143 where the multi-worker supervisor exits 0; a finished
    shutdown is a success either way.
    """

    def __init__(self, config: uvicorn.Config, balance: Balance | None = None) -> None:
        super().__init__(config)
        self.balance = balance

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        with serving_collector():
            await super().serve(sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.balance is not None and not self.should_exit:
            # What uvicorn's startup makes its server with, for connections passed here.
            config = self.config
            protocol = partial(
                config.http_protocol_class,
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
            )
            self.balance.start(asyncio.get_running_loop(), protocol)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.balance is not None:
            self.balance.stop(asyncio.get_running_loop())
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()


def serve(config: ServerConfig) -> None:
    """Serve until interrupted; blocks. A bad dataset raises before the socket opens."""
    config = prepare(config)
    enough_descriptors(config.max_connections)  # per worker; forked and started ones inherit it
    if config.workers > 1 and not config.watch:
        _prefork(config)
    options = uvicorn_options(config)
    if config.workers == 1:
        app, later = _build(config, shared=False, later=True)
        server = GracefulServer(uvicorn.Config(app, **options))
        if later is not None:
            _keep_when_up(later, lambda: server.started)
        server.run()
        return
    # --watch reloads the data in a thread of each worker, which a fork would not
    # carry over: there every worker is a new interpreter that loads its own copy.
    if config.data_dir is not None:
        # Load once here: a worker that fails at start-up is restarted by uvicorn's
        # supervisor again and again, so a bad directory must fail before any starts.
        load_dataset(config)
    _worker_environment(config)
    try:
        uvicorn.run(APP_FACTORY, factory=True, workers=config.workers, **options)
    finally:
        if config.control_dir is not None:
            shutil.rmtree(config.control_dir, ignore_errors=True)


def _prefork(config: ServerConfig) -> NoReturn:
    """One dataset for every worker: built here, then forked (see prefork.py); this
    process then becomes their supervisor, which removes the control directory."""
    try:
        app, _ = _build(config, shared=True, later=True)
        balance = Balance(Board.create(config.workers))
        server_config = uvicorn.Config(app, **uvicorn_options(config, balance))
        _worker_environment(config)  # for a worker the supervisor starts afresh
        os.environ[BOARD_ENV] = balance.board.to_env()
        sock = server_config.bind_socket()
        server = partial(GracefulServer, balance=balance)
        Prefork(server_config, sock, config.workers, server, control_dir=config.control_dir).run()
    except BaseException:
        if config.control_dir is not None:
            shutil.rmtree(config.control_dir, ignore_errors=True)
        raise


def _worker_environment(config: ServerConfig) -> None:
    """The environment of workers started as new interpreters: ``config`` for
    :func:`app_from_env` (or :mod:`.worker`), and a quiet, lean start."""
    os.environ[CONFIG_ENV] = config.to_env()
    # The server does no linear algebra, and OpenBLAS's spinning thread pool (one
    # thread per core, in every worker) slows N workers starting side by side on N
    # cores threefold.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Workers import connexion before any code of ours runs: the same quiet start as
    # the parent's command (see usagekit.cli) has to come through the environment.
    os.environ.setdefault("PYTHONWARNINGS", f"ignore:{STARLETTE_TESTCLIENT}:UserWarning")

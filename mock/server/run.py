"""Serving the app with uvicorn, in one process or several.

One worker serves the app built in this process (so a bad dataset fails
before the socket opens). uvicorn's ``workers=N`` starts each worker from an
import string instead, so there the app is built by :func:`app_from_env`, an
app factory that reads the
:class:`ServerConfig` the parent wrote into :data:`CONFIG_ENV`. The parent
fixes everything that must be equal in every worker before it starts them --
in particular the anchor instant of the synthetic dataset (the pinned
``--now``, else the wall clock floored to the UTC hour) -- so that every
worker generates the same data and gives byte-identical answers.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import shutil
import tempfile
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from .config import CONFIG_ENV, ServerConfig, wall_clock_hour
from .sources import load_dataset
from .workbench import create_workbench

__all__ = ["APP_FACTORY", "app_from_env", "build_app", "prepare", "serve"]

#: starlette 1.10's warning when connexion 3.3 imports its TestClient (harmless here).
STARLETTE_TESTCLIENT = "Using `httpx` with `starlette.testclient` is deprecated"

#: The import string of the app factory every worker calls.
APP_FACTORY = "usagekit.mock.server.run:app_from_env"


def prepare(config: ServerConfig) -> ServerConfig:
    """``config`` with what every worker must share decided once, here."""
    if config.anchor is None:
        anchor = config.now if config.now is not None else wall_clock_hour()
        config = dataclasses.replace(config, anchor=anchor)
    if config.workers > 1 and config.control_dir is None:
        # Runtime scenarios and the requests journal are shared through files here.
        config = dataclasses.replace(config, control_dir=tempfile.mkdtemp(prefix="usagekit-"))
    return config


def build_app(config: ServerConfig) -> ASGIApp:
    """The app of one worker for ``config``; raises a ``UsagekitError`` for a bad dataset."""
    app = create_workbench(load_dataset(config), config)
    # Everything built so far (the spec, connexion's tables, the dataset) lives as long
    # as the worker: out of the cyclic collector's sight, a full collection no longer
    # walks it, which keeps those pauses out of the answers' p99.
    gc.collect()
    gc.freeze()
    return app


def app_from_env() -> ASGIApp:
    """The app of one worker, from the config the parent put in the environment."""
    return build_app(ServerConfig.from_env())


def serve(config: ServerConfig) -> None:
    """Serve until interrupted; blocks. A bad dataset raises before the socket opens."""
    config = prepare(config)
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "lifespan": "off",
        "access_log": config.access_log,
        "log_level": config.log_level,
    }
    if config.workers == 1:
        uvicorn.run(build_app(config), **options)
        return
    if config.data_dir is not None:
        # Load once here: a worker that fails at start-up is restarted by uvicorn's
        # supervisor again and again, so a bad directory must fail before any starts.
        load_dataset(config)
    os.environ[CONFIG_ENV] = config.to_env()
    # Workers are new interpreters that inherit this environment. The server does no
    # linear algebra, and OpenBLAS's spinning thread pool (one thread per core, in
    # every worker) slows N workers starting side by side on N cores threefold.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Workers import connexion before any code of ours runs: the same quiet start as
    # the parent's command (see usagekit.cli) has to come through the environment.
    os.environ.setdefault("PYTHONWARNINGS", f"ignore:{STARLETTE_TESTCLIENT}:UserWarning")
    try:
        uvicorn.run(APP_FACTORY, factory=True, workers=config.workers, **options)
    finally:
        if config.control_dir is not None:
            shutil.rmtree(config.control_dir, ignore_errors=True)

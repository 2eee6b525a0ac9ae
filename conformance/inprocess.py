"""A Python implementation judged in process: ``usagekit check --app module:attr``.

No socket and no server process: the kit's own requests go through an httpx
transport that calls the application, and schemathesis' generated requests
through its ASGI or WSGI transport (``schema.app``), so the same rules judge
the same answers as over the network. An ASGI app's lifespan starts once, and
every request runs on one event loop.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import requests
from schemathesis.python import asgi
from schemathesis.transport import is_asgi_app

from .errors import BadOptions

__all__ = ["IN_PROCESS_BASE_URL", "in_process", "load_app"]

#: Where ``uvicorn module:attr`` would serve the app: the curls of findings point there.
IN_PROCESS_BASE_URL = "http://127.0.0.1:8000"


def load_app(target: str, *, factory: bool = False, app_dir: Path | None = None) -> object:
    """The application ``module:attr`` names (``attr`` may be dotted); called if ``factory``.

    ``app_dir`` goes first on ``sys.path``, as uvicorn's ``--app-dir`` does, so
    that a service's own module imports from where the command runs.
    """
    if app_dir is not None and str(app_dir.resolve()) not in sys.path:
        sys.path.insert(0, str(app_dir.resolve()))
    module_name, _, attrs = target.partition(":")
    if not module_name or not attrs:
        raise BadOptions(f"--app {target!r}: expected module:attribute, e.g. myservice.main:app")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise BadOptions(f"--app {target!r}: cannot import {module_name}: {exc}") from exc
    for attr in attrs.split("."):
        try:
            found = getattr(found, attr)
        except AttributeError:
            raise BadOptions(f"--app {target!r}: {module_name} has no {attrs}") from None
    if factory:
        found = found()
    if not callable(found):
        raise BadOptions(f"--app {target!r} is not an ASGI or WSGI application")
    return found


@contextlib.contextmanager
def in_process(app: object) -> Iterator[httpx.BaseTransport]:
    """A sync httpx transport to ``app``, for as long as the block runs."""
    # The same test schemathesis applies, so both kinds of request take the same road.
    if not is_asgi_app(app):
        yield httpx.WSGITransport(app=app)  # type: ignore[arg-type]
        return
    # schemathesis' ASGI client: the one event loop and the one lifespan that its
    # generated requests use too, so state the app keeps per loop is shared.
    with asgi.get_client(app) as session:  # type: ignore[arg-type]
        yield _SessionTransport(session)


class _SessionTransport(httpx.BaseTransport):
    """The kit's httpx requests, sent through a requests-style session."""

    def __init__(self, session: requests.Session) -> None:
        self._session = session

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._session.request(
            request.method,
            str(request.url),
            headers=dict(request.headers),
            data=request.read() or None,
            allow_redirects=False,
        )
        return httpx.Response(
            answer.status_code,
            headers=list(answer.headers.items()),
            content=answer.content,
            request=request,
        )

"""The app factory: connexion driven by ``openapi.yaml``, answering from the aggregator.

:func:`create_app` takes the dataset (the test seam) and a
:class:`ServerConfig`, and returns one ASGI app. From the socket inwards::

    FrontDoor                 a valid request the layers below would pass on, answered at once
    CORS                      every answer, errors included, carries the CORS headers
    Guard                     an exception anywhere in front of connexion -> 500 in shape
    ConcurrencyLimit          --max-requests in flight; one more -> 503 + Retry-After
    RequestLimits             an oversize query string or path -> 400 bad_request
    Scenarios                 Prefer: code= / latency=, --latency, --error-rate
    RateLimit                 --rate-limit: 429 + Retry-After per known key
    FastPath                  a repeated 200 straight from the memo; HEAD -> 405
    connexion AsyncApp
      ServerError             (connexion) last resort, in the contract's shape
      Exception               (connexion) ApiProblem/HTTPException/any -> contract's body
      SwaggerUI               /openapi.json, /ui/
      Routing                 404 / 405 for what the spec does not name (no slash redirect)
      Security                ApiKeySecurity: 401, 403, `me`
      RequestValidation       ContractParameterValidator: every invalid field in one 422
      handler                 UsageEndpoint: memo or aggregator -> bytes

``/healthz`` is a plain route of the app: no key, no scenarios.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from connexion import AsyncApp
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.routing import Mount, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.query import UsageQuery
from usagekit.mock.core.response import UsageResult
from usagekit.mock.spec import load_spec

from .access import ApiKeySecurity, KeyIndex
from .config import Clock, ServerConfig
from .cors import ContractCORSMiddleware
from .direct import DirectResolver
from .fastpath import FastPathMiddleware
from .frontdoor import Door, FrontDoor
from .handlers import HEALTHZ_METHODS, UsageEndpoint, healthz
from .limits import ConcurrencyLimitMiddleware, RequestLimitsMiddleware
from .memo import FrontCache, ResponseMemo
from .problems import (
    install_error_handlers,
    internal_error,
    send_problem,
    server_error_handler,
)
from .ratelimit import RateLimiter, RateLimitMiddleware
from .scenarios import Chaos, ScenarioMiddleware, example_bodies, named_examples
from .validation import ContractParameterValidator, ContractURIParser, SchemaChecks

__all__ = ["Contract", "contract_app", "create_app", "with_edges"]

logger = logging.getLogger("usagekit.mock.server")

OPERATION_ID = "get_usage_analytics"


def create_app(
    dataset: Dataset,
    config: ServerConfig | None = None,
    *,
    aggregator: Callable[[UsageQuery], UsageResult] | None = None,
    clock: Clock | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    direct: bool = True,
) -> ASGIApp:
    """The mock server over ``dataset``, configured by ``config``.

    Test seams: ``aggregator`` replaces the reference :class:`Aggregator` over
    ``dataset`` (to count or break computations); ``clock`` replaces the one
    ``config.now`` implies (to move the wall clock); ``monotonic`` replaces
    :func:`time.monotonic`, which refills the rate limiter's tokens (to freeze
    it); ``direct=False`` sends every
    request the front cache has not seen through connexion (see :mod:`.direct`).
    """
    config = config or ServerConfig()
    contract = contract_app(
        dataset, config, aggregator=aggregator, clock=clock, monotonic=monotonic, direct=direct
    )
    hits = contract.hits
    return with_edges(contract.app, config, Door(lambda: hits) if hits else None)


@dataclass(frozen=True, slots=True)
class Contract:
    """The contract's app, and its front cache when nothing in front of that acts on a hit."""

    app: ASGIApp
    #: The front cache, when no layer between it and the edges acts on a request
    #: without ``Prefer`` (no chaos, no rate limit): the front door's (:mod:`.frontdoor`).
    hits: FastPathMiddleware | None


def contract_app(
    dataset: Dataset,
    config: ServerConfig,
    *,
    aggregator: Callable[[UsageQuery], UsageResult] | None = None,
    clock: Clock | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    direct: bool = True,
) -> Contract:
    """The contract's app over ``dataset``, from Scenarios inwards (no CORS, no Guard).

    The workbench (:mod:`.workbench`) swaps this part when ``--watch`` reloads.
    """
    spec = load_spec()
    keys = KeyIndex(dataset)
    memo = ResponseMemo(config.cache_bytes_per_worker)
    endpoint = UsageEndpoint(aggregator or Aggregator(dataset), memo)
    clock = clock or Clock(config.now)
    operations = {OPERATION_ID: endpoint.get_usage_analytics}

    app = AsyncApp(
        __name__,
        middlewares=[
            partial(ServerErrorMiddleware, handler=server_error_handler)
            if middleware is ServerErrorMiddleware
            else ExactRoutingMiddleware
            if middleware is RoutingMiddleware
            else middleware
            for middleware in ConnexionMiddleware.default_middlewares
        ],
        resolver=Resolver(function_resolver=operations.__getitem__),
        security_map={"apiKey": partial(ApiKeySecurity, keys)},
        validator_map={
            "parameter": partial(
                ContractParameterValidator,
                checks=SchemaChecks(),
                clock=clock.now,
                pinned=clock.pinned,
            )
        },
        uri_parser_class=ContractURIParser,
        swagger_ui_options=SwaggerUIOptions(spec_path="/openapi.json", swagger_ui_path="/ui"),
    )
    app.add_api(spec)
    app.add_url_rule("/healthz", "healthz", healthz, methods=HEALTHZ_METHODS)
    install_error_handlers(app)
    # connexion builds its middleware stack on the first request (even /healthz's):
    # built here, the parent of forked workers holds one copy that they share, where
    # each worker built its own (2.4 MB of each worker's private pages right after start).
    stack = app.middleware
    stack.app, stack.middleware_stack = stack._build_middleware_stack()

    fast = FastPathMiddleware(
        app,
        front=FrontCache(memo),
        memo=memo,
        clock=clock,
        direct=DirectResolver(spec, keys, clock) if direct else None,
        answer=endpoint.body,
    )
    outer: ASGIApp = fast
    if config.rate_limit is not None:
        rate = config.rate_limit / config.workers
        outer = RateLimitMiddleware(
            outer, limiter=RateLimiter(rate, monotonic), keys=keys, shown_rate=config.rate_limit
        )
    chaos = Chaos(
        latency_ms=config.latency_ms, error_rate=config.error_rate, seed=config.chaos_seed
    )
    app = ScenarioMiddleware(
        outer, bodies=example_bodies(spec), chaos=chaos, examples=named_examples(spec)
    )
    return Contract(app, fast if outer is fast and not chaos.active else None)


def with_edges(
    app: ASGIApp,
    config: ServerConfig,
    door: Door | None = None,
    private: Callable[[str], bool] | None = None,
) -> ASGIApp:
    """``app`` behind the request caps, the Guard and CORS, the outermost layers.

    With a ``door``, a front door (:mod:`.frontdoor`) outside them answers a repeat.
    A ``private`` path answers across origins only to a ``--cors-origin`` (see
    :class:`.cors.ContractCORSMiddleware`).
    """
    limit = ConcurrencyLimitMiddleware(
        RequestLimitsMiddleware(app), max_requests=config.max_requests
    )
    guard = GuardMiddleware(limit)
    edges: ASGIApp = ContractCORSMiddleware(
        guard,
        allow_origins=list(config.cors_origins) or ["*"],
        allow_methods=["GET"],
        allow_headers=["X-API-Key", "Prefer"],
        expose_headers=["Retry-After", "Preference-Applied", "Warning"],
        max_age=600,
        private=private,
    )
    if config.forwarded_inside:
        # uvicorn's own reading of X-Forwarded-For/-Proto (its proxy_headers, then off in
        # .run.uvicorn_options), with its default trust: it cost a repeat 3%.
        trusted = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
        edges = ProxyHeadersMiddleware(edges, trusted_hosts=trusted)
    if door is None:
        return edges
    return FrontDoor(edges, door=door, failed=guard.failed, limit=limit)


class GuardMiddleware:
    """Any exception in front of connexion becomes a 500 in the contract's shape.

    Logs the exception's type and text, never a traceback (which may show
    request data); when the answer had already started, there is nothing
    left to send.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            await self.failed(scope, send, exc, started=started)

    async def failed(self, scope: Scope, send: Send, exc: Exception, *, started: bool) -> None:
        """After ``exc``: a 500 in the contract's shape, unless the answer had started."""
        if started:
            # connexion's ServerErrorMiddleware answered and re-raised; already logged.
            logger.debug("error after the answer started: %s", type(exc).__name__)
            return
        logger.error(
            "internal error on %s %s: %s: %s",
            scope["method"],
            scope["path"],
            type(exc).__name__,
            exc,
        )
        await send_problem(send, internal_error())


class ExactRoutingMiddleware(RoutingMiddleware):
    """connexion's routing without starlette's trailing-slash redirect.

    ``/v1/accounts/me/analytics/usage/`` does not name the endpoint: the
    contract answers 404, where starlette's router would answer 307.
    """

    def add_api(self, *args: Any, **kwargs: Any) -> None:
        super().add_api(*args, **kwargs)
        for route in self.router.routes:
            if isinstance(route, Mount) and isinstance(route.app, Router):
                route.app.redirect_slashes = False

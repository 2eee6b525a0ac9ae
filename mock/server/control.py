"""Runtime scenarios applied, and ``/_usagekit/scenario`` to set them.

:class:`RuntimeScenarioMiddleware` sits in front of the contract's app and
does for the scenario in force (see :mod:`.scenario_store`) what the flags
do: a forced ``code`` (the spec's example body, ``Retry-After`` for 429 and
503), ``latency_ms``, ``error_rate`` (500 or 503) and ``rate_limit`` (429 per
key, each of W workers enforcing rate / W). A ``Prefer`` header still wins
for its own request: ``Prefer: code=`` skips the scenario's failures,
``Prefer: latency=`` its delay, ``Prefer: example=`` both.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .access import KeyIndex, digest
from .admin import json_response
from .pause import pause
from .problems import ShapedRoute, send_bytes
from .ratelimit import RateLimiter, send_too_many
from .routes import api_key, header_values, is_operation
from .scenario_store import Scenario, ScenarioError, Scenarios, ScenarioStore, parse_scenario
from .scenarios import RETRY_AFTER, Chaos, Preferences, parse_prefer

__all__ = ["RuntimeScenarioMiddleware", "scenario_routes"]

logger = logging.getLogger("usagekit.mock.server")

#: The largest scenario body read (a real one is well under 1 KiB).
MAX_BODY_BYTES = 64 * 1024


class _Draws:
    """The chaos and rate limiter of one scenario, rebuilt when the store changes."""

    def __init__(self, scenario: Scenario, *, workers: int, seed: int | None) -> None:
        self.scenario = scenario
        self.chaos = Chaos(
            latency_ms=scenario.latency_ms, error_rate=scenario.error_rate, seed=seed
        )
        rate = scenario.rate_limit
        self.limiter = RateLimiter(rate / workers) if rate is not None else None


class RuntimeScenarioMiddleware:
    """ASGI middleware: the stored scenario of the request's key, or the global one."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: ScenarioStore,
        keys: Callable[[], KeyIndex],
        bodies: Mapping[int, bytes],
        examples: Collection[str] = (),
        workers: int = 1,
        seed: int | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.keys = keys
        self.bodies = bodies
        self.examples = examples
        self.workers = workers
        self.seed = seed
        self._generation = -1
        self._draws: dict[str, _Draws] = {}

    def _draws_for(self, scenarios: Scenarios, key_digest: bytes | None) -> _Draws | None:
        if self.store.generation != self._generation:
            self._generation = self.store.generation
            self._draws = {}
        own = key_digest is not None and key_digest.hex() in scenarios.by_key
        scope_id = key_digest.hex() if own and key_digest is not None else "*"
        scenario = scenarios.for_key(key_digest)
        if scenario is None:
            return None
        draws = self._draws.get(scope_id)
        if draws is None:
            draws = _Draws(scenario, workers=self.workers, seed=self.seed)
            self._draws[scope_id] = draws
        return draws

    def idle(self) -> bool:
        """Whether no scenario is in force: then every request passes straight on."""
        scenarios = self.store.current()
        return scenarios.everyone is None and not scenarios.by_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # No scenario in force (the usual case) is known before the path is matched.
        if self.idle():
            await self.app(scope, receive, send)
            return
        scenarios = self.store.current()
        if not is_operation(scope) or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        key = api_key(scope)
        grant = self.keys().grant(key) if key else None
        draws = self._draws_for(scenarios, grant.digest if grant else None)
        if draws is None:
            await self.app(scope, receive, send)
            return
        prefer = header_values(scope, b"prefer")
        prefs = parse_prefer((v.decode("latin-1") for v in prefer), self.examples)
        delay, failure = draws.chaos.draw() if draws.chaos.active else (0.0, None)
        if delay > 0 and prefs.latency_ms is None:
            after = await pause(delay, receive)
            if after is None:  # the client went: nobody to answer
                return
            receive = after
        if prefs.code is None and prefs.example is None:
            status = draws.scenario.code or failure
            if status is not None:
                extra = _warned(prefs)
                if status in RETRY_AFTER:
                    extra.append((b"retry-after", str(RETRY_AFTER[status]).encode()))
                await send_bytes(send, status, self.bodies[status], extra)
                return
            if draws.limiter is not None and grant is not None:
                wait = draws.limiter.take(grant.digest)
                if wait > 0:
                    shown = f"{draws.scenario.rate_limit or 0:g}"
                    await send_too_many(send, shown, wait, _warned(prefs))
                    return
        await self.app(scope, receive, send)


def _warned(prefs: Preferences) -> list[tuple[bytes, bytes]]:
    """The ``Warning`` of a ``Prefer`` not applied, when the scenario answers instead.

    The contract's app, which would have said so, is not reached: say it here.
    """
    if not prefs.refused:
        return []
    logger.warning("Prefer not applied: %s", "; ".join(prefs.refused))
    return [(b"warning", (prefs.warning or "").encode())]


def scenario_routes(store: ScenarioStore, keys: Callable[[], KeyIndex]) -> list[Route]:
    """``GET``/``PUT``/``DELETE /scenario`` under the admin prefix."""

    def shown(scenarios: Scenarios) -> dict[str, object]:
        # The file holds digests; the answer names the key's account, never the key.
        accounts = {}
        index = keys()
        for hexdigest in scenarios.by_key:
            grant = index.grant_by_digest(bytes.fromhex(hexdigest))
            accounts[hexdigest] = grant.account_id if grant else None
        value = scenarios.to_json()
        value["keys"] = [
            {"account_id": accounts[d], "key_sha256": d, **s} for d, s in value["keys"].items()
        ]
        return value

    async def get_scenario(_request: Request) -> Response:
        return json_response(shown(store.current()))

    async def put_scenario(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:  # read no further: a scenario is a few bytes
                return _invalid([("body", f"is longer than {MAX_BODY_BYTES} bytes")])
        try:
            document = json.loads(bytes(body) or b"null")
        except json.JSONDecodeError as exc:
            return _invalid([("body", f"is not JSON: {exc.msg}")])
        except (ValueError, RecursionError):  # 4,300+ digits, or nested past the stack
            return _invalid([("body", "is not JSON this server reads (too deep or too long)")])
        try:
            scenario, key = parse_scenario(document)
        except ScenarioError as exc:
            return _invalid([(e.field, e.message) for e in exc.errors])
        if key is not None and keys().grant(key.encode()) is None:
            return _invalid([("key", "is not a key of the served dataset")])
        return json_response(shown(store.put(scenario, digest(key.encode()) if key else None)))

    async def delete_scenario(request: Request) -> Response:
        key = request.query_params.get("key")
        if key == "":  # a script's `?key=$KEY` with KEY unset: not "every key"
            return _invalid([("key", "must be an API key; leave it out to reset everything")])
        return json_response(shown(store.delete(digest(key.encode()) if key else None)))

    async def scenario(request: Request) -> Response:
        if request.method == "PUT":
            return await put_scenario(request)
        if request.method == "DELETE":
            return await delete_scenario(request)
        return await get_scenario(request)

    # One route: a method none of them takes is a 405 that names all three.
    return [ShapedRoute("/scenario", scenario, methods=["GET", "PUT", "DELETE"])]


def _invalid(errors: list[tuple[str, str]]) -> Response:
    body = {
        "code": "validation_error",
        "message": "The scenario is not valid.",
        "errors": [{"field": f, "message": m} for f, m in errors],
    }
    return json_response(body, status=422)

"""Unhappy paths on demand: the ``Prefer`` header and whole-session chaos.

A frontend can ask for an error without touching the server, as with Prism:
``Prefer: code=429`` answers that status with the contract's example body for
it (read from ``openapi.yaml``), with ``Retry-After`` for 429 and 503;
``Prefer: latency=300`` delays the answer by 300 ms. Preferences follow RFC
7240 (comma-separated, several headers allowed); codes other than 401, 403,
422, 429, 500 and 503 cannot be forced; the answer names what was honoured in
``Preference-Applied``. ``Prefer: example=NAME`` answers the
named example of the operation's 200 response (Prism's convention). A
preference that cannot be applied -- an unknown name, ``code=404``,
``code=abc``, an unknown example -- does not change the answer: a ``Warning``
header (code 299) and a log line say why, and ``Preference-Applied`` names
only what was applied.

Server flags do the same for a whole session: ``--latency MS[-MS]`` delays
every answer (fixed, or uniform in the range) and ``--error-rate P`` fails a
request with 500 or 503 with probability P, both drawn from one RNG seeded
with ``--chaos-seed``, so a test run is reproducible. A ``Prefer`` header
wins over the flags for its request.

All of it applies to GET on the operation's path only: health checks, the
spec and the Swagger UI are never delayed or failed.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from usagekit.mock.spec import OPERATION_PATH

from .config import MAX_LATENCY_MS
from .pause import pause
from .problems import send_bytes
from .routes import header_values, is_operation

__all__ = [
    "FORCIBLE",
    "Chaos",
    "Preferences",
    "ScenarioMiddleware",
    "example_bodies",
    "named_examples",
    "parse_prefer",
]

logger = logging.getLogger("usagekit.mock.server")

#: The statuses ``Prefer: code=`` may force.
FORCIBLE = (401, 403, 422, 429, 500, 503)
#: ``Retry-After`` of a forced 429 / 503: the seconds the spec's examples name in ``detail``.
RETRY_AFTER = {429: 1, 503: 5}
#: Digits read of a preference's number; longer ones are not applied, unparsed.
MAX_DIGITS = 9
#: ``Prefer`` values longer than this are ignored whole (a real one is a few bytes).
MAX_PREFER_LENGTH = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class Preferences:
    """The honoured preferences of one request, and why the others were not."""

    code: int | None = None
    latency_ms: int | None = None
    #: ``example=NAME``: one of the named examples of the operation's 200 answer.
    example: str | None = None
    #: One reason per preference that was sent but cannot be applied.
    refused: tuple[str, ...] = ()

    @property
    def applied(self) -> str | None:
        """The ``Preference-Applied`` header value, or ``None``."""
        parts = []
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.example is not None:
            parts.append(f"example={self.example}")
        if self.latency_ms is not None:
            parts.append(f"latency={self.latency_ms}")
        return ", ".join(parts) or None

    @property
    def warning(self) -> str | None:
        """The ``Warning`` header value (RFC 7234 code 299) naming what was not applied."""
        if not self.refused:
            return None
        return ", ".join(f'299 usagekit "{reason}"' for reason in self.refused)


def parse_prefer(values: Iterable[str], examples: Collection[str] = ()) -> Preferences:
    """Read ``Prefer`` header values (RFC 7240): ``code=429, latency=200; x=y``.

    The last valid value of each preference wins. ``examples`` are the names
    ``example=`` may pick. Anything else is not applied, and named in
    :attr:`Preferences.refused` with the reason.
    """
    code = latency = example = None
    refused: list[str] = []
    for value in values:
        if len(value) > MAX_PREFER_LENGTH:
            refused.append(f"Prefer longer than {MAX_PREFER_LENGTH} characters ignored")
            continue
        for item in value.split(","):
            token = item.partition(";")[0]
            name, _, raw = token.partition("=")
            name = name.strip().lower()
            text = raw.strip().strip('"')
            if not name:
                continue
            if name == "example":
                if text in examples:
                    example = text
                else:
                    known = ", ".join(examples) or "none"
                    refused.append(f"example={_shown(text)} is not an example (known: {known})")
                continue
            if name not in ("code", "latency"):
                refused.append(f"{_shown(name)} is not a preference this mock applies")
                continue
            # Length first: int() of thousands of digits raises (or costs) before any check.
            if len(text) > MAX_DIGITS or not text.isascii() or not text.isdigit():
                refused.append(f"{name}={_shown(text)} is not a whole number")
                continue
            number = int(text)
            if name == "latency":
                latency = min(number, MAX_LATENCY_MS)
            elif number in FORCIBLE:
                code = number
            else:
                forcible = ", ".join(map(str, FORCIBLE))
                refused.append(f"code={number} cannot be forced (only {forcible})")
    if code is not None and example is not None:
        refused.append(f"example={example} names a 200 answer, and code={code} was forced")
        example = None
    return Preferences(code=code, latency_ms=latency, example=example, refused=tuple(refused))


def _shown(text: str) -> str:
    """A client's text, safe inside a quoted header value and a log line."""
    safe = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "?" for c in text)
    return safe if len(safe) <= 40 else safe[:40] + "..."


def named_examples(spec: Mapping[str, Any]) -> dict[str, bytes]:
    """The named examples of the operation's 200 answer, as bodies (``Prefer: example=``)."""
    content = spec["paths"][OPERATION_PATH]["get"]["responses"]["200"]["content"]
    examples = content["application/json"].get("examples", {})
    return {name: _compact(_resolve(spec, node)["value"]) for name, node in examples.items()}


def example_bodies(spec: Mapping[str, Any]) -> dict[int, bytes]:
    """The spec's example error body of each forcible status of the operation."""
    responses = spec["paths"][OPERATION_PATH]["get"]["responses"]
    bodies = {}
    for status in FORCIBLE:
        response = _resolve(spec, responses[str(status)])
        example = response["content"]["application/json"]["example"]
        bodies[status] = _compact(example)
    return bodies


def _resolve(spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _compact(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class Chaos:
    """Session-wide latency and failures, from one seeded RNG."""

    def __init__(
        self,
        *,
        latency_ms: tuple[int, int] | None,
        error_rate: float,
        seed: int | None,
    ) -> None:
        self.latency_ms = latency_ms
        self.error_rate = error_rate
        self._random = random.Random(seed)

    @property
    def active(self) -> bool:
        return self.latency_ms is not None or self.error_rate > 0

    def draw(self) -> tuple[float, int | None]:
        """The delay (s) and the failure status (or ``None``) of the next request.

        Both are drawn for every request, whatever the outcome, so that a seed
        gives the same sequence however the requests are answered.
        """
        delay = 0.0
        if self.latency_ms is not None:
            low, high = self.latency_ms
            delay = (low if low == high else self._random.uniform(low, high)) / 1000
        failure = None
        if self.error_rate > 0:
            failed = self._random.random() < self.error_rate
            status = self._random.choice((500, 503))
            failure = status if failed else None
        return delay, failure


class ScenarioMiddleware:
    """ASGI middleware: ``Prefer`` and chaos, in front of rate limiting and the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        bodies: Mapping[int, bytes],
        chaos: Chaos,
        examples: Mapping[str, bytes] | None = None,
    ) -> None:
        self.app = app
        self.bodies = bodies
        self.chaos = chaos
        self.examples = examples or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Most requests prefer nothing: that is known before the path is matched.
        prefer_values = header_values(scope, b"prefer") if scope["type"] == "http" else []
        if not prefer_values and not self.chaos.active:
            await self.app(scope, receive, send)
            return
        if not is_operation(scope) or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return

        prefs = parse_prefer((v.decode("latin-1") for v in prefer_values), self.examples)
        if prefs.refused:
            logger.warning("Prefer not applied: %s", "; ".join(prefs.refused))
        delay, failure = self.chaos.draw() if self.chaos.active else (0.0, None)
        if prefs.latency_ms is not None:
            delay = prefs.latency_ms / 1000
        if delay > 0:
            after = await pause(delay, receive)
            if after is None:  # the client went: nobody to answer
                return
            receive = after

        # A named example is the request's answer: the flags' failures do not apply to it.
        status = failure if prefs.example is None else None
        if prefs.code is not None:
            status = prefs.code
        applied, warning = prefs.applied, prefs.warning
        extra = [(b"preference-applied", applied.encode())] if applied else []
        if warning:
            extra.append((b"warning", warning.encode()))
        if status is not None:
            if status in RETRY_AFTER:
                extra.append((b"retry-after", str(RETRY_AFTER[status]).encode()))
            await send_bytes(send, status, self.bodies[status], extra)
            return
        if prefs.example is not None:
            await send_bytes(send, 200, self.examples[prefs.example], extra)
            return
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_applied(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_applied)

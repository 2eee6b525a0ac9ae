"""The mock server's settings: one frozen value, serialisable for worker processes.

uvicorn's ``workers=N`` starts each worker from an import string, so the
parent process writes the config into an environment variable
(:data:`CONFIG_ENV`) and every worker reads the same value back: same
dataset, same pinned "now", same chaos seed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from usagekit.mock.core import instants
from usagekit.mock.core.errors import UsagekitError
from usagekit.mock.core.instants import US
from usagekit.mock.hosts import allowed_names

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CACHE_BYTES",
    "Clock",
    "ConfigError",
    "ServerConfig",
    "parse_instant",
    "parse_latency",
    "parse_rate",
    "wall_clock_hour",
]

#: The environment variable that carries the serialised config to workers.
CONFIG_ENV = "USAGEKIT_MOCK_CONFIG"
#: The whole server's cache budget (``--cache-mb``): encoded bodies and front entries,
#: shared out among the workers.
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
#: The lowest rate limit (requests per second per key; ``--rate-limit``, a runtime scenario's
#: ``rate_limit``): a 429's ``Retry-After`` is then at most 10**6 s per worker, where a
#: rate near the float's smallest made it infinite (a 500) or hundreds of digits long.
MIN_RATE_LIMIT = 1e-6
#: The longest delay any knob may ask for (``--latency``, ``Prefer: latency=``, a
#: scenario's ``latency_ms``), so that no answer is held for ever.
MAX_LATENCY_MS = 60_000


class ConfigError(UsagekitError, ValueError):
    """A server option that cannot be used, with the reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """Everything a worker needs to build the same app as every other worker."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    #: A dataset directory (``--data``); ``None`` serves the synthetic dataset.
    data_dir: str | None = None
    #: Seed of the synthetic dataset; ``None`` takes the generator's default.
    seed: int | None = None
    #: Conversations of the synthetic dataset; ``None`` takes the generator's default.
    size: int | None = None
    #: ``--now``: the pinned "now" (µs) of every request; ``None`` reads the wall clock.
    now: int | None = None
    #: The instant the synthetic dataset is generated around (µs), the same in every
    #: worker; ``None`` until :func:`usagekit.mock.server.run.prepare` decides it.
    anchor: int | None = None
    #: Test seam: ``"module:function"`` returning the Dataset each worker serves.
    dataset_factory: str | None = None
    #: Added latency in ms: fixed when both ends are equal, else uniform in [low, high].
    latency_ms: tuple[int, int] | None = None
    #: Probability that a request of the operation fails with 500 or 503.
    error_rate: float = 0.0
    #: Seed of the latency and error-rate draws; ``None`` is random.
    chaos_seed: int | None = None
    #: Requests per second per key, over all workers; ``None`` disables the limiter.
    rate_limit: float | None = None
    #: Allowed CORS origins; empty allows every origin (``*``).
    cors_origins: tuple[str, ...] = ()
    #: ``--allowed-host``: names answered besides localhost and IP addresses (``*.x``, ``*``);
    #: empty: those only on a loopback ``host``, any elsewhere (:mod:`usagekit.mock.hosts`).
    allowed_hosts: tuple[str, ...] = ()
    #: Bytes the server may keep of answers and resolved requests (``--cache-mb``),
    #: over all workers.
    cache_bytes: int = DEFAULT_CACHE_BYTES
    #: Seconds a connection has to send a whole request (``--read-timeout``).
    read_timeout: float = 5.0
    #: Seconds an idle keep-alive connection stays open (``--keep-alive``).
    keep_alive: float = 5.0
    #: Open connections per worker; one more gets a 503 and is closed.
    max_connections: int = 1000
    #: Requests answered at once per worker; one more gets a 503 with Retry-After.
    max_requests: int = 256
    #: ``--watch``: reload ``data_dir`` when its files change.
    watch: bool = False
    #: ``--admin-token``: ``/_usagekit/*`` wants it as a bearer token (else loopback only).
    admin_token: str | None = None
    #: Where workers share runtime scenarios and the requests journal; ``None``: memory.
    control_dir: str | None = None
    access_log: bool = True
    log_level: str = "info"

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, not {self.workers}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ConfigError(f"error rate must lie in [0, 1], not {self.error_rate}")
        if self.rate_limit is not None and not (
            math.isfinite(self.rate_limit) and self.rate_limit >= MIN_RATE_LIMIT
        ):
            raise ConfigError(
                f"rate limit must be at least {MIN_RATE_LIMIT:g}/s, not {self.rate_limit}"
            )
        if self.latency_ms is not None:
            low, high = self.latency_ms
            if not 0 <= low <= high <= MAX_LATENCY_MS:
                raise ConfigError(
                    f"latency must be MS or LOW-HIGH with LOW <= HIGH <= {MAX_LATENCY_MS}, "
                    f"not {low}-{high}"
                )
        if self.cache_bytes < 0:
            raise ConfigError("cache size must not be negative")
        for name in ("read_timeout", "keep_alive"):
            seconds = getattr(self, name)
            if not (math.isfinite(seconds) and seconds > 0):
                raise ConfigError(f"{name.replace('_', ' ')} must be positive seconds")
        if self.max_connections < 1 or self.max_requests < 1:
            raise ConfigError("connection and request limits must be at least 1")
        if self.data_dir is not None and (self.seed is not None or self.size is not None):
            raise ConfigError("--data and --seed/--size exclude each other")
        if self.watch and self.data_dir is None:
            raise ConfigError("--watch needs --data DIR")
        try:
            object.__setattr__(self, "allowed_hosts", allowed_names(self.allowed_hosts))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    @property
    def forwarded_inside(self) -> bool:
        """Whether the app reads ``X-Forwarded-*`` itself, inside the front door, instead of
        uvicorn's ``proxy_headers`` around it: what the door answers never reads the
        client's address or scheme -- but an access log line does, so with one uvicorn
        reads them first, as it always did."""
        return not self.access_log

    @property
    def rate_per_worker(self) -> float | None:
        """Each worker enforces its share: N workers each allow ``rate_limit / N``."""
        return None if self.rate_limit is None else self.rate_limit / self.workers

    @property
    def cache_bytes_per_worker(self) -> int:
        """Each worker's share of ``cache_bytes``: N workers use no more than one would."""
        return self.cache_bytes // self.workers

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_env(cls, text: str | None = None) -> ServerConfig:
        raw: dict[str, Any] = json.loads(os.environ[CONFIG_ENV] if text is None else text)
        if raw.get("latency_ms") is not None:
            raw["latency_ms"] = tuple(raw["latency_ms"])
        raw["cors_origins"] = tuple(raw.get("cors_origins", ()))
        raw["allowed_hosts"] = tuple(raw.get("allowed_hosts", ()))
        return cls(**raw)


@dataclass(frozen=True, slots=True)
class Clock:
    """The requests' "now" (µs): pinned by ``--now``, else the wall clock in whole seconds."""

    pinned_at: int | None = None
    #: The wall clock (seconds since the epoch); a test seam.
    source: Callable[[], float] = time.time

    @property
    def pinned(self) -> bool:
        return self.pinned_at is not None

    def second(self) -> int:
        """The wall clock's current whole second."""
        return int(self.source())

    def now(self) -> int:
        if self.pinned_at is not None:
            return self.pinned_at
        return self.second() * US


def parse_instant(text: str) -> int:
    """``--now``: an RFC 3339 date-time *with* offset, as µs."""
    try:
        return instants.parse_instant(text)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def parse_latency(text: str) -> tuple[int, int]:
    """``--latency``: ``MS`` or ``LOW-HIGH`` in whole milliseconds."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?(?:ms)?\s*", text)
    if match is None:
        raise ConfigError(f"latency {text!r} is not MS or LOW-HIGH (milliseconds)")
    # Length first: int() of thousands of digits raises before any check.
    if any(len(digits) > 9 for digits in match.groups() if digits is not None):
        raise ConfigError(f"latency {text[:20]!r}...: at most {MAX_LATENCY_MS} ms (a minute)")
    low = int(match[1])
    high = int(match[2]) if match[2] is not None else low
    if low > high:
        raise ConfigError(f"latency {text!r}: LOW must not exceed HIGH")
    if high > MAX_LATENCY_MS:
        raise ConfigError(f"latency {text!r}: at most {MAX_LATENCY_MS} ms (a minute)")
    return low, high


def parse_rate(text: str) -> float:
    """``--rate-limit``: ``N/s`` (or plain ``N``) requests per second per key."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*s)?\s*", text)
    if match is None or float(match[1]) <= 0:
        raise ConfigError(f"rate limit {text!r} is not a positive N/s")
    if float(match[1]) < MIN_RATE_LIMIT:
        raise ConfigError(f"rate limit {text!r} is under {MIN_RATE_LIMIT:g}/s")
    return float(match[1])


def wall_clock_hour() -> int:
    """Now, floored to the UTC hour (µs): the default anchor of the synthetic dataset."""
    return int(time.time() // 3600) * 3600 * US

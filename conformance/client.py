"""The kit's HTTP client: sends exactly the request a rule asks for.

Query parameters go out exactly as given, in order -- the comma form of
``group_by``, the repeated form, or both -- because telling them apart is part
of what the kit tests.

Transient refusals are not verdicts: a 429 or a 503 is sent again up to
``--retries`` times, each after the ``Retry-After`` it names (capped at
:data:`MAX_WAIT`), so that a rate limit or a brief overload slows the run down
instead of failing rules; only one that persists reaches the rules.

A request that gets no answer is a finding of the rule that sent it --
:class:`~usagekit.conformance.failures.TooSlow` past ``--timeout``,
:class:`~usagekit.conformance.failures.NoAnswer` when the connection fails --
once the server has answered anything. Before its first answer, the server is
:class:`~usagekit.conformance.errors.Unreachable` and the run cannot start.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime

import httpx

from .config import KitConfig
from .errors import Unreachable
from .exchange import Exchange, KeyRole, usage_path
from .failures import NoAnswer, TooSlow

__all__ = ["INVALID_KEY", "MAX_WAIT", "RETRIED", "Client"]

#: A key no server issued.
INVALID_KEY = "sk-usagekit-conformance-invalid-0000000000"
#: Statuses that say "try again later".
RETRIED = frozenset({429, 503})
#: The longest the kit waits before sending a refused request again (s).
MAX_WAIT = 10.0


class Client:
    def __init__(self, config: KitConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.Client(timeout=config.timeout, transport=transport)
        self.answered = False  # whether the server has answered anything yet

    def close(self) -> None:
        self._http.close()

    def send(
        self,
        *,
        account: str,
        params: Sequence[tuple[str, str]] = (),
        key: KeyRole = KeyRole.ACCOUNT,
        method: str = "GET",
        path: str | None = None,
    ) -> Exchange:
        """One request to the usage endpoint of ``account`` (or to ``path``)."""
        path = path or usage_path(account)
        headers = {}
        key_text = self._key(key)
        if key_text is not None:
            headers["X-API-Key"] = key_text
        request = self._http.build_request(
            method, self.config.base_url + path, params=list(params), headers=headers
        )
        sent = Exchange(
            method=method,
            base_url=self.config.base_url,
            path=path,
            account=account,
            params=tuple(params),
            key=key,
            key_text=key_text if key is KeyRole.INVALID else None,
            status=0,
            headers={},
            content=b"",
            elapsed=0.0,
            sent_url=str(request.url),
        )
        for attempt in range(self.config.retries + 1):
            started = time.perf_counter()
            response = self._answer(request, sent)
            elapsed = time.perf_counter() - started
            if response.status_code not in RETRIED or attempt == self.config.retries:
                break
            time.sleep(retry_after(response.headers.get("retry-after")))
        return Exchange(
            method=method,
            base_url=sent.base_url,
            path=path,
            account=account,
            params=sent.params,
            key=key,
            key_text=sent.key_text,
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=response.content,
            elapsed=elapsed,
            sent_url=sent.sent_url,
        )

    def status_at(self, url: str, params: Sequence[tuple[str, str]]) -> int | None:
        """The status ``url`` answers with --api-key, or None: a probe, not judged."""
        try:
            response = self._http.get(
                url, params=list(params), headers={"X-API-Key": self.config.api_key}
            )
        except httpx.HTTPError:
            return None
        return response.status_code

    def _answer(self, request: httpx.Request, sent: Exchange) -> httpx.Response:
        try:
            response = self._http.send(request)
        except httpx.TimeoutException as exc:
            if not self.answered:
                raise Unreachable(f"{sent.method} {sent.url}: {_timed_out(self.config)}") from exc
            raise TooSlow(_timed_out(self.config), exchanges=(sent,)) from exc
        except httpx.HTTPError as exc:
            if not self.answered:
                raise Unreachable(f"{sent.method} {sent.url}: {exc}") from exc
            raise NoAnswer(f"no answer: {exc}", exchanges=(sent,)) from exc
        self.answered = True
        return response

    def _key(self, role: KeyRole) -> str | None:
        return {
            KeyRole.ACCOUNT: self.config.api_key,
            KeyRole.SUBACCOUNT: self.config.subaccount_key,
            KeyRole.INVALID: INVALID_KEY,
            KeyRole.NONE: None,
        }[role]


def _timed_out(config: KitConfig) -> str:
    return f"no answer within --timeout {config.timeout:g} s"


def retry_after(value: str | None) -> float:
    """Seconds to wait as ``Retry-After`` says (seconds or an HTTP date), at most MAX_WAIT."""
    if value is None:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 1.0
    return min(MAX_WAIT, max(0.05, seconds))

"""The kit's HTTP client: sends exactly the request a rule asks for.

Query parameters go out exactly as given, in order -- the comma form of
``group_by``, the repeated form, or both -- because telling them apart is part
of what the kit tests. A 429 is honoured: the client waits ``Retry-After``
(capped) and retries, so that a server's rate limit slows the run down
instead of failing rules.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx

from .config import KitConfig
from .errors import Unreachable
from .exchange import Exchange, KeyRole, usage_path

__all__ = ["INVALID_KEY", "Client"]

#: A key no server issued.
INVALID_KEY = "sk-usagekit-conformance-invalid-0000000000"
_MAX_RETRIES = 3
_MAX_WAIT = 5.0


class Client:
    def __init__(self, config: KitConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.Client(timeout=config.timeout, transport=transport)

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
        url = self.config.base_url + path
        for attempt in range(_MAX_RETRIES + 1):
            started = time.perf_counter()
            try:
                response = self._http.request(method, url, params=list(params), headers=headers)
            except httpx.HTTPError as exc:
                raise Unreachable(f"{method} {url}: {exc}") from exc
            elapsed = time.perf_counter() - started
            if response.status_code != 429 or attempt == _MAX_RETRIES:
                break
            time.sleep(_retry_after(response))
        return Exchange(
            method=method,
            base_url=self.config.base_url,
            path=path,
            account=account,
            params=tuple(params),
            key=key,
            key_text=key_text if key is KeyRole.INVALID else None,
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=response.content,
            elapsed=elapsed,
            sent_url=str(response.request.url),
        )

    def _key(self, role: KeyRole) -> str | None:
        return {
            KeyRole.ACCOUNT: self.config.api_key,
            KeyRole.SUBACCOUNT: self.config.subaccount_key,
            KeyRole.INVALID: INVALID_KEY,
            KeyRole.NONE: None,
        }[role]


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(_MAX_WAIT, max(0.05, float(response.headers.get("retry-after", "1"))))
    except ValueError:
        return 1.0

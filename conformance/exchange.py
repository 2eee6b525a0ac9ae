"""One request and its response, as every rule sees them, and how to replay it.

Responses come from two places -- the kit's own targeted requests (httpx) and
the cases schemathesis generates (requests) -- and every response rule reads
them through this one record. ``curl()`` reproduces the request; keys appear as
``$USAGEKIT_API_KEY`` / ``$USAGEKIT_SUBACCOUNT_KEY`` so that reports can be
pasted into CI logs without leaking them, and still run as written.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlencode

from usagekit.mock.spec import OPERATION_PATH

__all__ = ["OPERATION", "Exchange", "KeyRole", "is_usage_path", "usage_path"]

#: The operation every finding is about, as reports name it.
OPERATION = f"GET {OPERATION_PATH}"
_USAGE_PATH = re.compile(re.escape(OPERATION_PATH).replace(r"\{account_id\}", "[^/]+"))


def usage_path(account: str) -> str:
    """The endpoint's path for ``account`` (an id or ``me``), percent-encoded."""
    return OPERATION_PATH.format(account_id=quote(account, safe=""))


def is_usage_path(path: str) -> bool:
    """Whether ``path`` is the endpoint's, for any account."""
    return _USAGE_PATH.fullmatch(path) is not None


class KeyRole(StrEnum):
    """Which key a request carried, so that rules know what to expect."""

    ACCOUNT = "account"  # --api-key, the key of --account-id
    SUBACCOUNT = "subaccount"  # --subaccount-key
    NONE = "none"  # no X-API-Key header
    INVALID = "invalid"  # a key no server issued

    @property
    def variable(self) -> str | None:
        return {"account": "USAGEKIT_API_KEY", "subaccount": "USAGEKIT_SUBACCOUNT_KEY"}.get(
            self.value
        )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Exchange:
    """A request the kit sent or schemathesis generated, and what came back."""

    method: str
    base_url: str
    path: str  # with the account id filled in
    account: str  # the account_id path segment as sent (may be "me")
    params: tuple[tuple[str, str], ...]  # query parameters as sent, in order
    key: KeyRole
    key_text: str | None  # the literal key, only for KeyRole.INVALID
    status: int
    headers: dict[str, str]  # lower-case names
    content: bytes
    elapsed: float  # seconds
    _json: list[Any] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        query = urlencode(self.params, safe=",:/")
        return f"{self.base_url}{self.path}" + (f"?{query}" if query else "")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON; ``ValueError`` when it is not JSON."""
        if not self._json:
            self._json.append(json.loads(self.content))
        return self._json[0]

    def values(self, name: str) -> list[str]:
        """Every value sent for query parameter ``name``."""
        return [value for key, value in self.params if key == name]

    def curl(self) -> str:
        parts = ["curl", "-sS"]
        if self.method != "GET":
            parts += ["-X", self.method]
        if self.key is KeyRole.INVALID:
            parts += ["-H", shlex.quote(f"X-API-Key: {self.key_text}")]
        elif self.key.variable:
            parts += ["-H", f'"X-API-Key: ${self.key.variable}"']
        parts.append(shlex.quote(self.url))
        return " ".join(parts)

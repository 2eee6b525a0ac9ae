"""What the middlewares in front of connexion need to know about a raw ASGI request.

The scenario, rate-limit and front-cache middlewares act on the contract's one
operation only; they recognise its path with the pattern starlette's router
uses for ``{account_id}`` (one non-empty segment), and read headers and the
query string straight from the scope.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.types import Scope

from usagekit.mock.spec import OPERATION_PATH
from usagekit.mock.wire import OWS

__all__ = [
    "API_KEY_HEADER",
    "KEY_DIGEST",
    "SENT",
    "api_key",
    "header",
    "header_values",
    "is_operation",
    "names_operation",
    "query_lists",
]

#: The contract's security scheme: ``X-API-Key``, as ASGI spells header names.
API_KEY_HEADER = b"x-api-key"

# What the front cache leaves in the scope's ``extensions`` for the layers outside it,
# so that they do not read the request again: the SHA-256 digest of the request's key,
# and the names of the contract's parameters the query string wrote (a frozenset).
KEY_DIGEST = "usagekit.key_digest"
SENT = "usagekit.sent"

# "/v1/accounts/{account_id}/analytics/usage" -> ^/v1/accounts/[^/]+/analytics/usage$
_PARTS = re.split(r"\{[^}]+\}", OPERATION_PATH)
_OPERATION = re.compile("^" + "[^/]+".join(re.escape(part) for part in _PARTS) + "$")


def is_operation(scope: Scope) -> bool:
    """Whether this HTTP request names the operation's path (any method)."""
    return scope["type"] == "http" and _OPERATION.match(scope["path"]) is not None


def names_operation(path: str) -> bool:
    """Whether ``path`` (decoded, as a scope's) is the operation's, for any account."""
    return _OPERATION.match(path) is not None


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case), or ``None``."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def api_key(scope: Scope) -> bytes | None:
    """The request's ``X-API-Key`` value without the whitespace around it (RFC 9110, 5.5),
    ``b""`` if it holds nothing else, ``None`` if none was sent. Every layer reads the key
    here, so that each one reads the same key."""
    for key, value in scope["headers"]:
        if key == API_KEY_HEADER:
            return value.strip(OWS)  # field_value's, without a call on the door's path
    return None


def header_values(scope: Scope, name: bytes) -> list[bytes]:
    """Every value of header ``name`` (lower case), in order."""
    return [value for key, value in scope["headers"] if key == name]


def query_lists(query_string: bytes) -> dict[str, list[str]]:
    """Each parameter's values, as starlette's ``QueryParams`` reads them for connexion
    (latin-1, ``parse_qsl`` keeping blank values). Without ``%`` or ``+`` nothing is
    unquoted, and splitting on ``&`` and the first ``=`` gives the same pairs, cheaper."""
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text:
        pairs = parse_qsl(text, keep_blank_values=True)
    else:
        pairs = [field.partition("=")[::2] for field in text.split("&") if field]
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        found.setdefault(name, []).append(value)
    return found

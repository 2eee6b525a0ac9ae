"""What the middlewares in front of connexion need to know about a raw ASGI request.

The scenario, rate-limit and front-cache middlewares act on the contract's one
operation only; they recognise its path with the pattern starlette's router
uses for ``{account_id}`` (one non-empty segment), and read headers and the
query string straight from the scope.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

from starlette.types import Scope

from usagekit.mock.spec import OPERATION_PATH
from usagekit.mock.wire import OWS

__all__ = [
    "API_KEY_HEADER",
    "KEY_DIGEST",
    "SENT",
    "account_named",
    "api_key",
    "header",
    "header_values",
    "is_operation",
    "keep_escaped",
    "names_operation",
    "path_of",
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


# What a path keeps escaped: a slash that is data, and the percent sign that says so.
_KEPT = re.compile(r"(%2[fF5])")


def keep_escaped(scope: Scope) -> None:
    """Reads the path again from ``raw_path`` when it holds ``%2F`` or ``%25``: every
    escape decoded but those, so that an escaped slash stays inside its segment (RFC 3986,
    2.2) and a ``%`` in the path always starts an escape. ASGI servers decode the whole
    path, where ``org%2Fmain`` is two segments and ``org%252Fmain`` the same text."""
    raw = scope.get("raw_path")
    if raw and raw.find(b"%2") >= 0:
        scope["path"] = path_of(raw.decode("latin-1"))


def path_of(raw: str) -> str:
    """A raw path decoded as :func:`keep_escaped` reads it."""
    parts = _KEPT.split(raw)
    return "".join(part.upper() if i % 2 else unquote(part) for i, part in enumerate(parts))


def account_named(segment: str) -> str:
    """The ``account_id`` a path segment names, once :func:`keep_escaped` has read it."""
    return unquote(segment) if "%" in segment else segment


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
    here, so that each one reads the same key.

    Sent on several lines, it is their values joined by ``", "``, as RFC 9110 (5.3) reads
    a repeated field: a singleton field repeated is no key the server issued (401), where
    reading the first or the last line would let either pass for the request's key."""
    found = None
    for name, value in scope["headers"]:
        if name == API_KEY_HEADER:
            value = value.strip(OWS)  # field_value's, without a call on the door's path
            found = value if found is None else found + b", " + value
    return found


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

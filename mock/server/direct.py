"""One validation pass for a valid request: the core reads the query string itself.

A request the front cache has not seen goes, in the general case, through
connexion's routing, security, URI parsing, a jsonschema check of every
parameter and then the core's :func:`resolve_query` -- two validations of the
same text. :class:`DirectResolver` lets a *valid* request skip all of that:
it reads the query string once (as starlette's parser does for connexion),
checks the key with the same :class:`KeyIndex`, and hands the text to
:func:`resolve_query`, which parses each parameter once and applies the
contract's defaults. Anything else -- a bad key, a foreign account, a
repeated scalar, a value the core refuses -- returns ``None`` and the request
goes through connexion unchanged, so every error keeps its exact body.

The core is the sole validator on this path; it may accept nothing that the
spec's schemas refuse. What it reads from the spec at start-up (which
parameters exist and which read a lone ``null`` as absent), and what
``tests/test_server_direct.py`` checks against ``openapi.yaml`` (every enum,
range, default, item cap and pattern), keep it so; the same test sends
thousands of generated requests both ways and compares the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import Scope

from usagekit.mock.core.errors import QueryError
from usagekit.mock.core.instants import US
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.spec import OPERATION_PATH

from .access import KeyIndex
from .config import Clock
from .routes import account_named
from .validation import NULL, NULLABLE, Resolved

__all__ = ["DirectResolver", "query_parameters"]

#: The request's path segments of the operation, ``account_id`` in the middle.
_PREFIX, _SUFFIX = OPERATION_PATH.split("{account_id}")


def query_parameters(spec: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The operation's query parameters by name, ``$ref`` resolved."""
    components = spec["components"]["parameters"]
    found = {}
    for param in spec["paths"][OPERATION_PATH]["get"]["parameters"]:
        if "$ref" in param:
            param = components[param["$ref"].rsplit("/", 1)[1]]
        if param["in"] == "query":
            found[param["name"]] = param
    return found


class DirectResolver:
    """The :class:`Resolved` of a valid, authorised request, or ``None``."""

    def __init__(self, spec: Mapping[str, Any], keys: KeyIndex, clock: Clock) -> None:
        params = query_parameters(spec)
        self.keys = keys
        self.clock = clock
        self.nullable = frozenset(
            name
            for name, param in params.items()
            if param.get(NULLABLE) or param.get("schema", {}).get("nullable")
        )
        self.arrays = frozenset(
            name for name, param in params.items() if param.get("schema", {}).get("type") == "array"
        )
        self.scalars = frozenset(params) - self.arrays
        unknown = set(params) - set(RawQuery.__dataclass_fields__)
        if unknown:
            raise ValueError(f"the core reads no parameter {sorted(unknown)} of the spec")

    def resolve(
        self,
        scope: Scope,
        key: bytes,
        written: Mapping[str, list[str]],
        key_digest: bytes | None = None,
    ) -> Resolved | None:
        """``written`` is the query string as :func:`.routes.query_lists` reads it;
        ``key_digest``: the key's digest, when the caller has it already."""
        grant = self.keys.grant(key, key_digest)
        if grant is None:
            return None
        account_id = grant.resolve(account_named(scope["path"][len(_PREFIX) : -len(_SUFFIX)]))
        if account_id is None:
            return None
        text: dict[str, Any] = {}
        for name in self.scalars:
            values = written.get(name, ())
            if len(values) > 1:
                return None  # connexion joins repeated scalars; its validator decides
            if values and not (values[0] == NULL and name in self.nullable):
                text[name] = values[0]
        for name in self.arrays:
            values = written.get(name, ())
            if values and not (values == [NULL] and name in self.nullable):
                text[name] = values
        now = self.clock.now()
        try:
            query = resolve_query(RawQuery(**text), account_id=account_id, now=now)
        except QueryError:
            return None
        second = None if self.clock.pinned or "end" in text else now // US
        return Resolved(query=query, second=second)

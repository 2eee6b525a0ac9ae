"""Who may read what: API keys, tenancy, and ``me``.

Keys are indexed by their SHA-256 digest, so a lookup never compares the
secret byte by byte against the table; the one candidate the digest finds is
then confirmed with :func:`hmac.compare_digest`. A key of a top-level account
reads that account and its direct subaccounts; a subaccount's key reads only
itself; ``me`` is the key's own account. Every other account -- another
tenant's, a parent seen from a subaccount, or one that does not exist -- is
403, so that no answer tells whether an account exists.

:class:`ApiKeySecurity` plugs this into connexion's security layer through
``security_map={"apiKey": ...}``, so the public spec needs no
``x-apikeyInfoFunc``. It runs before request validation: 401 always wins
over 422.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connexion.lifecycle import ConnexionRequest

from usagekit.mock.core.dataset import Dataset

from .problems import forbidden, unauthorized
from .routes import account_named, api_key

__all__ = ["ME", "ApiKeySecurity", "Grant", "KeyIndex", "digest"]

#: The path alias of the key's own account.
ME = "me"


def digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """What one key may read."""

    account_id: str
    readable: frozenset[str]
    #: The key's SHA-256 digest: what rate limits and caches are keyed on, never the key.
    digest: bytes

    def resolve(self, requested: str) -> str | None:
        """The real id of the requested account, or ``None`` when this key may not read it."""
        if requested == ME:
            return self.account_id
        return requested if requested in self.readable else None


class KeyIndex:
    """Every key of a dataset, by digest, with the accounts it may read."""

    def __init__(self, dataset: Dataset) -> None:
        self._by_digest: dict[bytes, tuple[bytes, Grant]] = {}
        for key, account in dataset.keys().items():
            readable = {account.id}
            if account.parent_id is None:
                readable.update(sub.id for sub in dataset.subaccounts(account.id))
            secret = key.encode()
            key_digest = digest(secret)
            grant = Grant(account_id=account.id, readable=frozenset(readable), digest=key_digest)
            self._by_digest[key_digest] = (secret, grant)

    def __len__(self) -> int:
        return len(self._by_digest)

    def grant(self, key: bytes, key_digest: bytes | None = None) -> Grant | None:
        """The grant of ``key`` (``key_digest``: its :func:`digest`, when known), or
        ``None`` when no account has it."""
        found = self._by_digest.get(digest(key) if key_digest is None else key_digest)
        if found is None:
            return None
        secret, grant = found
        return grant if hmac.compare_digest(secret, key) else None

    def grant_by_digest(self, key_digest: bytes) -> Grant | None:
        """The grant of the key with this SHA-256 digest (a stored scenario's key)."""
        found = self._by_digest.get(key_digest)
        return None if found is None else found[1]


class ApiKeySecurity:
    """connexion's security handler for the ``apiKey`` scheme, over a :class:`KeyIndex`.

    ``security_map={"apiKey": lambda: ApiKeySecurity(index)}``: connexion calls
    the factory, then :meth:`get_fn` once per operation.
    """

    def __init__(self, keys: KeyIndex) -> None:
        self.keys = keys

    def get_fn(
        self, security_scheme: Mapping[str, Any], required_scopes: object
    ) -> Callable[[ConnexionRequest], dict[str, str]]:
        header = str(security_scheme["name"])
        keys = self.keys

        def verify(request: ConnexionRequest) -> dict[str, str]:
            sent = api_key(request.scope)
            if not sent:
                raise unauthorized(f"No {header} header was sent.")
            grant = keys.grant(sent)
            if grant is None:
                raise unauthorized(f"The {header} is not a valid key.")
            requested = account_named(request.scope.get("path_params", {}).get("account_id", ""))
            account_id = grant.resolve(requested)
            if account_id is None:
                raise forbidden(requested)
            # "sub" is what connexion puts in context["user"]; account_id is the real id.
            return {"sub": grant.account_id, "account_id": account_id}

        return verify

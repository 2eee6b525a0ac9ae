"""One exchange of the operation, as the kit's rule tests build it by hand."""

from __future__ import annotations

from usagekit.conformance.exchange import Exchange, KeyRole


def usage_exchange(
    content: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Exchange:
    """A GET of account ``a``'s usage with an account key, answered ``status`` and
    ``content`` (JSON by default)."""
    return Exchange(
        method="GET",
        base_url="http://x",
        path="/v1/accounts/a/analytics/usage",
        account="a",
        params=(),
        key=KeyRole.ACCOUNT,
        key_text=None,
        status=status,
        headers={"content-type": "application/json"} if headers is None else headers,
        content=content,
        elapsed=0.0,
    )

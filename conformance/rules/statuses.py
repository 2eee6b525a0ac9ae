"""The reference's status for every request, and the fields a 422 names.

Judged on every exchange of the endpoint, whoever sent it: the oracle knows,
without asking the server, who may read the account and whether the
parameters are valid, so every generated case is held to the right status.
"""

from __future__ import annotations

from usagekit.conformance.failures import WrongStatus, WrongValue
from usagekit.conformance.oracle import Access
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import NOT_APPLICABLE, Verdict, needs, response_rule
from usagekit.conformance.view import ExchangeView
from usagekit.mock.core.errors import QueryError

__all__ = ["status_matches_reference"]


@response_rule(Profile.REFERENCE)
@needs("endpoint", "resolved")
def status_matches_reference(view: ExchangeView) -> Verdict:
    """The status is the reference's, and a 422 names every invalid field.

    401 without a valid key, 422 for invalid parameters, 403 for an account the
    key may not read, 200 otherwise.
    """
    exchange = view.exchange
    if exchange.status == 429 or view.access is Access.UNKNOWN:
        return NOT_APPLICABLE
    invalid = view.invalid
    if view.access is Access.UNAUTHENTICATED:
        # Whether a bad key or bad parameters come first is the server's choice.
        expected, what = ({401}, "a request without a valid key") if not invalid else (None, "")
    elif view.access is Access.FORBIDDEN:
        expected, what = (
            ({403}, "a key on an account it may not read") if not invalid else (None, "")
        )
    elif invalid:
        expected, what = {422}, "invalid parameters"
    else:
        expected, what = {200}, "a valid request"
    if expected is None:
        return NOT_APPLICABLE
    if exchange.status not in expected:
        raise WrongStatus(
            f"{what} got {exchange.status}, expected {min(expected)}",
            detail=_invalid_detail(invalid) if invalid else "",
            exchanges=(exchange,),
        )
    if invalid is not None:
        _fields_named(view, invalid)
    return None


def _invalid_detail(query: QueryError) -> str:
    return "invalid: " + "; ".join(f"{e.field}: {e.message}" for e in query.errors)


def _fields_named(view: ExchangeView, query: QueryError) -> None:
    if view.error is None:
        return
    named = set(view.error.fields or ())
    missing = [e.field for e in query.errors if not named & {e.field, *e.related}]
    allowed = {name for e in query.errors for name in (e.field, *e.related)}
    extra = sorted(named - allowed)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"does not name {', '.join(missing)}")
        if extra:
            parts.append(f"names valid {', '.join(extra)}")
        raise WrongValue(
            "the 422 " + " and ".join(parts),
            detail=_invalid_detail(query),
            exchanges=(view.exchange,),
        )

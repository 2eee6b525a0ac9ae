"""A second, independent implementation of the contract, with faults to switch on.

The conformance kit must pass a correct server that is *not* our connexion
mock, and catch servers that break the contract in ways nobody on the team
wrote down. This is a deliberately plain Starlette app: hand-written parameter
parsing, auth and errors, the core only for the arithmetic. Each ``Fault``
reproduces a mistake real implementations make; ``tests/test_conformance_*``
check that the kit names the right rule for each. Each ``Variant``
(``servers.variants``) is another correct answer where the contract admits
more than one; the kit must pass each.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from servers import variants as alt
from servers.faults import REWRITES, Fault, as_utc, seven_days_before
from servers.variants import Variant
from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.errors import QueryError
from usagekit.mock.core.instants import US
from usagekit.mock.core.query import RawQuery, UsageQuery, resolve_query
from usagekit.mock.core.response import UsageMeta
from usagekit.mock.core.zones import get_timeline
from usagekit.mock.spec import OPERATION_PATH

_MILLENNIUM = 1000 * 365 * 86_400 * US


@dataclass(frozen=True, slots=True, kw_only=True)
class MinimalServer:
    dataset: Dataset
    faults: frozenset[Fault] = frozenset()
    variants: frozenset[Variant] = frozenset()
    now: int | None = None  # µs; None = wall clock
    #: Seconds to stall on a range of more than a thousand years, as a server that
    #: walks the whole range before cutting at limit does (0: never).
    slow: float = 0.0
    _aggregate: Aggregator = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aggregate", Aggregator(self.dataset))

    def app(self) -> Any:
        """The server as an ASGI app (a Starlette app, behind what the variants add)."""
        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
        app = Starlette(
            routes=[Route(OPERATION_PATH, self.usage, methods=methods)],
            exception_handlers={404: self.not_found, 405: self.not_allowed},
        )
        return alt.wrapped(app, self.variants)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.error(404, "not_found", f"No endpoint at {request.url.path}")

    async def not_allowed(self, request: Request, exc: Exception) -> Response:
        return self.not_allowed_answer(request)

    def not_allowed_answer(self, request: Request) -> Response:
        headers = alt.json_headers(self.variants, allow=Fault.NO_ALLOW_HEADER not in self.faults)
        return self.error(405, "method_not_allowed", f"{request.method} is not allowed", headers)

    # -- the endpoint ------------------------------------------------------

    async def usage(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return self.not_allowed_answer(request)
        owner = self.authenticate(request.headers.get("x-api-key"))
        requested = request.path_params["account_id"]
        account_id = (owner.id if owner else requested) if requested == "me" else requested
        checks = [self.check_key, self.check_query, self.check_access]
        if Variant.VALIDATES_BEFORE_AUTHENTICATING in self.variants:
            checks = [self.check_query, self.check_key, self.check_access]
        if Variant.AUTHORISES_BEFORE_VALIDATING in self.variants:
            checks = [self.check_key, self.check_access, self.check_query]
        for check in checks:
            refused = check(request, owner, account_id)
            if refused is not None:
                return refused
        query = resolve_query(self.raw_query(request), account_id=account_id, now=self.clock())
        if self.slow and query.end - query.start > _MILLENNIUM:
            await asyncio.sleep(self.slow)
        body = self.answer(query)
        if Fault.ME_ECHOED in self.faults and requested == "me":
            body["meta"]["account_id"] = "me"
        if Fault.GROUP_BY_NOT_NORMALISED in self.faults:
            body["meta"]["group_by"] = [
                item
                for value in request.query_params.getlist("group_by")
                for item in value.split(",")
            ]
        body = alt.usage_body(body, self.variants)
        return Response(
            alt.json_text(body, self.variants),
            headers=alt.json_headers(self.variants),
            media_type="application/json",
        )

    def check_key(self, request: Request, owner: Any, account_id: str) -> Response | None:
        if owner is None and Fault.NO_AUTH not in self.faults:
            return self.error(401, "unauthorized", "A valid API key is required")
        return None

    def check_query(self, request: Request, owner: Any, account_id: str) -> Response | None:
        try:
            resolve_query(self.raw_query(request), account_id=account_id, now=self.clock())
        except QueryError as exc:
            return self.invalid(exc)
        except Exception:  # the ZONE_500 fault lets the unknown zone escape as a 500
            return self.error(500, "internal_error", "An internal error occurred")
        return None

    def check_access(self, request: Request, owner: Any, account_id: str) -> Response | None:
        if owner is None and Fault.NO_AUTH not in self.faults:
            return None  # check_key answers, whichever comes first
        if Fault.ABSENT_ACCOUNT_404 in self.faults and self.dataset.account(account_id) is None:
            return self.error(404, "not_found", "No such account")
        if not self.may_read(owner, account_id):
            return self.error(403, "forbidden", "This API key may not read this account")
        return None

    def clock(self) -> int:
        return self.now if self.now is not None else int(time.time()) * US

    def raw_query(self, request: Request) -> RawQuery:
        params = request.query_params

        def one(name: str) -> str | None:
            value = params.get(name)
            return None if value is None or value == "null" else value

        group_by: list[str] | None = None
        values = params.getlist("group_by")
        if values:
            if Fault.COMMA_GROUP_BY_IGNORED in self.faults:
                group_by = [v for v in values if "," not in v]
            else:
                group_by = [item for value in values for item in value.split(",")]
        zone = one("tz")
        if Fault.ZONE_500 in self.faults and zone is not None:
            get_timeline(zone)  # raises on an unknown zone: the fault is the 500
        granularity = one("granularity")
        if granularity is None and Fault.DEFAULT_GRANULARITY_HOUR in self.faults:
            granularity = "hour"
        start, end = (alt.datetime_read(one(name), self.variants) for name in ("start", "end"))
        if Fault.NAIVE_AS_UTC in self.faults:
            start, end = (as_utc(start), as_utc(end))
        if start is None and Fault.DEFAULT_SPAN_7_DAYS in self.faults:
            start = seven_days_before(end, self.clock())
        return RawQuery(
            start=start,
            end=end,
            granularity=granularity,
            group_by=group_by,
            tz=zone,
            limit=one("limit"),
        )

    # -- auth ----------------------------------------------------------------

    def authenticate(self, key: str | None) -> Any:
        if key is None:
            return None
        return self.dataset.keys().get(key)

    def may_read(self, owner: Any, account_id: str) -> bool:
        account = self.dataset.account(account_id)
        if account is None:
            return False
        if owner is None:
            return Fault.NO_AUTH in self.faults
        if owner.id == account_id or Fault.CROSS_TENANT in self.faults:
            return True
        if account.parent_id == owner.id:
            return True
        return Fault.SUBACCOUNT_READS_PARENT in self.faults and owner.parent_id == account_id

    # -- answers ---------------------------------------------------------------

    def answer(self, query: UsageQuery) -> dict[str, Any]:
        effective = query
        if Fault.IGNORES_LIMIT in self.faults:
            effective = dataclasses.replace(query, limit=500)
        if Fault.LIMIT_OFF_BY_ONE in self.faults and query.limit < 500:
            effective = dataclasses.replace(query, limit=query.limit + 1)
        if Fault.TZ_CHANGES_TOTALS in self.faults:
            # Compares local clock readings with UTC timestamps: the range slides by the offset.
            timeline = query.timeline
            effective = dataclasses.replace(
                effective,
                start=query.start + timeline.offset_at(query.start // US) * US,
                end=query.end + timeline.offset_at(query.end // US) * US,
            )
        body = self._aggregate(effective).to_dict()
        body["meta"] = UsageMeta.of(query).to_dict()  # the query asked, whatever the faults did
        for fault in self.faults:
            rewrite = REWRITES.get(fault)
            if rewrite:
                body = rewrite(self, query, body)
        return body

    def invalid(self, exc: QueryError) -> Response:
        errors = alt.field_errors(exc, self.variants)
        if Fault.FIRST_ERROR_ONLY in self.faults:
            errors = errors[:1]
        if Fault.VALIDATION_400 in self.faults:
            return self.error(400, "bad_request", str(exc), errors=errors)
        return self.error(
            422, "validation_error", f"{len(errors)} invalid parameters", errors=errors
        )

    def error(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> Response:
        body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            body["errors"] = errors
        body = alt.error_body(body, self.variants)
        if Fault.ERROR_SHAPE in self.faults:
            body = {"detail": message}
        headers = {**alt.json_headers(self.variants), **(headers or {})}
        text = alt.json_text(body, self.variants)
        return Response(text, status, headers, media_type="application/json")

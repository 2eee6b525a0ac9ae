"""The contract's error body, and every failure mapped to it.

Every non-2xx answer of the mock is ``{"code", "message", "detail"?, "errors"?}``
with ``Content-Type: application/json`` -- including the 404/405/500 that
starlette and connexion produce on their own, and the 401/403 of the security
handler. :class:`ApiProblem` is the one exception the server raises for them;
:func:`install_error_handlers` maps it, connexion's ``ProblemException``,
starlette's ``HTTPException`` and any other exception to that body.

Nothing here writes a traceback or a request header into a body or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from usagekit.mock.core.errors import FieldError
from usagekit.mock.spec import error_codes
from usagekit.mock.whole import send_whole
from usagekit.mock.wire import error_body as wire_error_body

__all__ = [
    "JSON",
    "ApiProblem",
    "ShapedRoute",
    "bad_request",
    "error_body",
    "forbidden",
    "install_error_handlers",
    "internal_error",
    "method_not_allowed",
    "not_found",
    "send_bytes",
    "send_problem",
    "service_unavailable",
    "unauthorized",
    "validation_error",
]

logger = logging.getLogger("usagekit.mock.server")

JSON = "application/json"
_JSON_BYTES = JSON.encode()

#: The contract's error code of each status it names (from openapi.yaml's examples).
CODES: Mapping[int, str] = error_codes()


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One error answer: status, the body's fields, and extra headers."""

    status: int
    code: str
    message: str
    detail: str | None = None
    errors: tuple[FieldError, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> bytes:
        return error_body(self.code, self.message, detail=self.detail, errors=self.errors)


class ApiProblem(Exception):
    """Raised anywhere in the app to answer with :attr:`problem`."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        # status_code is what connexion's security layer reads to rank auth failures.
        self.status_code = problem.status
        super().__init__(f"{problem.status} {problem.code}")


def error_body(
    code: str,
    message: str,
    *,
    detail: str | None = None,
    errors: Sequence[FieldError] = (),
) -> bytes:
    """The contract's error body as compact JSON bytes (:func:`usagekit.mock.wire.error_body`)."""
    return wire_error_body(
        code, message, detail=detail, errors=[(e.field, e.message) for e in errors]
    )


def unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(
        Problem(
            status=401,
            code="unauthorized",
            message="A valid API key is required in the X-API-Key header.",
            detail=detail,
        )
    )


def forbidden(account_id: str) -> ApiProblem:
    return ApiProblem(
        Problem(
            status=403,
            code="forbidden",
            message=f"This API key may not read account {account_id}.",
        )
    )


def validation_error(errors: Sequence[FieldError]) -> ApiProblem:
    count = len(errors)
    noun = "parameter" if count == 1 else "parameters"
    return ApiProblem(
        Problem(
            status=422,
            code="validation_error",
            message=f"{count} invalid {noun}.",
            errors=tuple(errors),
        )
    )


def bad_request(message: str, detail: str | None = None) -> Problem:
    return Problem(status=400, code="bad_request", message=message, detail=detail)


def not_found(path: str) -> Problem:
    return Problem(status=404, code="not_found", message=f"No endpoint at {path}.")


def method_not_allowed(method: str, allowed: Sequence[str] = ("GET",)) -> Problem:
    return Problem(
        status=405,
        code="method_not_allowed",
        message=f"{method} is not allowed here; use {', '.join(allowed)}.",
        headers=(("Allow", ", ".join(allowed)),),
    )


class ShapedRoute(Route):
    """A starlette ``Route`` (a page, an admin route) whose 405 is in the contract's shape:
    starlette's own, outside a Starlette app, is the plain text ``Method Not Allowed``."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            await send_problem(send, method_not_allowed(scope["method"], sorted(self.methods)))
        else:
            await super().handle(scope, receive, send)


def service_unavailable(detail: str, retry_after: int) -> Problem:
    return Problem(
        status=503,
        code="service_unavailable",
        message="The service is temporarily unavailable.",
        detail=detail,
        headers=(("Retry-After", str(retry_after)),),
    )


def internal_error() -> Problem:
    return Problem(status=500, code="internal_error", message="An internal error occurred.")


def _response(problem: Problem) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=problem.status,
        mimetype=JSON,
        body=problem.body(),
        headers=dict(problem.headers),
    )


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    headers: Sequence[tuple[bytes, bytes]] = (),
    scope: Scope | None = None,
) -> None:
    """Answer a raw ASGI request with a JSON body (the middlewares' short-cut).

    With the request's ``scope``, in one write where the protocol's hook takes the
    answer (:func:`~usagekit.mock.whole.send_whole`): ``send`` must then be the
    server's own (what the front door is given), else it declines.
    """
    await send_whole({} if scope is None else scope, send, status, json_head(body, headers), body)


def json_head(
    body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
) -> list[tuple[bytes, bytes]]:
    """The headers of a JSON ``body``: its type and length, then ``headers``."""
    return [(b"content-type", _JSON_BYTES), (b"content-length", b"%d" % len(body)), *headers]


async def send_problem(send: Send, problem: Problem) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers]
    await send_bytes(send, problem.status, problem.body(), headers)


# -- connexion error handlers (registered with AsyncApp.add_error_handler) ---------------


async def _on_api_problem(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ApiProblem)
    return _response(exc.problem)


async def _on_http_exception(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """starlette's 404/405 and connexion's own problems, in the contract's shape."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 404:
        return _response(not_found(request.url.path))
    if status == 405:
        return _response(method_not_allowed(request.method))
    if status >= 500:
        logger.error("internal error on %s %s: %s", request.method, request.url.path, exc.detail)
        return _response(internal_error())
    code = CODES.get(status, "bad_request")
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = code
    detail = exc.detail if isinstance(exc, ProblemException) else None
    message = detail if isinstance(detail, str) and detail else title
    return _response(Problem(status=status, code=code, message=message))


async def _on_exception(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    # The type and text of the error, never a traceback: enough to find it, nothing to leak.
    logger.error(
        "internal error on %s %s: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc,
    )
    return _response(internal_error())


def install_error_handlers(app: AsyncApp) -> None:
    """Route every failure inside connexion to the contract's error body."""
    app.add_error_handler(ApiProblem, _on_api_problem)
    app.add_error_handler(HTTPException, _on_http_exception)
    # connexion registers its own ProblemException handler first; ours replaces it.
    app.add_error_handler(ProblemException, _on_http_exception)
    app.add_error_handler(Exception, _on_exception)


async def server_error_handler(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """For connexion's ServerErrorMiddleware: the last line, behind the exception handlers."""
    return await _on_exception(request, exc)

"""The workbench's pages: ``/`` (landing), ``/ui/`` (Swagger UI), ``/openapi.json``, ``/demo``.

None of them is part of the contract; they read the served dataset through a
callable returning the current :class:`Served` (it changes on ``--watch``
reloads). The served spec is the contract with two changes made for a browser
on first open: the ``start``/``end`` examples re-dated into the dataset's last
seven days (``openapi.yaml`` itself is unchanged), and the running server
first in ``servers``.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from usagekit.mock.spec import OPERATION_PATH

from .admin import ADMIN_PREFIX, json_response
from .dashboard import dashboard_config
from .demo import Workspace
from .policy import page_policy, server_origins
from .problems import CODES, JSON, ShapedRoute, error_body, method_not_allowed

__all__ = ["Served", "page_routes", "served_spec"]

_TEMPLATES = Environment(
    loader=PackageLoader("usagekit.mock.server", "templates"),
    autoescape=select_autoescape(["html"]),
)
ABOUT = (
    "A contract-first mock of GET /v1/accounts/{account_id}/analytics/usage, answering "
    "from an exact reference aggregator over the dataset below."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Served:
    """What the pages need to know about the dataset being served."""

    workspace: Workspace
    #: Where the dataset came from, for people: "synthetic (seed 2024)" or a directory.
    source: str
    #: The contract with the examples re-dated (the servers are set per request).
    spec: Mapping[str, Any]


def served_spec(spec: Mapping[str, Any], workspace: Workspace) -> dict[str, Any]:
    """``spec`` with ``start``/``end`` examples on the dataset's last seven days."""
    served = copy.deepcopy(dict(spec))
    parameters = served["components"]["parameters"]
    zone_name = parameters.get("Tz", {}).get("example", "UTC")
    zone = ZoneInfo(zone_name)
    # The local day of the last conversation, and the six before it, in the example's zone.
    last_day = workspace.last_day(zone)
    local_end = datetime.combine(last_day + timedelta(days=1), time(), zone)
    local_start = datetime.combine(last_day - timedelta(days=6), time(), zone)
    for name, instant in (("Start", local_start), ("End", local_end)):
        parameter = parameters.get(name)
        if parameter is not None:
            parameter["example"] = _rfc3339(instant)
    return served


def _rfc3339(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def _with_servers(spec: Mapping[str, Any], request: Request) -> dict[str, Any]:
    here = str(request.base_url).rstrip("/")
    others = [s for s in spec.get("servers", []) if s.get("url", "").rstrip("/") != here]
    return {**spec, "servers": [{"url": here, "description": "this usagekit mock"}, *others]}


def landing(served: Served, base: str) -> dict[str, Any]:
    """The landing page's content, as the JSON answer and the HTML template's context."""
    demo = served.workspace.demo
    start, end = served.workspace.last_week()
    curl = None
    if demo is not None:
        url = (
            f"{base}{OPERATION_PATH.format(account_id='me')}?start={_rfc3339(start)}"
            f"&end={_rfc3339(end)}&granularity=day&group_by=agent"
        )
        curl = f"curl -sS -H {shlex.quote('X-API-Key: ' + demo.key)} {shlex.quote(url)}"
    return {
        "about": ABOUT,
        "dataset": served.source,
        "links": [
            {"href": f"{base}/demo", "title": "/demo", "about": "a usage dashboard of this data"},
            {"href": f"{base}/ui/", "title": "/ui/", "about": "Swagger UI, the demo key set"},
            {"href": f"{base}/openapi.json", "title": "/openapi.json", "about": "the contract"},
            {
                "href": f"{base}{ADMIN_PREFIX}/status",
                "title": f"{ADMIN_PREFIX}/status",
                "about": "this mock's state (loopback or --admin-token only)",
            },
        ],
        "keys": [
            {
                "role": k.role,
                "label": k.label,
                "key": k.key,
                "account_id": k.account_id,
                "account_name": k.account_name,
            }
            for k in served.workspace.keys
        ],
        "curl": curl,
    }


def page_routes(current: Callable[[], Served]) -> list[BaseRoute]:
    """The routes of ``/``, ``/ui/``, ``/openapi.json|yaml``, ``/demo`` and its assets."""

    async def home(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        content = landing(current(), base)
        if _wants_json(request):
            return json_response(content)
        html = _TEMPLATES.get_template("landing.html").render(base=_root(request), **content)
        return HTMLResponse(html)

    async def openapi_json(request: Request) -> Response:
        return json_response(_with_servers(current().spec, request))

    async def openapi_yaml(request: Request) -> Response:
        text = yaml.safe_dump(_with_servers(current().spec, request), sort_keys=False)
        return Response(text, media_type="text/yaml")

    async def swagger_ui(request: Request) -> Response:
        served = current()
        demo = served.workspace.demo
        settings = {
            "spec_url": f"{_root(request)}/openapi.json",
            "scheme": _api_key_scheme(served.spec),
            "demo_key": demo.key if demo else None,
        }
        html = _TEMPLATES.get_template("swagger.html").render(
            base=_root(request), settings=settings
        )
        # "Try it out" sends the request to the server chosen in the list: this mock
        # (the page's own origin, first) or another the contract names.
        policy = page_policy(connect=server_origins(served.spec))
        return HTMLResponse(html, headers={"content-security-policy": policy})

    async def demo_page(request: Request) -> Response:
        html = _TEMPLATES.get_template("demo.html").render(base=_root(request))
        return HTMLResponse(html)

    async def demo_config(request: Request) -> Response:
        return json_response(dashboard_config(current().workspace, current().spec))

    return [
        ShapedRoute("/", home, methods=["GET"]),
        ShapedRoute("/openapi.json", openapi_json, methods=["GET"]),
        ShapedRoute("/openapi.yaml", openapi_yaml, methods=["GET"]),
        ShapedRoute("/ui/", swagger_ui, methods=["GET"]),
        ShapedRoute("/ui/index.html", swagger_ui, methods=["GET"]),
        ShapedRoute("/demo", demo_page, methods=["GET"]),
        ShapedRoute("/demo/", demo_page, methods=["GET"]),
        ShapedRoute("/demo/config.json", demo_config, methods=["GET"]),
        Mount("/demo/assets", Assets(packages=[("usagekit.mock.server", "static")])),
    ]


class Assets(StaticFiles):
    """The package's static files, revalidated at each use; a missing one is a 404 in shape."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code == 405:  # StaticFiles takes GET and HEAD
                problem = method_not_allowed(scope["method"], ("GET", "HEAD"))
                headers = dict(problem.headers)
                return Response(problem.body(), 405, headers=headers, media_type=JSON)
            body = error_body(CODES.get(exc.status_code, "not_found"), "Not found.", detail=path)
            return Response(body, status_code=exc.status_code, media_type=JSON)
        # Asked again each time (a 304 when unchanged): with Last-Modified alone a browser
        # may reuse a script unasked, and a page of a newer usagekit run an older script.
        response.headers["cache-control"] = "no-cache"
        return response


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _api_key_scheme(spec: Mapping[str, Any]) -> str:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    return next((n for n, s in schemes.items() if s.get("type") == "apiKey"), "ApiKeyAuth")

"""The mock as a frontend workbench: the contract's app plus pages and runtime control.

:func:`create_workbench` wraps the contract's app (:func:`.app.contract_app`)
so that, from the socket inwards::

    FrontDoor, CORS, Guard          as for the contract's app alone
    Dispatch                        a workbench path -> Router, else straight to Recording
    SecurityHeaders                 (policy.py) nosniff, no Referer, a page's CSP
    Router
      /, /ui/, /openapi.json|yaml   pages (landing, Swagger UI, the served spec)
      /demo, /demo/...              the dashboard and its assets
      /_usagekit/*                  admin routes behind the AdminGate
      /ui/* (Swagger UI's bundle)   on to Recording as below
      anything else:
        Recording                   one watch of every answer, for /_usagekit/requests
                                    (the journal) and /_usagekit/coverage (the ledger)
        RuntimeScenario             /_usagekit/scenario's code, latency, errors, rate limit
        the current contract app    swapped whole when --watch reloads the data

The admin routes are listed in :meth:`Workbench.admin_routes`; a new one is a
``Route`` added there (see :mod:`.admin`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from usagekit.mock.core.dataset import Dataset
from usagekit.mock.datasets import synthetic
from usagekit.mock.spec import load_spec

from .access import KeyIndex
from .admin import ADMIN_PREFIX, admin_app, json_response
from .app import contract_app, with_edges
from .config import ServerConfig
from .control import RuntimeScenarioMiddleware, scenario_routes
from .coverage import SharedLedger, coverage_ledger, coverage_routes
from .demo import Workspace, names_of
from .fastpath import FastPathMiddleware
from .frontdoor import Door
from .journal import Journal, journal_routes
from .pages import Served, page_routes, served_spec
from .policy import SecurityHeaders
from .problems import ShapedRoute
from .recording import RecordingMiddleware
from .scenario_store import ScenarioStore
from .scenarios import example_bodies, named_examples
from .watch import Signature, Watcher

__all__ = ["PUBLIC_PAGES", "Workbench", "create_workbench"]

#: The workbench's paths any origin may read (the contract itself); every other page or
#: admin route answers across origins only to a ``--cors-origin``.
PUBLIC_PAGES = frozenset({"/openapi.json", "/openapi.yaml"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Loaded:
    """One dataset with everything built from it; replaced whole on a reload."""

    dataset: Dataset
    app: ASGIApp
    #: The front cache of ``app``, when the front door may answer from it (see ``Contract``).
    hits: FastPathMiddleware | None
    keys: KeyIndex
    served: Served
    loaded_at: str


class Workbench:
    """The state the workbench's routes share: the loaded data, scenarios, the journal."""

    def __init__(
        self, dataset: Dataset, config: ServerConfig, *, watched: Signature | None = None
    ) -> None:
        self.config = config
        self.spec = load_spec()
        self.source = _source(config)
        self.loaded = self._load(dataset)
        self.store = ScenarioStore(config.control_dir)
        self.journal = Journal(config.control_dir)
        self.coverage = SharedLedger(coverage_ledger(), config.control_dir)
        self.watcher = (
            Watcher(config.data_dir, self.swap, seen=watched)
            if config.watch and config.data_dir
            else None
        )

    def _load(self, dataset: Dataset) -> Loaded:
        workspace = Workspace.of(dataset)
        served = Served(
            workspace=workspace, source=self.source, spec=served_spec(self.spec, workspace)
        )
        contract = contract_app(dataset, self.config)
        return Loaded(
            dataset=dataset,
            app=contract.app,
            hits=contract.hits,
            keys=KeyIndex(dataset),
            served=served,
            loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def swap(self, dataset: Dataset) -> None:
        """Serve ``dataset`` from the next request on (one reference assignment)."""
        self.loaded = self._load(dataset)

    def keys(self) -> KeyIndex:
        return self.loaded.keys

    def served(self) -> Served:
        return self.loaded.served

    async def contract(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.loaded.app(scope, receive, send)

    def admin_routes(self) -> list[BaseRoute]:
        return [
            ShapedRoute("/names", self._names, methods=["GET"]),
            ShapedRoute("/status", self._status, methods=["GET"]),
            *scenario_routes(self.store, self.keys),
            *journal_routes(
                self.journal,
                lambda key_digest: self.keys().grant_by_digest(key_digest),
                lambda account_id: self.served().workspace.role_of(account_id),
            ),
            *coverage_routes(self.coverage),
        ]

    async def _names(self, _request: Request) -> Response:
        return json_response(names_of(self.loaded.dataset))

    async def _status(self, _request: Request) -> Response:
        loaded = self.loaded
        workspace = loaded.served.workspace
        return json_response(
            {
                "pid": os.getpid(),
                "workers": self.config.workers,
                "dataset": {
                    "source": self.source,
                    "accounts": len(loaded.dataset.accounts),
                    "conversations": workspace.conversations,
                    "loaded_at": loaded.loaded_at,
                },
                "watch": self.watcher.state.to_json() if self.watcher else None,
                "scenario": self.store.current().to_json()["global"],
                "scenario_keys": len(self.store.current().by_key),
            }
        )


def create_workbench(
    dataset: Dataset, config: ServerConfig | None = None, *, watched: Signature | None = None
) -> ASGIApp:
    """The whole mock: the contract's app over ``dataset`` with the workbench around it."""
    config = config or ServerConfig()
    bench = Workbench(dataset, config, watched=watched)
    runtime = RuntimeScenarioMiddleware(
        bench.contract,
        store=bench.store,
        keys=bench.keys,
        bodies=example_bodies(bench.spec),
        examples=tuple(named_examples(bench.spec)),
        workers=config.workers,
        seed=config.chaos_seed,
    )
    recording = RecordingMiddleware(runtime, journal=bench.journal, coverage=bench.coverage)
    routes = [
        *page_routes(bench.served),
        Mount(ADMIN_PREFIX, admin_app(bench.admin_routes(), token=config.admin_token)),
    ]
    router = Router(routes, default=recording, redirect_slashes=False)
    # Swagger UI's bundle (connexion's, under /ui/) is the workbench's too: the router's
    # default hands it to connexion, SecurityHeaders marks it like the pages' assets.
    dispatch = Dispatch(routes, router=SecurityHeaders(router), api=recording, also=("/ui/",))
    if bench.watcher is not None:
        bench.watcher.start()

    def passes(scope: Scope) -> bool:
        # What Dispatch and RuntimeScenario would do with a request: pass it on.
        return not dispatch.routed(scope["path"]) and runtime.idle()

    def private(path: str) -> bool:
        # The pages and admin routes; the contract's own documents stay open to every origin.
        return dispatch.routed(path) and path not in PUBLIC_PAGES

    # A repeat the contract app would answer from its front cache is answered at the door.
    door = Door(lambda: bench.loaded.hits, passes, recording)
    return with_edges(dispatch, config, door, private)


class Dispatch:
    """The workbench's routes to the router, everything else straight to the API.

    A starlette Router tries each route's pattern in turn; the contract's
    requests, the hot path, skip that with one set lookup and one prefix test.
    """

    def __init__(
        self,
        routes: list[BaseRoute],
        *,
        router: ASGIApp,
        api: ASGIApp,
        also: tuple[str, ...] = (),
    ) -> None:
        self.router = router
        self.api = api
        self.paths = frozenset(r.path for r in routes if isinstance(r, Route))
        mounts = [r.path for r in routes if isinstance(r, Mount)]
        self.prefixes = tuple(mounts) + tuple(f"{m}/" for m in mounts) + also

    def routed(self, path: str) -> bool:
        """Whether ``path`` is the workbench's own (a page, the admin routes)."""
        return path in self.paths or path.startswith(self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.routed(scope.get("path", "")):
            await self.router(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def _source(config: ServerConfig) -> str:
    if config.data_dir is not None:
        return f"directory {config.data_dir}" + (" (watched)" if config.watch else "")
    if config.dataset_factory is not None:
        return f"factory {config.dataset_factory}"
    seed = synthetic.DEFAULT_SEED if config.seed is None else config.seed
    return f"synthetic (seed {seed})"

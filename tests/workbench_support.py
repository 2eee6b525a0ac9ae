"""The workbench (pages, admin routes, runtime scenarios) in process, over the test dataset."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from server_support import DATASET, NOW, Served

from usagekit.mock.core.dataset import Dataset
from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.workbench import create_workbench


@contextlib.contextmanager
def workbench(data: Dataset | None = None, **config: Any) -> Iterator[Served]:
    config.setdefault("now", NOW)
    client = Served(create_workbench(DATASET if data is None else data, ServerConfig(**config)))
    try:
        yield client
    finally:
        client.close()

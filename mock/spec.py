"""The contract: ``openapi.yaml``, shipped inside the package.

The repository's top-level ``openapi.yaml`` is the single source of truth;
``mock/openapi.yaml`` links to it, and the wheel carries a copy.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["OPERATION_PATH", "load_spec", "spec_path"]

#: The one path of the contract.
OPERATION_PATH = "/v1/accounts/{account_id}/analytics/usage"


def spec_path() -> Path:
    """Where the installed ``openapi.yaml`` lies."""
    return Path(str(importlib.resources.files("usagekit.mock") / "openapi.yaml"))


@functools.cache
def _load() -> dict[str, Any]:
    return yaml.safe_load(spec_path().read_text(encoding="utf-8"))


def load_spec() -> dict[str, Any]:
    """A fresh copy of the contract as a dict (callers may change their copy)."""
    return copy.deepcopy(_load())

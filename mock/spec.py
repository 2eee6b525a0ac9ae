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

__all__ = ["OPERATION_PATH", "error_codes", "load_spec", "spec_path"]

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


@functools.cache
def error_codes() -> dict[int, str]:
    """The error ``code`` of each status the contract documents, read from its examples."""
    spec = _load()
    responses = spec["paths"][OPERATION_PATH]["get"]["responses"]
    codes = {}
    for status, response in responses.items():
        while "$ref" in response:
            response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        example = response.get("content", {}).get("application/json", {}).get("example")
        if status.isdigit() and int(status) >= 400 and example is not None:
            codes[int(status)] = example["code"]
    return codes

"""One ledger: the same requests are counted the same by the mock that answers them and
by a proxy in front of it (the kit's ledger, as ``check`` and ``--replay`` keep it).

Real processes: ``usagekit mock`` and ``usagekit proxy --upstream`` the mock.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from processes import free_port, running
from proxy_support import NOW_TEXT, proxy_process

from usagekit.mock.core.coverage import PARAMETERS

pytestmark = pytest.mark.slow

USAGEKIT = str(Path(sys.executable).with_name("usagekit"))
USAGE = "/v1/accounts/me/analytics/usage?"
KEY = {"X-API-Key": "sk-usagekit-demo"}

DEFINITE = [
    "",
    "granularity=hour&limit=1",
    "tz=Asia/Kathmandu",
    "tz=America/Santiago&start=2024-09-07T00:00:00&end=2024-09-09T00:00:00",
    "start=2024-03-01T00:00:00Z&end=2024-03-01T00:30:00Z&granularity=hour",
    "group_by=type,agent,subaccount",
    "group_by=agent&group_by=type",
    "limit=500&granularity=hour&start=2024-01-01T00:00:00Z&end=2024-03-01T00:00:00Z",
    "start=2020-01-01T00:00:00Z&end=2024-01-01T00:00:00Z&granularity=month",
    "limit=0",
    "tz=Mars/Base",
    "tz=",
    "granularity=month&tz=Australia/Lord_Howe",
]
#: Requests whose reading the contract leaves open (a repeated single-valued parameter,
#: a literal null): which parameters they wrote is a fact all the same.
OPEN = ["tz=UTC&tz=UTC", "tz=null", "group_by=null&limit=5"]


def _ledgers(requests: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    port = free_port()
    mock = [USAGEKIT, "mock", "--port", str(port), "--now", NOW_TEXT, "--no-access-log"]
    with (
        running(mock, port, path="/healthz", timeout=30) as upstream,
        proxy_process(upstream) as (base, _),
        httpx.Client(base_url=base, headers=KEY) as client,
    ):
        for query in requests:
            assert client.get(USAGE + query).status_code in (200, 422), query
        assert client.get(USAGE, headers={"X-API-Key": "sk-nobody"}).status_code == 401
        mock_cells = httpx.get(f"{upstream}/_usagekit/coverage").json()["cells"]
        proxy_cells = client.get("/_usagekit/coverage").json()["cells"]
    return mock_cells, proxy_cells


def test_a_request_set_is_counted_alike_by_the_mock_and_the_proxy() -> None:
    mock_cells, proxy_cells = _ledgers(DEFINITE)
    assert mock_cells == proxy_cells
    assert mock_cells["status:200"] == 10
    assert mock_cells["tz:skipped-midnight"] == 1


def test_the_parameters_of_an_open_reading_are_counted_alike() -> None:
    mock_cells, proxy_cells = _ledgers(OPEN)
    written = [f"param:{name}:{how}" for name in PARAMETERS for how in ("present", "default")]
    for cell in ["status:200", *written]:
        assert mock_cells[cell] == proxy_cells[cell], cell
    assert proxy_cells["param:tz:present"] == 2

"""Over a real socket with uvicorn: determinism across restarts and workers, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from click.testing import CliRunner
from server_support import NOW, NOW_TEXT, free_port, uvicorn_server, wait_healthy

from usagekit.cli.mock import mock as mock_command
from usagekit.mock.core.aggregate import aggregate
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.datasets import synthetic
from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.run import prepare

SYNTHETIC = {"seed": 11, "size": 20_000, "now": NOW, "dataset_factory": None}
KEY = synthetic.DEMO_API_KEY
QUERIES = [
    "/v1/accounts/me/analytics/usage",
    "/v1/accounts/me/analytics/usage?group_by=agent,type&tz=Europe/Vienna",
    "/v1/accounts/me/analytics/usage?granularity=hour&tz=America/New_York&limit=48"
    "&group_by=subaccount",
    f"/v1/accounts/{synthetic.DEMO_SUBACCOUNT_ID}/analytics/usage?granularity=month"
    "&start=2023-01-01T00:00:00&tz=Asia/Kathmandu",
]


def fetch_all(base: str, times: int = 1) -> dict[str, set[bytes]]:
    # No keep-alive: every request is a new connection, which the kernel may give any worker.
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=base, limits=limits, headers={"X-API-Key": KEY}) as client:
        bodies: dict[str, set[bytes]] = {}
        for _ in range(times):
            for url in QUERIES:
                response = client.get(url)
                assert response.status_code == 200, response.text
                bodies.setdefault(url, set()).add(response.content)
        return bodies


def test_answers_are_byte_identical_across_restarts_and_workers() -> None:
    with uvicorn_server(**SYNTHETIC) as base:
        first = fetch_all(base)
    with uvicorn_server(**SYNTHETIC, workers=2) as base:
        again = fetch_all(base, times=6)
    assert again == first
    assert all(len(bodies) == 1 for bodies in first.values())

    # ... and equal to the reference aggregator over the same generated dataset.
    dataset = synthetic.generate(seed=11, size=20_000, now=NOW)
    raw = RawQuery(group_by=["agent", "type"], tz="Europe/Vienna")
    query = resolve_query(raw, account_id=synthetic.DEMO_ACCOUNT_ID, now=NOW)
    assert first[QUERIES[1]] == {aggregate(dataset, query).to_json()}


def test_the_cli_serves_scenarios_cors_and_rate_limits_over_a_socket() -> None:
    port = free_port()
    script = "import sys\nfrom usagekit.cli.mock import mock\nmock(sys.argv[1:])\n"
    args = ["--port", str(port), "--now", NOW_TEXT, "--size", "5000", "--rate-limit", "1/s"]
    args += ["--no-access-log", "--log-level", "warning", "--cors-origin", "http://app.test"]
    env = {**os.environ, "PYTHONWARNINGS": "error::UserWarning"}
    process = subprocess.Popen([sys.executable, "-c", script, *args], env=env)
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/v1/accounts/me/analytics/usage"
    try:
        wait_healthy(base, process)
        origin = {"Origin": "http://app.test"}
        with httpx.Client(headers={"X-API-Key": KEY, **origin}) as client:
            assert client.get(url).status_code == 200
            limited = client.get(url)
            assert limited.status_code == 429
            assert limited.headers["retry-after"] == "1"
            assert limited.headers["access-control-allow-origin"] == "http://app.test"
            forced = client.get(url, headers={"Prefer": "code=503"})
            assert forced.status_code == 503
            assert forced.json()["code"] == "service_unavailable"
            missing = client.get(f"{base}/v1/accounts/me/analytics/usages")
            assert missing.status_code == 404
            assert missing.headers["content-type"] == "application/json"
        preflight = httpx.options(
            url, headers={**origin, "Access-Control-Request-Method": "GET",
                          "Access-Control-Request-Headers": "X-API-Key"},
        )  # fmt: skip
        assert preflight.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--latency", "fast"], "is not MS or LOW-HIGH"),
        (["--latency", "50-10"], "LOW must not exceed HIGH"),
        (["--latency", "60001"], "at most 60000 ms"),
        (["--latency", "10-99999999999"], "at most 60000 ms"),
        (["--latency", "9" * 5000], "at most 60000 ms"),
        (["--rate-limit", "0/s"], "is not a positive N/s"),
        (["--rate-limit", "0." + "0" * 320 + "1/s"], "is under 1e-06/s"),
        (["--now", "2024-03-01T00:00:00"], "has no UTC offset"),
        (["--error-rate", "2"], "2"),
        (["--seed", "1", "--data", "."], "exclude each other"),
    ],
)
def test_bad_options_are_usage_errors(args, message) -> None:
    result = CliRunner().invoke(mock_command, args)
    assert result.exit_code == 2
    assert message in result.output


def test_prepare_fixes_the_anchor_once_for_every_worker() -> None:
    pinned = prepare(ServerConfig(now=NOW))
    assert pinned.anchor == NOW
    wall = prepare(ServerConfig())
    assert wall.anchor is not None
    assert wall.anchor % (3600 * 10**6) == 0
    assert ServerConfig.from_env(wall.to_env()) == wall

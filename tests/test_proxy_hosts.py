"""DNS rebinding through the proxy: a page whose name rebinds to 127.0.0.1 reads nothing.

Such a page is same-origin with ``usagekit proxy`` on loopback. It read the
tally and the ledger (``/_usagekit/violations``, ``/coverage``: curls, accounts);
and since the proxy forwards every other path with the upstream's own ``Host``
from a loopback client, it read through it whatever the upstream serves --
a mock's journal and admin control, an upstream only this machine reaches, an
HTTPS upstream a rebinding page could not reach itself -- and filled the tally,
the reports and the HAR. The proxy bound to loopback now answers only a
``Host`` no page can rebind (``localhost``, an IP address, ``--allowed-host``),
on every path, forwarded or its own. Real ``usagekit mock`` and ``usagekit
proxy`` processes, raw sockets.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from host_support import EVIL, ME, USAGEKIT, ask, refused
from processes import free_port, running
from proxy_support import NOW_TEXT, proxy_process

pytestmark = pytest.mark.slow

OWN = ["/_usagekit/violations", "/_usagekit/coverage"]


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    port = free_port()
    command = [USAGEKIT, "mock", "--port", str(port), "--now", NOW_TEXT, "--no-access-log"]
    with running(command, port, path="/healthz", timeout=60) as base:
        yield base


@pytest.fixture(scope="module")
def proxy(upstream: str) -> Iterator[str]:
    with proxy_process(upstream) as (base, _):
        yield base


def _port(base: str) -> str:
    return base.rpartition(":")[2]


@pytest.mark.parametrize("path", OWN)
@pytest.mark.parametrize("host", [EVIL, f"{EVIL}:{{port}}"])
def test_a_rebound_name_cannot_read_the_proxys_own_paths(proxy: str, path: str, host: str) -> None:
    host = host.format(port=_port(proxy))
    answer = ask(proxy, path, host)
    assert refused(answer, host), (answer.status, answer.body[:300])


@pytest.mark.parametrize("path", OWN)
@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1", "[::1]:{port}", None])
def test_loopback_names_read_them(proxy: str, path: str, host: str | None) -> None:
    sent = None if host is None else host.format(port=_port(proxy))
    answer = ask(proxy, path, sent, version="1.1" if host else "1.0")
    assert answer.status == 200, (answer.status, answer.body[:300])


def test_a_rebound_name_is_not_forwarded(proxy: str, upstream: str) -> None:
    marker = "limit=9&granularity=hour&tz=Pacific/Chatham"
    answer = ask(proxy, f"{ME}?{marker}", EVIL)
    assert refused(answer, EVIL), (answer.status, answer.body[:300])
    assert "x-usagekit-violations" not in answer.head  # never judged: never sent
    journal = ask(upstream, "/_usagekit/requests", "127.0.0.1").body.decode()
    assert "Chatham" not in journal
    # The upstream's admin surface, which the proxy reaches as a loopback client:
    for path in ("/_usagekit/requests", "/_usagekit/status", "/demo/config.json"):
        assert refused(ask(proxy, path, EVIL), EVIL), path


def test_a_loopback_name_is_forwarded_and_judged(proxy: str) -> None:
    answer = ask(proxy, f"{ME}?granularity=day&limit=2", f"localhost:{_port(proxy)}")
    assert answer.status == 200, (answer.status, answer.body[:300])
    assert "x-usagekit-violations: 0" in answer.head


def test_allowed_host_is_honoured(upstream: str) -> None:
    with proxy_process(upstream, "--allowed-host", "proxy.test") as (base, _):
        assert ask(base, OWN[0], f"proxy.test:{_port(base)}").status == 200
        assert ask(base, ME, "PROXY.test").status == 200
        assert refused(ask(base, OWN[0], EVIL), EVIL)


def test_bound_elsewhere_any_host_is_answered(upstream: str) -> None:
    with proxy_process(upstream, "--host", "0.0.0.0") as (base, _):
        assert ask(base, OWN[0], EVIL).status == 200
        assert ask(base, ME, "usagekit-proxy:8080").status == 200


def test_an_allowed_host_that_is_no_host_name_is_bad_usage_with_every_report(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [USAGEKIT, "proxy", "--upstream", "http://127.0.0.1:9", "--allowed-host",
         "http://proxy.test", "--report", str(tmp_path / "r.md"), "--coverage-json",
         str(tmp_path / "c.json")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "give a host name without scheme or port" in done.stderr
    assert "bad usage" in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["exchanges"] == 0

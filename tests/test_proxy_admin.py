"""The proxy's own paths answer loopback clients, or holders of --admin-token, like the mock's."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from proxy_support import DATASET, NOW, USAGE, traffic
from servers.minimal import MinimalServer
from servers.running import serving

from usagekit.conformance.proxy import ValidationProxy

OWN = ("/_usagekit/violations", "/_usagekit/coverage")
REMOTE = ("203.0.113.7", 50_000)  # TEST-NET-3: anybody who can reach a proxy on 0.0.0.0
LOOPBACK = [("127.0.0.1", 50_000), ("::1", 50_000)]


def ask(
    client: tuple[str, int],
    path: str,
    headers: dict[str, str],
    token: str | None = None,
    trusted: str | None = None,
) -> httpx.Response:
    """One GET through a proxy (in front of a correct server) from ``client``'s address;
    ``trusted``: the hosts whose ``X-Forwarded-For`` the gate reads (``trust_forwarded``)."""
    upstream = MinimalServer(dataset=DATASET, now=NOW).app()

    async def go(base: str) -> httpx.Response:
        proxy = ValidationProxy(base, traffic(), admin_token=token)
        if trusted is not None:
            proxy.trust_forwarded(trusted)
        transport = httpx.ASGITransport(app=proxy, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as http:
            answer = await http.get(path, headers=headers)
        await proxy.aclose()
        return answer

    with serving(upstream) as base:
        return asyncio.run(go(base))


def assert_error_shape(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["code"] == code
    assert set(body) <= {"code", "message", "detail", "errors"}
    assert isinstance(body["message"], str)
    assert body["message"]


@pytest.mark.parametrize("path", OWN)
@pytest.mark.parametrize("client", LOOPBACK, ids=["ipv4", "ipv6"])
def test_loopback_clients_read_the_own_paths(path: str, client: tuple[str, int]) -> None:
    answer = ask(client, path, {})
    assert answer.status_code == 200
    assert isinstance(answer.json(), dict)


@pytest.mark.parametrize("path", OWN)
def test_other_clients_get_a_403_in_the_contracts_shape(path: str) -> None:
    answer = ask(REMOTE, path, {})
    assert_error_shape(answer, 403, "forbidden")
    assert "exchanges" not in answer.text
    assert "cells" not in answer.text


def test_other_clients_are_still_proxied() -> None:
    answer = ask(REMOTE, USAGE.format("me"), {})  # no key: the upstream's 401, judged
    assert answer.status_code == 401
    assert answer.headers["x-usagekit-violations"] == "0"


@pytest.mark.parametrize("path", OWN)
@pytest.mark.parametrize(
    "sent",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}, {"X": "s3cret"}],
    ids=["none", "wrong", "not-bearer", "elsewhere"],
)
def test_with_a_token_every_client_must_send_it(path: str, sent: dict[str, str]) -> None:
    for client in (REMOTE, LOOPBACK[0]):  # loopback is no exception once a token is set
        answer = ask(client, path, sent, token="s3cret")
        assert_error_shape(answer, 401, "unauthorized")
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", OWN)
def test_the_token_opens_the_own_paths_to_any_client(path: str) -> None:
    answer = ask(REMOTE, path, {"Authorization": "bearer  s3cret"}, token="s3cret")
    assert answer.status_code == 200
    assert isinstance(answer.json(), dict)


@pytest.mark.parametrize("path", OWN)
def test_a_trusted_hosts_forwarded_client_is_the_one_the_gate_reads(path: str) -> None:
    behind = {"X-Forwarded-For": REMOTE[0]}  # a reverse proxy on loopback, for a remote client
    assert_error_shape(ask(LOOPBACK[0], path, behind, trusted="127.0.0.1"), 403, "forbidden")
    assert ask(LOOPBACK[0], path, {}, trusted="127.0.0.1").status_code == 200
    assert ask(REMOTE, path, {"X-Forwarded-For": "127.0.0.1"}, trusted="127.0.0.1").status_code == (
        403  # an untrusted host cannot claim loopback
    )


def test_a_forwarded_request_is_proxied_whoever_it_names() -> None:
    behind = {"X-Forwarded-For": REMOTE[0]}
    answer = ask(LOOPBACK[0], USAGE.format("me"), behind, trusted="127.0.0.1")
    assert answer.status_code == 401  # the upstream's, judged
    assert answer.headers["x-usagekit-violations"] == "0"

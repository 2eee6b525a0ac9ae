"""The Host allow-list's rule, case by case (``usagekit.mock.hosts``); the servers' use of it
is proved on real processes in test_server_hosts.py and test_proxy_hosts.py."""

from __future__ import annotations

import json
import pickle

import pytest

from usagekit.mock.hosts import HostRule, allowed_names, bound_to_loopback, refusal_body

LOOPBACK = HostRule.of("127.0.0.1")


@pytest.mark.parametrize(
    "host",
    [
        "localhost", "localhost:8000", "LOCALHOST:1", "localhost.", "localhost.:8000",
        "a.localhost", "a.b.localhost:5173", "127.0.0.1", "127.0.0.1:8000", "127.255.0.9:1",
        "10.1.2.3:80", "[::1]", "[::1]:8000", "[::ffff:127.0.0.1]:80", "[fe80::1]", "",
        "localhost:",
    ],
)  # fmt: skip
def test_names_no_page_can_rebind_are_allowed(host: str) -> None:
    assert LOOPBACK is not None
    assert LOOPBACK.allows(host.encode())


@pytest.mark.parametrize(
    "host",
    [
        "evil.example", "evil.example:8000", "localhost.evil.example", "evillocalhost",
        "localhostx", "127.0.0.1.evil.example", "127.1", "0x7f.0.0.1", "::1", "[::1",
        "[::1]x", "[::1]:80:80", "[evil]", "localhost:80:80", "localhost:http", "a b",
        ":8000", "\u00e9vil.example", "localhost\u0000",
    ],
)  # fmt: skip
def test_other_names_and_broken_values_are_refused(host: str) -> None:
    assert LOOPBACK is not None
    assert not LOOPBACK.allows(host.encode("latin-1"))


def test_a_refusal_is_never_remembered_and_what_is_remembered_is_bounded() -> None:
    rule = HostRule.of("127.0.0.1")
    assert rule is not None
    for port in range(1000):
        assert rule.allows(b"localhost:%d" % port)
        assert not rule.allows(b"evil.example:%d" % port)
    assert len(rule.kept) == 64
    assert all(value.startswith(b"localhost:") for value in rule.kept)
    assert not rule.allows(b"evil.example:1")


def test_allowed_names_and_wildcards() -> None:
    rule = HostRule.of("127.0.0.1", allowed_names(["Mock.Test.", "*.dev.test", ".app.test"]))
    assert rule is not None
    for host in ["mock.test", "MOCK.TEST:80", "a.dev.test", "b.a.dev.test:1", "app.test",
                 "x.app.test:3000", "localhost"]:  # fmt: skip
        assert rule.allows(host.encode()), host
    for host in ["dev.test", "xdev.test", "mock.test.evil", "amock.test", "xapp.test"]:
        assert not rule.allows(host.encode()), host


def test_the_name_a_server_is_bound_to_is_allowed() -> None:
    rule = HostRule.of("localhost")
    assert rule is not None
    assert rule.allows(b"localhost:8000")
    assert not rule.allows(b"evil.example")


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "", "192.0.2.10"])
def test_bound_elsewhere_any_host_unless_names_are_given(bind: str) -> None:
    assert HostRule.of(bind) is None
    rule = HostRule.of(bind, allowed_names(["mock"]))
    assert rule is not None
    assert rule.allows(b"mock:8000")
    assert rule.allows(b"192.0.2.10:8000")
    assert not rule.allows(b"evil.example")


@pytest.mark.parametrize("value", ["*", "all", "ALL"])
def test_star_or_all_switches_the_check_off(value: str) -> None:
    assert HostRule.of("127.0.0.1", allowed_names(["mock.test", value])) is None


@pytest.mark.parametrize(
    ("bind", "loopback"),
    [
        ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("[::1]", True),
        ("localhost", True), ("app.localhost", True), ("0.0.0.0", False), ("::", False),
        ("", False), ("192.0.2.1", False),
    ],
)  # fmt: skip
def test_what_is_bound_to_loopback(bind: str, loopback: bool) -> None:
    assert bound_to_loopback(bind) is loopback


@pytest.mark.parametrize(
    "value", ["http://mock.test", "mock.test:8000", "mock test", "a.*.test", "*", ""]
)
def test_an_allowed_host_must_be_a_host_name(value: str) -> None:
    if value == "*":
        assert allowed_names([value]) == ("*",)
        return
    with pytest.raises(ValueError, match="give a host name"):
        allowed_names([value])


def test_an_international_name_is_matched_as_a_browser_sends_it() -> None:
    assert allowed_names(["bücher.test", "[::1]", "10.0.0.1"]) == (
        "xn--bcher-kva.test", "[::1]", "10.0.0.1",
    )  # fmt: skip


def test_a_rule_travels_to_workers_without_what_it_remembered() -> None:
    rule = HostRule.of("127.0.0.1", ("mock.test",))
    assert rule is not None
    rule.allows(b"localhost:1")
    copy = pickle.loads(pickle.dumps(rule))
    assert copy.names == rule.names
    assert not copy.kept
    assert copy.allows(b"mock.test")
    assert not copy.allows(b"evil.example")


def test_the_refusal_speaks_the_contract_and_says_how_to_allow_the_name() -> None:
    body = json.loads(refusal_body(b"Evil.Example:8000"))
    assert body["code"] == "bad_request"
    assert set(body) == {"code", "message", "detail"}
    assert "--allowed-host evil.example" in body["detail"]
    json.loads(refusal_body(b"\xff\x00" * 500))  # any bytes: still JSON, and short
    assert len(refusal_body(b"a" * 60_000)) < 600

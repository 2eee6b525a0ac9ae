"""What the mock answers at the edges of the HTTP parser, asked of a real ``usagekit mock``
over raw sockets, as a client writes them.

* ``X-API-Key`` with optional whitespace around its value (RFC 9110, 5.5: the field
  value excludes it) is the key: uvicorn's parser (httptools) drops only the leading
  whitespace, and the key with a trailing space was a 401. The kit judges such a key as a
  key (whose, it cannot know): a server that strips it (200) and one that keeps it (401)
  both pass, through the proxy or in a replay.
* A method httptools does not know (``FOO``, ``get``: methods are case-sensitive) was
  refused by the parser before the path was read: ``400 bad_request``. The contract says
  "any method other than GET: 405 with Allow: GET" on the endpoint, and a path that does
  not name it is 404, whatever the method: so they are answered, in the contract's shape,
  as a method the parser knows (``PROPFIND``) is. The connection is closed after, as after
  any request the parser could not read.
* ``account_id`` is any non-empty string (``openapi.yaml``; the published page says
  ``string``), and a dataset's ids may hold a ``/``: a client sends it as ``%2F``, which
  names one path segment (RFC 3986, 2.2). Routing read the decoded path, where it is a
  separator: 404. The path is now matched with ``%2F`` (and ``%25``) kept escaped and the
  id decoded from the segment, so such an account is read, and ``usagekit check`` passes.
* ``X-API-Key`` is a singleton field: sent on two lines, the first was read and the second
  ignored. RFC 9110 (5.3) reads repeated lines as one value, joined by commas, which is no
  key the server issued: 401, whichever line holds the key. The kit accepts every reading
  a server may make of it: the first line's, the last line's, a 401 or a 400.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from connection_support import answer, connect, raw_request, read_all, read_one
from processes import free_port, running
from proxy_support import NOW_TEXT, proxy_process

from usagekit.conformance.config import KitConfig
from usagekit.conformance.har import Recorded
from usagekit.conformance.observed import exchange_of
from usagekit.conformance.traffic import Traffic
from usagekit.mock.datasets.synthetic import DEMO_API_KEY

USAGEKIT = str(Path(sys.executable).with_name("usagekit"))
ME = "/v1/accounts/me/analytics/usage"


@pytest.fixture(scope="module")
def mock() -> Iterator[str]:
    port = free_port()
    command = [USAGEKIT, "mock", "--port", str(port), "--now", NOW_TEXT, "--no-access-log"]
    with running(command, port, path="/healthz", timeout=30) as base:
        yield base


def head(method: str, target: str, *lines: str) -> bytes:
    """A request head as a client writes it, with ``Connection: close``."""
    fields = "".join(f"{line}\r\n" for line in ("Host: localhost", *lines, "Connection: close"))
    return f"{method} {target} HTTP/1.1\r\n{fields}\r\n".encode("latin-1")


@pytest.mark.parametrize(
    "written",
    [f"{DEMO_API_KEY} ", f"{DEMO_API_KEY}\t", f"  {DEMO_API_KEY}  ", f"\t{DEMO_API_KEY} \t"],
    ids=["space after", "tab after", "spaces around", "tabs and spaces"],
)
def test_whitespace_around_the_key_is_not_part_of_it(mock: str, written: str) -> None:
    status, _, body = raw_request(mock, head("GET", ME, f"X-API-Key:{written}"))
    assert status == 200, body
    assert body["meta"]["account_id"]


def test_a_key_of_whitespace_only_is_no_key(mock: str) -> None:
    status, _, body = raw_request(mock, head("GET", ME, "X-API-Key: \t "))
    assert (status, body["code"]) == (401, "unauthorized")
    assert body["detail"] == "No X-API-Key header was sent."


def test_the_proxy_judges_the_mock_that_strips_it_right(mock: str) -> None:
    with proxy_process(mock) as (proxy, _):
        status, headers, _ = raw_request(proxy, head("GET", ME, f"X-API-Key: {DEMO_API_KEY} "))
    assert status == 200
    assert headers["x-usagekit-violations"] == "0", headers.get("x-usagekit-rules")


def _recorded(keys: tuple[str, ...], status: int, code: str) -> Recorded:
    return Recorded(
        started=0.0, method="GET", url=f"http://upstream.test{ME}",
        request_headers=tuple(("X-API-Key", key) for key in keys), status=status, reason="",
        response_headers=(("content-type", "application/json"),), elapsed=0.001,
        content=json.dumps({"code": code, "message": "Refused."}).encode(),
    )  # fmt: skip


def _judge() -> Traffic:
    return Traffic(KitConfig(base_url="http://upstream.test", api_key="", account_id=""))


def test_a_server_that_keeps_the_whitespace_is_not_flagged_either() -> None:
    assert _judge().judge(_recorded((f"{DEMO_API_KEY} ",), 401, "unauthorized")) == []


@pytest.mark.parametrize("method", ["FOO", "get", "X-CUSTOM", "PROPFIND", "DELETE"])
def test_any_method_but_get_on_the_endpoint_is_the_contracts_405(mock: str, method: str) -> None:
    status, headers, body = raw_request(
        mock, head(method, ME + "?tz=UTC", f"X-API-Key: {DEMO_API_KEY}")
    )
    assert (status, body["code"], headers["allow"]) == (405, "method_not_allowed", "GET")
    assert body["message"] == f"{method} is not allowed here; use GET."


@pytest.mark.parametrize("method", ["FOO", "PROPFIND"])
def test_any_method_on_a_path_the_contract_does_not_name_is_404(mock: str, method: str) -> None:
    status, _, body = raw_request(
        mock, head(method, "/v1/nothing%20here", f"X-API-Key: {DEMO_API_KEY}")
    )
    assert (status, body) == (
        404,
        {"code": "not_found", "message": "No endpoint at /v1/nothing here."},
    )


def test_an_unknown_method_on_a_kept_connection_is_answered_as_itself(mock: str) -> None:
    with connect(mock) as sock:
        sock.sendall(head("GET", "/healthz").replace(b"Connection: close\r\n", b""))
        assert read_one(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"\r\n" + head("FOO", ME))  # an empty line first, which RFC 9112 2.2 allows
        status, headers, body = answer(read_all(sock))
    assert (status, body["code"], headers["allow"]) == (405, "method_not_allowed", "GET")


def test_a_request_line_that_is_not_http_is_still_400(mock: str) -> None:
    status, _, body = raw_request(mock, b"F@O / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert (status, body["code"]) == (400, "bad_request")


SLASHED = [
    {"id": "org/main", "parent_id": None, "name": "Org", "api_keys": ["sk-slash"],
     "agents": [{"id": "agent-a", "name": "A"}]},
    {"id": "org/main/team 100%", "parent_id": "org/main", "name": "Team", "api_keys": ["sk-team"],
     "agents": []},
    {"id": "org%2Fmain", "parent_id": None, "name": "Lookalike", "api_keys": ["sk-look"],
     "agents": []},
]  # fmt: skip


def _conversation(n: int, account: str) -> str:
    return json.dumps(
        {"conversation_id": f"c{n}", "account_id": account, "agent_id": None, "type": "web",
         "direction": "inbound", "status": "completed",
         "start_timestamp": f"2024-03-0{n}T12:00:00Z", "duration_seconds": 10 * n}
    )  # fmt: skip


@pytest.fixture(scope="module")
def slashed_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("slashed")
    (data / "accounts.json").write_text(json.dumps(SLASHED), encoding="utf-8")
    lines = [_conversation(n + 1, a["id"]) for n, a in enumerate(SLASHED)]
    (data / "conversations.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


@pytest.fixture(scope="module")
def slashed(slashed_data: Path) -> Iterator[str]:
    port = free_port()
    command = [
        USAGEKIT,
        "mock",
        "--port",
        str(port),
        "--data",
        str(slashed_data),
        "--now",
        NOW_TEXT,
    ]
    with running([*command, "--no-access-log"], port, path="/healthz", timeout=30) as base:
        yield base


def _usage(base: str, account: str, key: str) -> tuple[int, dict[str, str], dict[str, object]]:
    target = f"/v1/accounts/{account}/analytics/usage?start=2024-03-01T00:00:00Z"
    return raw_request(base, head("GET", target, f"X-API-Key: {key}"))


@pytest.mark.parametrize(
    ("written", "key", "account"),
    [
        ("org%2Fmain", "sk-slash", "org/main"),
        ("org%2fmain", "sk-slash", "org/main"),
        ("org%2Fmain%2Fteam%20100%25", "sk-slash", "org/main/team 100%"),
        ("org%2Fmain%2Fteam%20100%25", "sk-team", "org/main/team 100%"),
        ("org%252Fmain", "sk-look", "org%2Fmain"),  # a literal %2F is not a slash
    ],
)
def test_an_id_holding_a_slash_is_read_from_its_escaped_segment(
    slashed: str, written: str, key: str, account: str
) -> None:
    status, _, body = _usage(slashed, written, key)
    assert status == 200, body
    assert body["meta"]["account_id"] == account  # type: ignore[index]


def test_a_slash_in_an_id_is_still_tenancy_checked(slashed: str) -> None:
    status, _, body = _usage(slashed, "org%2Fmain", "sk-look")
    assert (status, body["code"]) == (403, "forbidden")
    assert body["message"] == "This API key may not read account org/main."
    status, _, body = _usage(slashed, "org%252Fmain", "sk-slash")
    assert (status, body["code"]) == (403, "forbidden")


def test_an_unescaped_slash_is_a_path_separator(slashed: str) -> None:
    status, _, body = _usage(slashed, "org/main", "sk-slash")
    assert (status, body["code"]) == (404, "not_found")


def test_the_kit_passes_the_mock_on_ids_holding_a_slash(slashed: str, slashed_data: Path) -> None:
    check = subprocess.run(
        [USAGEKIT, "check", "--base-url", slashed, "--api-key", "sk-slash",
         "--account-id", "org/main", "--subaccount-id", "org/main/team 100%",
         "--subaccount-key", "sk-team", "--foreign-account-id", "org%2Fmain",
         "--data", str(slashed_data),
         "--now", NOW_TEXT, "--max-examples", "0", "--check", "tenancy_follows_the_dataset",
         "--check", "parent_reads_subaccount", "--check", "subaccount_reads_itself",
         "--check", "foreign_account_forbidden", "--check", "me_is_the_keys_account"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(
    "lines",
    [(DEMO_API_KEY, "sk-other"), ("sk-other", DEMO_API_KEY), (DEMO_API_KEY, DEMO_API_KEY),
     ("", DEMO_API_KEY)],
    ids=["key first", "key last", "the key twice", "blank first"],
)  # fmt: skip
def test_a_key_sent_on_two_lines_is_no_key(mock: str, lines: tuple[str, str]) -> None:
    status, _, body = raw_request(mock, head("GET", ME, *(f"X-API-Key: {k}" for k in lines)))
    assert (status, body["code"]) == (401, "unauthorized")


@pytest.mark.parametrize("keys", [("", DEMO_API_KEY), (DEMO_API_KEY, "sk-other"), ("", "")])
@pytest.mark.parametrize(("status", "code"), [(401, "unauthorized"), (400, "bad_request")])
def test_the_kit_accepts_a_refusal_of_a_key_on_two_lines(
    keys: tuple[str, str], status: int, code: str
) -> None:
    recorded = _recorded(keys, status, code)
    assert _judge().judge(recorded) == []
    curl = shlex.split(exchange_of(recorded).curl())
    assert curl.count("X-API-Key: $USAGEKIT_API_KEY") == 2  # sent twice, as judged


def test_the_proxy_judges_the_mock_that_refuses_two_lines_right(mock: str) -> None:
    sent = head("GET", ME, "X-API-Key:", f"X-API-Key: {DEMO_API_KEY}")
    with proxy_process(mock) as (proxy, _):
        status, headers, _ = raw_request(proxy, sent)
    assert status == 401
    assert headers["x-usagekit-violations"] == "0", headers.get("x-usagekit-rules")

"""Every curl the kit prints reproduces the answer it judged.

For each faulty server of ``tests/servers/`` -- a real server process -- the
kit runs, and every request of every finding is sent again the way a user
would: the printed command, pasted into ``sh -c`` with the two key variables
set. The answer must be the one the finding judged: the same status and,
byte for byte, the same body (compared by SHA-256, since a finding keeps only
the first bytes). The servers pin their clock, so that an answer without an
explicit ``end`` is the same a second later.

The same holds for traffic the kit did not send: a request a client sent
through ``usagekit proxy``, and its entry in the HAR the proxy recorded, judged
again by ``check --replay``, is sent by their curls exactly as the client wrote it.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from factories import CHILD, CHILD_KEY, OTHER, PARENT, PARENT_KEY, busy_dataset
from processes import free_port, running
from schemathesis.core.transport import Response as Answer
from servers.minimal import Fault
from servers.process import served
from servers.running import serving
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from usagekit.conformance.client import Client
from usagekit.conformance.config import KitConfig
from usagekit.conformance.outcomes import Judged, Summary
from usagekit.conformance.recording import exchange_of
from usagekit.conformance.replay import replay as replay_har
from usagekit.conformance.runner import run
from usagekit.mock.core.instants import US
from usagekit.mock.datasets.files import save_dataset

HOUR = 3600 * US
NOW = int(time.time()) * US // HOUR * HOUR


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dataset")
    save_dataset(busy_dataset(NOW), directory)
    return directory


def kit(base_url: str, **overrides: object) -> KitConfig:
    settings: dict[str, object] = {
        "base_url": base_url,
        "api_key": PARENT_KEY,
        "account_id": PARENT,
        "subaccount_id": CHILD,
        "subaccount_key": CHILD_KEY,
        "foreign_account_id": OTHER,
        "server_now": NOW,
        "max_examples": 2,
        **overrides,
    }
    return KitConfig(**settings)  # type: ignore[arg-type]


def replay(judged: Judged, workdir: Path, timeout: float) -> tuple[int, int | None, str]:
    """Run the printed command in a shell: (curl's exit status, HTTP status, body digest)."""
    return sent_again(judged.curl, workdir, timeout)


def sent_again(curl: str, workdir: Path, timeout: float) -> tuple[int, int | None, str]:
    """:func:`replay` of a printed command."""
    body = workdir / "body"
    body.unlink(missing_ok=True)
    command = f"{curl} -o body -w '%{{http_code}}' --max-time {timeout}"
    env = {
        "PATH": os.environ["PATH"],
        "USAGEKIT_API_KEY": PARENT_KEY,
        "USAGEKIT_SUBACCOUNT_KEY": CHILD_KEY,
    }
    done = subprocess.run(
        ["sh", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, check=False
    )
    status = int(done.stdout) if done.stdout.strip().isdigit() else None
    content = body.read_bytes() if body.exists() else b""
    return done.returncode, status, hashlib.sha256(content).hexdigest()


def assert_every_curl_reproduces(summary: Summary, workdir: Path, timeout: float) -> int:
    replayed = 0
    for finding in summary.findings:
        assert finding.judged or finding.rule == "schemathesis_errors", (
            f"{finding.rule}: {finding.reason} has nothing to reproduce"
        )
        for judged in finding.judged:
            code, status, digest = replay(judged, workdir, timeout)
            where = f"{finding.rule}: {finding.reason}\n  {judged.curl}"
            if judged.status is None:  # the kit got no answer in time; neither does curl
                assert code == 28, f"{where}\n  answered {status} (curl exit {code})"
                continue
            assert code == 0, f"{where}\n  curl exit {code}"
            assert status == judged.status, f"{where}\n  got {status}, judged {judged.status}"
            if " -I " not in judged.curl:  # HEAD: curl shows the headers, there is no body
                assert digest == judged.digest, f"{where}\n  another body than the one judged"
            replayed += 1
    return replayed


#: Every fault, switched on in three servers (a third each), so that three runs
#: cover them all; each run includes schemathesis' phases.
GROUPS = [frozenset(list(Fault)[i::3]) for i in range(3)]


@pytest.mark.slow
@pytest.mark.parametrize("faults", GROUPS, ids=["faults-1", "faults-2", "faults-3"])
def test_every_printed_curl_reproduces_the_answer_judged(
    data_dir: Path, tmp_path: Path, faults: frozenset[Fault]
) -> None:
    with served(data_dir, faults, now=NOW) as base_url:
        summary = run(kit(base_url, data=data_dir))
        assert not summary.ok
        replayed = assert_every_curl_reproduces(summary, tmp_path, timeout=10)
    assert replayed >= len(summary.findings)
    print(f"{replayed} curls replayed")


USAGEKIT = Path(sys.executable).with_name("usagekit")
#: A prefix the upstream serves the endpoint under, a percent-escape that is not one, an
#: escaped space and a plus, an escaped comma, brackets, and the shell's quote characters.
TARGET = (
    f"/api/v1/accounts/{PARENT}/analytics/usage"
    "?tz=%ZZ&note=%20+x&group_by=agent%2Ctype&g[0]={a}&q=it's%22`$HOME`"
)


#: A client's headers: the mock's Prefer and a coding shape the answer; the rest are secrets.
HEADERS = {
    "X-API-Key": PARENT_KEY,
    "Prefer": "code=400, it's $HOME",
    "Accept-Encoding": "gzip",
    "Authorization": "Bearer secret-token",
    "Cookie": "session=secret-cookie",
}


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """An upstream that breaks the error body's shape and names, in it, the target it got
    byte for byte and the headers that shape an answer (the mock's ``Prefer`` among them):
    an answer to another target, or to other such headers, is another answer. It gzips
    what it says when the request accepts gzip."""
    target = scope["raw_path"] + b"?" + scope["query_string"]
    shaping = [v for k, v in scope["headers"] if k in (b"prefer", b"accept-encoding")]
    body = b'{"detail": "%s"}' % b" ".join([target, *shaping]).hex().encode()
    zipped = any(b"gzip" in v for k, v in scope["headers"] if k == b"accept-encoding")
    headers = {"content-encoding": "gzip"} if zipped else {}
    body = gzip.compress(body) if zipped else body
    await Response(body, 400, headers, media_type="application/json")(scope, receive, send)


@pytest.mark.slow
def test_the_curl_of_proxied_and_replayed_traffic_sends_the_target_as_the_client_wrote_it(
    tmp_path: Path,
) -> None:
    har, port = tmp_path / "traffic.har", free_port()
    with serving(echo) as upstream:
        command = [str(USAGEKIT), "proxy", "--upstream", upstream, "--port", str(port)]
        with running([*command, "--record", str(har)], port, path="/_usagekit/violations",
                     timeout=30) as base:  # fmt: skip
            client = http.client.HTTPConnection("127.0.0.1", urlsplit(base).port, timeout=10)
            client.request("GET", TARGET, headers=HEADERS)
            answer = client.getresponse()
            content = gzip.decompress(answer.read())  # the kit judges a body decoded
            status, digest = answer.status, hashlib.sha256(content).hexdigest()
            client.close()
            tally = httpx.get(f"{base}/_usagekit/violations", timeout=10).json()
        replayed, _ = replay_har(KitConfig(base_url=upstream, api_key="", account_id=""), har)
        curls = {v["curl"] for v in tally["violations"]}
        curls |= {j.curl for finding in replayed.findings for j in finding.judged}
        assert tally["violations"]
        assert replayed.findings
        for curl in curls:
            assert sent_again(curl, tmp_path, timeout=10) == (0, status, digest), curl
            assert "secret" not in curl, curl  # Authorization and Cookie never shown


#: What the kit itself sends is what its curls send: its Accept-Encoding too.
def test_the_curl_of_a_request_the_kit_sent_asks_for_the_same_codings(tmp_path: Path) -> None:
    with serving(echo) as upstream:
        client = Client(kit(upstream))
        try:
            sent = client.send(account=PARENT, params=[("tz", "UTC")])
        finally:
            client.close()
    assert sent.headers.get("content-encoding") == "gzip"
    judged = Judged.of(sent)
    with serving(echo) as upstream_again:  # another port: the curl names the first
        curl = judged.curl.replace(upstream, upstream_again)
        assert sent_again(curl, tmp_path, timeout=10) == (0, judged.status, judged.digest), curl


async def length_required(scope: Scope, receive: Receive, send: Send) -> None:
    """An upstream that answers a method other than GET (a fault: the contract says 405) --
    behind a front end that wants the length of the request's body, as some do (411)."""
    lengths = [v for k, v in scope["headers"] if k == b"content-length"]
    status = 200 if scope["method"] == "GET" or lengths else 411
    await Response(b'{"data": []}', status, media_type="application/json")(scope, receive, send)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_the_curl_of_another_method_says_the_request_has_no_body(
    tmp_path: Path, method: str
) -> None:
    # schemathesis' unsupported_method sends with requests, which writes Content-Length: 0.
    with serving(length_required) as upstream:
        url = f"{upstream}/v1/accounts/{PARENT}/analytics/usage"
        response = requests.request(method, url, headers={"X-API-Key": PARENT_KEY}, timeout=10)
        assert response.status_code == 200
        answer = Answer.from_requests(response, verify=True)
        judged = Judged.of(exchange_of(answer, None, kit(upstream)))
        assert sent_again(judged.curl, tmp_path, timeout=10) == (0, 200, judged.digest), judged.curl

"""The contract in the tools frontends use: Prism 5's proxy, openapi-typescript, Schemathesis.

Prism runs as ``prism proxy openapi.yaml <mock>`` in front of ``usagekit mock``
and reports what it finds wrong in the ``sl-violations`` header of each answer
(``location`` starts with ``request`` or ``response``). Every valid request --
the spec's own examples, each grouping in each order and both ``group_by``
forms, limits, zones, date-times with and without offset -- passes with no
request-side violation but one documented exception, and no answer, error
answers included, has a response-side violation.

The exception: a date-time without offset is local time in ``tz`` by the
contract, but ``format: date-time`` (RFC 3339) wants an offset, so Prism flags
it. A literal ``null`` is the contract's spelling of "absent"; OpenAPI has no
null in a query string, so Prism reads it as text and flags it wherever text
``null`` breaks the schema (see ``test_literal_null_is_flagged_only_where_prism_reads_text``).

openapi-typescript's ``group_by`` must type-check as a list of dimensions, and
Schemathesis, on the contract as written, must send only ``group_by`` values
the mock accepts (a ``nullable`` array made it send the empty ``group_by=``).
"""

from __future__ import annotations

import itertools
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import schemathesis
from factories import PARENT_KEY
from frontends import process, tools, usagekit
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode
from server_support import ME, served

from usagekit.conformance.generation import ZONES
from usagekit.mock.core.instants import parse_datetime
from usagekit.mock.datasets.synthetic import (
    DEMO_ACCOUNT_ID,
    DEMO_API_KEY,
    DEMO_SUBACCOUNT_ID,
    DEMO_SUBACCOUNT_KEY,
    FOREIGN_ACCOUNT_ID,
)
from usagekit.mock.spec import OPERATION_PATH, load_spec, spec_path

NOW = "2024-04-02T00:00:00Z"
DIMENSIONS = ("agent", "subaccount", "type")
GRANULARITIES = ("hour", "day", "month")
MARCH = (("start", "2024-03-01T00:00:00+01:00"), ("end", "2024-03-04T00:00:00+01:00"))


@dataclass(frozen=True, slots=True)
class Sent:
    """One request through the proxy and what it may be flagged for."""

    name: str
    params: tuple[tuple[str, str], ...] = ()
    account: str = "me"
    key: str | None = DEMO_API_KEY
    prefer: str | None = None
    status: int = 200

    def url(self, base: str) -> str:
        path = OPERATION_PATH.replace("{account_id}", self.account)
        return f"{base}{path}?{urlencode(self.params, safe=',:/')}"

    def send(self, base: str) -> tuple[httpx.Response, list[dict[str, Any]]]:
        headers = {"X-API-Key": self.key} if self.key is not None else {}
        if self.prefer is not None:
            headers["Prefer"] = self.prefer
        response = httpx.get(self.url(base), headers=headers, timeout=30)
        text = response.headers.get("sl-violations", "[]")
        assert text.startswith("["), f"{self.name}: {text[:300]}"  # "Too many violations! ..."
        return response, json.loads(text)


def spec_examples() -> list[Sent]:
    """Requests made of the spec's examples: parameter examples and each 200 example's meta."""
    spec = load_spec()
    parameters = spec["components"]["parameters"]
    examples = {
        parameters[name]["name"]: parameters[name]["example"]
        for name in ("Start", "End", "GroupBy", "Tz")
    }
    params = tuple((k, ",".join(v) if isinstance(v, list) else v) for k, v in examples.items())
    sent = [
        Sent(f"parameter examples, account {example['value']}", params, account=example["value"])
        for example in parameters["AccountId"]["examples"].values()
    ]
    answers = spec["paths"][OPERATION_PATH]["get"]["responses"]["200"]["content"]
    for name, example in answers["application/json"]["examples"].items():
        meta = example["value"]["meta"]
        asked = [(k, meta[k]) for k in ("start", "end", "granularity", "tz")]
        if meta["group_by"]:
            asked.append(("group_by", ",".join(meta["group_by"])))
        sent.append(Sent(f"200 example {name}", tuple(asked), account=meta["account_id"]))
    return sent


def valid_requests() -> list[Sent]:
    sent = spec_examples()
    orders = [p for n in (1, 2, 3) for p in itertools.permutations(DIMENSIONS, n)]
    for i, order in enumerate(orders):
        every = (("granularity", GRANULARITIES[i % 3]), *MARCH)
        sent.append(Sent(f"group_by={','.join(order)}", (*every, ("group_by", ",".join(order)))))
        if len(order) > 1:
            repeated = tuple(("group_by", d) for d in order)
            sent.append(Sent(f"group_by repeated {'&'.join(order)}", (*every, *repeated)))
    mixed = (("group_by", "type,agent"), ("group_by", "subaccount"), ("group_by", "type"))
    sent.append(Sent("group_by mixed forms with a duplicate", (*MARCH, *mixed)))
    sent += [Sent(f"granularity={g}", (("granularity", g), *MARCH)) for g in GRANULARITIES]
    sent += [Sent(f"limit={n}", (("limit", str(n)), ("granularity", "hour"))) for n in (1, 2, 500)]
    for zone in ZONES:
        asked = (("tz", zone), ("granularity", "hour"), ("limit", "30"), ("group_by", "type"))
        sent.append(Sent(f"tz={zone}", (*asked, *MARCH)))
    for start, end in [
        ("2024-03-01T00:00:00Z", "2024-03-02T00:00:00z"),
        ("2024-03-01T00:00:00.5+05:45", "2024-03-01T12:00:00.123456-03:30"),
        ("2024-03-30T00:00:00", "2024-04-01T00:00:00"),  # naive: local time in tz
        ("2024-03-31T01:30:00.25", "2024-03-31T04:00:00+02:00"),
    ]:
        asked = (("start", start), ("end", end), ("tz", "Europe/Vienna"), ("granularity", "hour"))
        sent.append(Sent(f"start={start} end={end}", asked))
    sent += [
        Sent("nothing but the key"),
        Sent("start only", (("start", "2024-03-20T00:00:00-04:00"),)),
        Sent("end only", (("end", "2024-03-20T00:00:00+09:00"),)),
        Sent("parent reads its subaccount", MARCH, account=DEMO_SUBACCOUNT_ID),
        Sent("subaccount reads itself", MARCH, account="me", key=DEMO_SUBACCOUNT_KEY),
        Sent("unknown parameters", (("colour", "blue"), ("page", "2"))),
    ]
    return sent


def refused_requests() -> list[Sent]:
    """Requests the mock refuses: only their answers are held to the contract here."""
    return [
        Sent("no key", status=401, key=None),
        Sent("unknown key", status=401, key="sk-nobody"),
        Sent("another tenant", account=FOREIGN_ACCOUNT_ID, status=403),
        Sent("subaccount reads its parent", (), DEMO_ACCOUNT_ID, DEMO_SUBACCOUNT_KEY, status=403),
        Sent("invalid limit and zone", (("limit", "0"), ("tz", "Mars/Olympus_Mons")), status=422),
        Sent("unknown dimension", (("group_by", "agent,colour"),), status=422),
        Sent("17 dimensions", (("group_by", ",".join(["type"] * 17)),), status=422),
        Sent("start after end", (("start", MARCH[1][1]), ("end", MARCH[0][1])), status=422),
        *(Sent(f"forced {code}", prefer=f"code={code}", status=code) for code in (429, 500, 503)),
    ]


VALID = valid_requests()
REFUSED = refused_requests()


@pytest.fixture(scope="module")
def prism() -> Any:
    """Prism's validation proxy in front of ``usagekit mock`` (demo dataset, pinned now)."""
    bin_dir = tools()
    mock = [usagekit(), "mock", "--port", "{port}", "--now", NOW, "--no-access-log"]
    with process([*mock, "--log-level", "warning"], "/healthz") as upstream:
        proxy = [str(bin_dir / "prism"), "proxy", str(spec_path()), upstream]
        with process([*proxy, "-h", "127.0.0.1", "-p", "{port}"], "/", timeout=90) as base:
            yield base


def _naive(sent: Sent) -> set[tuple[str, ...]]:
    return {
        ("request", "query", name)
        for name, value in sent.params
        if name in ("start", "end") and parse_datetime(value).offset is None
    }


@pytest.mark.parametrize("sent", VALID, ids=[s.name for s in VALID])
def test_prism_finds_valid_requests_and_their_answers_valid(prism: str, sent: Sent) -> None:
    response, violations = sent.send(prism)
    assert response.status_code == sent.status, response.text
    assert response.headers["content-type"] == "application/json"  # the mock's, not Prism's
    unexpected = [
        v
        for v in violations
        if not (tuple(v["location"]) in _naive(sent) and v["code"] == "format")
    ]
    assert not unexpected, unexpected


@pytest.mark.parametrize("sent", REFUSED, ids=[s.name for s in REFUSED])
def test_prism_finds_every_error_answer_valid(prism: str, sent: Sent) -> None:
    response, violations = sent.send(prism)
    assert response.status_code == sent.status, response.text
    assert response.headers["content-type"] == "application/json"
    assert [v for v in violations if v["location"][:1] == ["response"]] == []


@pytest.mark.parametrize(
    ("name", "flagged"),
    [("group_by", True), ("limit", True), ("start", True), ("end", True), ("tz", False)],
)
def test_literal_null_is_flagged_only_where_prism_reads_text(
    prism: str, name: str, flagged: bool
) -> None:
    response, violations = Sent(f"{name}=null", ((name, "null"),)).send(prism)
    assert response.status_code == 200, response.text
    assert [v["location"][:3] for v in violations] == [["request", "query", name]] * flagged


# -- openapi-typescript ----------------------------------------------------------------

USAGE_TS = """\
import type { components, operations } from "./usage";

type Query = NonNullable<operations["get_usage_analytics"]["parameters"]["query"]>;
export const none: Query = {};
export const grouped: Query = { group_by: ["agent", "type"] };
export const all: Query = {
  group_by: ["subaccount", "agent", "type"], granularity: "hour", tz: "Europe/Vienna", limit: 10,
};
// @ts-expect-error not a dimension of the contract
export const colour: Query = { group_by: ["colour"] };
// @ts-expect-error a list of dimensions, which the client joins, not a string
export const joined: Query = { group_by: "agent,type" };
// @ts-expect-error no grouping is an absent key (tests/data/page-differences.yaml)
export const nulled: Query = { group_by: null };
export const echoed: components["schemas"]["UsageMeta"]["group_by"] = null;
"""


def test_openapi_typescript_types_group_by_as_a_list_of_dimensions(tmp_path: Path) -> None:
    bin_dir = tools()
    generate = [str(bin_dir / "openapi-typescript"), str(spec_path()), "-o", "usage.d.ts"]
    subprocess.run(generate, cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "check.ts").write_text(USAGE_TS)
    options = ["--noEmit", "--strict", "--module", "esnext", "--moduleResolution", "bundler"]
    checked = subprocess.run(
        [str(bin_dir / "tsc"), *options, "check.ts"], cwd=tmp_path, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


# -- Schemathesis ----------------------------------------------------------------------


def test_schemathesis_sends_group_by_as_the_contract_means_it() -> None:
    operation = schemathesis.openapi.from_dict(load_spec())[OPERATION_PATH]["GET"]
    sent: list[list[tuple[str, str]]] = []

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(
        max_examples=150,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: Any) -> None:
        params = case.as_transport_kwargs(base_url="http://x").get("params") or ""
        # a query string where an array is delimited, else a dict of what it sends
        query = (
            parse_qsl(params, keep_blank_values=True)
            if isinstance(params, str)
            else list(params.items())
        )
        group_by = [(name, value) for name, value in query if name == "group_by"]
        if group_by:
            assert all(isinstance(value, str) for _, value in group_by), group_by
            sent.append(group_by)

    collect()
    assert len(sent) >= 20
    with served() as mock:
        for pairs in sent:
            response = mock.get(f"{ME}?{urlencode(pairs, safe=',')}", key=PARENT_KEY)
            assert response.status_code == 200, (pairs, response.text)
            items = [item for _, value in pairs for item in value.split(",")]
            assert response.json()["meta"]["group_by"] == list(dict.fromkeys(items))

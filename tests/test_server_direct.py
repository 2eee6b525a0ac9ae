"""The single validation pass: the core alone reads a valid request, and may accept
nothing the spec refuses -- checked against openapi.yaml, then request by request."""

from __future__ import annotations

import random
import re
from urllib.parse import quote

import pytest
from factories import CHILD, CHILD_KEY, OTHER, OTHER_KEY, PARENT, PARENT_KEY
from server_support import DATASET, NOW, PATH, Served
from starlette.datastructures import QueryParams

from usagekit.mock.core.query import (
    DEFAULT_GRANULARITY,
    DEFAULT_LIMIT,
    DEFAULT_TZ,
    MAX_GROUP_BY,
    MAX_LIMIT,
    MIN_LIMIT,
    Dimension,
    Granularity,
    RawQuery,
)
from usagekit.mock.core.zones import available_zones
from usagekit.mock.server.access import KeyIndex
from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import Clock, ServerConfig
from usagekit.mock.server.direct import DirectResolver, query_parameters
from usagekit.mock.server.routes import query_lists
from usagekit.mock.server.validation import Resolved
from usagekit.mock.spec import load_spec

SPEC = load_spec()
PARAMS = query_parameters(SPEC)
SCHEMAS = SPEC["components"]["schemas"]


def schema(name: str) -> dict:
    found = PARAMS[name]["schema"]
    return SCHEMAS[found["$ref"].rsplit("/", 1)[1]] if "$ref" in found else found


def test_the_core_reads_exactly_the_spec_s_parameters() -> None:
    assert set(PARAMS) == set(RawQuery.__dataclass_fields__)


def test_every_enum_range_default_and_cap_of_the_core_is_the_spec_s() -> None:
    assert schema("granularity")["enum"] == [g.value for g in Granularity]
    assert schema("granularity")["default"] == DEFAULT_GRANULARITY.value
    group_by = schema("group_by")
    items = SCHEMAS[group_by["items"]["$ref"].rsplit("/", 1)[1]]
    assert items["enum"] == [d.value for d in Dimension]
    assert (group_by["minItems"], group_by["maxItems"]) == (1, MAX_GROUP_BY)
    limit = schema("limit")
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (
        MIN_LIMIT,
        MAX_LIMIT,
        DEFAULT_LIMIT,
    )
    assert limit["type"] == "integer"
    assert schema("tz")["default"] == DEFAULT_TZ
    assert schema("start")["format"] == schema("end")["format"] == "date-time"


def test_every_zone_the_core_accepts_is_a_tz_the_schema_accepts() -> None:
    tz = schema("tz")
    pattern = re.compile(tz["pattern"])
    for name in available_zones():
        assert tz["minLength"] <= len(name) <= tz["maxLength"], name
        assert pattern.search(name), name


def test_null_reads_as_absent_exactly_where_the_spec_says() -> None:
    resolver = DirectResolver(SPEC, KeyIndex(DATASET), Clock(NOW))
    assert resolver.nullable == {"start", "end", "group_by", "tz", "limit"}
    assert resolver.arrays == {"group_by"}


def test_a_valid_request_is_resolved_and_anything_else_left_to_connexion() -> None:
    resolver = DirectResolver(SPEC, KeyIndex(DATASET), Clock(NOW))

    def resolve(account: str, query: str, key: str) -> Resolved | None:
        scope = {"path": PATH.format(account), "query_string": query.encode()}
        return resolver.resolve(scope, key.encode(), query_lists(query.encode()))

    found = resolve("me", "group_by=type,agent&tz=null", PARENT_KEY)
    assert found is not None
    assert (found.query.account_id, found.query.tz, found.second) == (PARENT, "UTC", None)
    assert [d.value for d in found.query.group_by] == ["type", "agent"]
    for account, query, key in [
        ("me", "", "sk-nobody"),  # 401
        (OTHER, "", PARENT_KEY),  # 403
        ("me", "limit=0", PARENT_KEY),  # 422
        ("me", "tz=UTC&tz=UTC", PARENT_KEY),  # a repeated scalar
        ("me", "granularity=null", PARENT_KEY),  # not nullable
    ]:
        assert resolve(account, query, key) is None, query


# -- request by request: the same answer with and without the direct path -------------

VALUES = {
    "start": ["2024-03-01T00:00:00Z", "2024-03-30T22:00:00", "2024-03-31T02:30:00", "null",
              "", "2024-02-30T00:00:00Z", "0001-01-01T00:00:00", "2024-03-01",
              "9999-12-31T23:59:59",
              "2024-03-01T00:00:00+01:00", "2024-03-01T00:00:00 01:00", "2024-03-01t00:00:00z",
              "2024-03-01T00:00:00.1234567Z"],
    "end": ["2024-04-01T00:00:00Z", "2024-03-02T00:00:00", "null", "", "2024-02-01T00:00:00Z",
            "10000-01-01T00:00:00Z", "2024-03-31T03:00:00+02:00"],
    "granularity": ["hour", "day", "month", "null", "", "Day", "week"],
    "group_by": ["agent", "type,agent", "subaccount,agent,type", "null", "", "agent,", "colour",
                 "agent,agent", ",".join(["type"] * 17), ",".join(["type"] * 16)],
    "tz": ["UTC", "Europe/Vienna", "europe/vienna", "America/Sao_Paulo", "Asia/Kathmandu",
           "null", "", "Mars/Olympus", "Etc/GMT+5", "../etc", "A" * 70],
    "limit": ["1", "24", "500", "501", "0", "-1", "05", "+5", " 5", "5.0", "null", "",
              "0" * 30 + "5", "\u0665"],  # an Arabic-Indic five
    "colour": ["blue"],
}  # fmt: skip
ACCOUNTS = ["me", PARENT, CHILD, OTHER, "nobody"]
KEYS = [PARENT_KEY, PARENT_KEY, CHILD_KEY, OTHER_KEY, "sk-nobody", None]


def random_request(rng: random.Random) -> tuple[str, str | None]:
    pairs = []
    for name in rng.sample(sorted(VALUES), rng.randint(0, 4)):
        for _ in range(1 if rng.random() < 0.85 else 2):
            value = rng.choice(VALUES[name])
            pairs.append(f"{name}={quote(value, safe=',:/') if rng.random() < 0.8 else value}")
    query = "&".join(pairs)
    path = PATH.format(rng.choice(ACCOUNTS))
    return (f"{path}?{query}" if query else path), rng.choice(KEYS)


@pytest.fixture(scope="module")
def both():
    apps = [
        Served(create_app(DATASET, ServerConfig(now=NOW), direct=direct))
        for direct in (True, False)
    ]
    yield apps
    for app in apps:
        app.close()


def test_every_generated_request_gets_the_same_answer_with_and_without_the_direct_path(
    both,
) -> None:
    direct, connexion = both
    rng = random.Random(2025)
    statuses: dict[int, int] = {}
    for _ in range(1_500):
        url, key = random_request(rng)
        a, b = direct.get(url, key=key), connexion.get(url, key=key)
        assert (a.status_code, a.content) == (b.status_code, b.content), (url, key)
        assert a.headers["content-type"] == b.headers["content-type"]
        statuses[a.status_code] = statuses.get(a.status_code, 0) + 1
    # Both kinds of answer were compared many times over.
    assert statuses.get(200, 0) > 100, statuses
    assert statuses.get(422, 0) > 100, statuses


def test_query_lists_reads_a_query_string_as_starlette_does_for_connexion() -> None:
    """The direct path's own split, and parse_qsl where there is something to unquote,
    give exactly starlette's QueryParams: names, values and their order."""
    rng = random.Random(8)
    alphabet = [*"ab=&%+;2F0 ", "group_by", "tz", "é".encode("latin-1").decode("latin-1"), "\x00"]
    samples = [b"", b"&", b"=", b"a", b"a=", b"=b", b"a=b=c", b"&&a=1&&", b"tz=UTC&tz="]
    for _ in range(3_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        samples.append(text.encode("latin-1"))
    samples += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 24))) for _ in range(1_000)]
    for raw in samples:
        expected: dict[str, list[str]] = {}
        for name, value in QueryParams(raw).multi_items():
            expected.setdefault(name, []).append(value)
        assert query_lists(raw) == expected, raw

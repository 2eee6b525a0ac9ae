"""The server answers exactly what the reference aggregator computes for the same query."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from factories import CHILD, CHILD_KEY, OTHER, OTHER_KEY, PARENT, PARENT_KEY
from server_support import DATASET, NOW, NOW_TEXT, PATH, served

from usagekit.cli.aggregate import aggregate as aggregate_command
from usagekit.mock.core.aggregate import aggregate
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.datasets.files import save_dataset
from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.sources import load_dataset

QUERIES = [
    {},
    {"granularity": "hour", "start": "2024-03-31T00:00:00", "end": "2024-03-31T06:00:00",
     "tz": "Europe/Vienna"},
    {"granularity": "day", "group_by": "agent,type", "tz": "Europe/Vienna",
     "start": "2024-03-01T00:00:00"},
    {"granularity": "month", "group_by": "subaccount", "start": "2024-01-01T00:00:00Z",
     "end": "2024-05-01T00:00:00Z"},
    {"granularity": "day", "tz": "America/New_York", "limit": "3", "group_by": "type"},
    {"granularity": "hour", "tz": "Asia/Kathmandu", "start": "2024-03-15T00:00:00",
     "end": "2024-03-16T00:00:00", "group_by": "agent,subaccount,type"},
    {"granularity": "day", "tz": "Australia/Lord_Howe", "start": "2024-03-30T00:00:00",
     "end": "2024-04-02T00:00:00"},
]  # fmt: skip


def reference(account: str, params: dict[str, str]) -> bytes:
    group_by = params.get("group_by")
    raw = RawQuery(
        start=params.get("start"),
        end=params.get("end"),
        granularity=params.get("granularity"),
        group_by=group_by.split(",") if group_by else None,
        tz=params.get("tz"),
        limit=params.get("limit"),
    )
    return aggregate(DATASET, resolve_query(raw, account_id=account, now=NOW)).to_json()


@pytest.fixture(scope="module")
def mock():
    with served() as client:
        yield client


@pytest.mark.parametrize("params", QUERIES)
@pytest.mark.parametrize(
    ("key", "path", "account"),
    [
        (PARENT_KEY, "me", PARENT),
        (PARENT_KEY, CHILD, CHILD),
        (CHILD_KEY, "me", CHILD),
        (OTHER_KEY, OTHER, OTHER),
    ],
)
def test_answers_equal_the_reference_aggregator(mock, params, key, path, account) -> None:
    response = mock.get(PATH.format(path), key=key, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == reference(account, params)
    # The memoised answer is the same bytes.
    assert mock.get(PATH.format(path), key=key, params=params).content == response.content


def test_a_parents_usage_covers_its_subaccounts(mock) -> None:
    params = {"granularity": "month", "start": "2024-03-01T00:00:00Z"}
    params["end"] = "2024-04-01T00:00:00Z"
    parent = mock.get(PATH.format(PARENT), key=PARENT_KEY, params=params).json()
    child = mock.get(PATH.format(CHILD), key=PARENT_KEY, params=params).json()
    ((parent_value,),) = [b["values"] for b in parent["data"]]
    ((child_value,),) = [b["values"] for b in child["data"]]
    assert parent_value["seconds"] == 60 + 120 + 30 + 300 + 90 + 75 + 10
    assert child_value["seconds"] == 300 + 10


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dataset")
    save_dataset(DATASET, folder)
    return folder


@pytest.mark.parametrize("params", QUERIES[:4])
def test_answers_equal_usagekit_aggregate_over_a_data_directory(data_dir, params) -> None:
    config = ServerConfig(data_dir=str(data_dir), now=NOW)
    with served(load_dataset(config), now=NOW) as mock:
        served_body = mock.get(PATH.format("me"), key=PARENT_KEY, params=params).content
    options = [f"--{name.replace('_', '-')}={value}" for name, value in params.items()]
    result = CliRunner().invoke(
        aggregate_command,
        ["--data", str(data_dir), "--account", PARENT, "--now", NOW_TEXT, *options],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == served_body + b"\n"

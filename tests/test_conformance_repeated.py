"""A single-valued parameter sent twice: every admissible answer passes the kit.

The contract names one value for ``start``, ``end``, ``granularity``, ``tz``
and ``limit`` (``style: form``, ``explode: true``, the OpenAPI default, which
says nothing of a repeat). A server may read the last (usagekit's mock,
starlette, FastAPI), the first (werkzeug, Go's ``Query().Get``), or refuse the
request -- 422 naming the field, or 400 under the published contract. The kit
judges such an answer by its shape only: no rule may flag any of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import PARENT, PARENT_KEY
from proxy_support import DATASET, UPSTREAM, USAGE, direct, traffic

from usagekit.conformance.har import Recorded
from usagekit.conformance.profiles import Profile
from usagekit.mock.datasets.files import save_dataset

SPAN = [("start", "2024-03-01T00:00:00Z"), ("end", "2024-03-03T00:00:00Z")]
#: Each repeat: the two values, sent in this order.
REPEATS = {
    "granularity": ("day", "hour"),
    "tz": ("UTC", "Europe/Vienna"),
    "limit": ("1", "2"),
    "start": ("2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"),
    "end": ("2024-03-03T00:00:00Z", "2024-03-02T12:00:00Z"),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dataset")
    save_dataset(DATASET, directory)
    return directory


def _params(name: str, value: str) -> list[tuple[str, str]]:
    return [*(p for p in SPAN if p[0] != name), (name, value)]


def _answers(name: str) -> dict[str, tuple[int, bytes]]:
    """What a server may answer ``name`` sent twice: the first read, the last, a refusal."""
    first, last = REPEATS[name]
    asked = [(PARENT, PARENT_KEY, _params(name, value)) for value in (first, last)]
    read_first, read_last = direct(requests=asked)
    assert (read_first.status, read_last.status) == (200, 200)
    refusal = {"code": "validation_error", "message": "1 invalid parameter."}
    field = [{"field": f"query.{name}", "message": "is given more than once"}]
    bad = {"code": "bad_request", "message": "The request could not be read."}
    return {
        "first": (200, read_first.content),
        "last": (200, read_last.content),
        "422": (422, json.dumps({**refusal, "errors": field}).encode()),
        "400": (400, json.dumps(bad).encode()),
    }


@pytest.mark.parametrize("profile", list(Profile))
@pytest.mark.parametrize("name", list(REPEATS))
def test_every_reading_of_a_repeat_passes(data_dir: Path, name: str, profile: Profile) -> None:
    first, last = REPEATS[name]
    sent = [*(p for p in SPAN if p[0] != name), (name, first), (name, last)]
    url = f"{UPSTREAM}{USAGE.format(PARENT)}?" + "&".join(f"{k}={v}" for k, v in sent)
    for answer, (status, body) in _answers(name).items():
        judge = traffic(data_dir, profile)
        recorded = Recorded(
            started=0.0,
            method="GET",
            url=url,
            request_headers=(("X-API-Key", PARENT_KEY),),
            status=status,
            reason="",
            response_headers=(("content-type", "application/json"),),
            content=body,
            elapsed=0.001,
        )
        violations = judge.judge(recorded)
        assert violations == [], (answer, violations)

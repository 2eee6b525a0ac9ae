"""``Prefer: example=NAME``, and a ``Prefer`` that cannot be applied: a Warning, never silence."""

from __future__ import annotations

import json
import logging

import pytest
from factories import PARENT_KEY
from server_support import ME, served

from usagekit.mock.server.scenarios import parse_prefer
from usagekit.mock.spec import OPERATION_PATH, load_spec


def test_prefer_example_answers_the_named_example_of_the_spec():
    spec = load_spec()
    examples = spec["paths"][OPERATION_PATH]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["examples"]
    with served() as mock:
        for name, example in examples.items():
            answer = mock.get(ME, key=PARENT_KEY, headers={"prefer": f"example={name}"})
            assert answer.status_code == 200
            assert answer.json() == json.loads(json.dumps(example["value"]))
            assert answer.headers["preference-applied"] == f"example={name}"
            assert "warning" not in answer.headers


@pytest.mark.parametrize(
    ("prefer", "applied", "reason"),
    [
        ("code=404", None, "code=404 cannot be forced"),
        ("code=418", None, "code=418 cannot be forced"),
        ("code=abc", None, "code=abc is not a whole number"),
        ("latency=soon", None, "latency=soon is not a whole number"),
        ("example=nope", None, "example=nope is not an example"),
        ("respond-async, latency=0", "latency=0", "respond-async is not a preference"),
        ('code="9999999999999"', None, "is not a whole number"),
    ],
)
def test_a_prefer_that_cannot_be_applied_answers_normally_with_a_warning(
    prefer, applied, reason, caplog
):
    with served() as mock, caplog.at_level(logging.WARNING, logger="usagekit.mock.server"):
        answer = mock.get(ME, key=PARENT_KEY, headers={"prefer": prefer})
    assert answer.status_code == 200
    assert answer.json()["meta"]["account_id"]
    assert answer.headers.get("preference-applied") == applied
    assert answer.headers["warning"].startswith('299 usagekit "')
    assert reason in answer.headers["warning"]
    assert reason in caplog.text


def test_a_forced_code_refuses_an_example_and_says_so():
    with served() as mock:
        answer = mock.get(
            ME, key=PARENT_KEY, headers={"prefer": "code=429, example=grouped_by_agent"}
        )
    assert answer.status_code == 429
    assert answer.headers["preference-applied"] == "code=429"
    assert "example=grouped_by_agent" in answer.headers["warning"]


def test_echoed_text_is_safe_in_a_header():
    prefs = parse_prefer(['example="a\\"b\x7fc' + "x" * 100 + '"'], ["grouped_by_agent"])
    (reason,) = prefs.refused
    assert '"' not in reason
    assert "\x7f" not in reason
    assert len(reason) < 120

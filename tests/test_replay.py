"""``check --replay``: the verdicts of a recorded HAR offline equal the live run's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from proxy_support import DATASET, kit_config, through, traffic
from servers.minimal import Fault

from usagekit.conformance.outcomes import Summary
from usagekit.conformance.replay import replay
from usagekit.mock.datasets.files import save_dataset

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dataset")
    save_dataset(DATASET, directory)
    return directory


def verdicts(summary: Summary) -> dict[str, tuple[int, int, tuple[str, ...]]]:
    return {
        r.name: (r.passed, r.failed, tuple(sorted(f.reason for f in r.findings)))
        for r in summary.results
    }


@pytest.mark.parametrize(
    "faults",
    [
        frozenset(),
        frozenset({Fault.IGNORES_LIMIT, Fault.ERROR_SHAPE}),
        frozenset({Fault.UTC_LABELS, Fault.INCLUSIVE_END, Fault.NO_AUTH}),
    ],
    ids=["correct", "limit+shape", "labels+end+auth"],
)
def test_replay_gives_the_live_verdicts(
    tmp_path: Path, data_dir: Path, faults: frozenset[Fault]
) -> None:
    har = tmp_path / "live.har"
    live = traffic(data_dir)
    through(live, faults, record=har)
    summary, replayed = replay(kit_config(data=data_dir), har, DATASET)
    assert verdicts(summary) == verdicts(live.summary())
    assert summary.ok is (not faults)
    assert replayed.ledger.counts() == live.ledger.counts()


def test_a_browser_export_of_a_correct_backend_passes(data_dir: Path) -> None:
    summary, judged = replay(kit_config(data=data_dir), DATA / "devtools-export.har", DATASET)
    assert summary.ok, [f.reason for f in summary.findings]
    assert summary.requests == 2  # the script and the icon are not the endpoint's
    ran = {r.name for r in summary.results if r.passed}
    assert {"matches_reference", "buckets_follow_calendar", "error_body_shape"} <= ran
    assert judged.ledger.counts()["status:422"] == 1


def test_a_browser_export_of_a_broken_backend_fails(tmp_path: Path, data_dir: Path) -> None:
    export = json.loads((DATA / "devtools-export.har").read_text(encoding="utf-8"))
    content = export["log"]["entries"][1]["response"]["content"]
    body = json.loads(content["text"])
    body["data"].pop(0)  # a backend that loses the first day
    content["text"] = json.dumps(body)
    broken = tmp_path / "broken.har"
    broken.write_text(json.dumps(export), encoding="utf-8")
    summary, _ = replay(kit_config(data=data_dir), broken, DATASET)
    failed = {r.name for r in summary.results if r.failed}
    assert {"buckets_follow_calendar", "matches_reference"} <= failed
    (finding,) = [f for f in summary.findings if f.rule == "buckets_follow_calendar"]
    # The reproduction goes to the backend the browser talked to.
    assert "https://api.staging.example.com/v1/accounts/" in finding.curl[0]

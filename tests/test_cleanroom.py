"""The kit and the reference against a server written apart from both: ``servers.cleanroom``.

The clean-room server was written from the published page and openapi.yaml
alone (stdlib ``http.server`` and ``zoneinfo``), choosing other answers than the
reference wherever the contract admits several. ``usagekit check``, run as a
user runs it against it as a process, must find nothing, under both profiles;
and on a few hundred seeded random queries (zones with DST in both hemispheres,
fractional offsets, skipped midnights; every granularity, grouping and limit)
its answers must mean what the mock's mean, compared as the contract compares:
statuses, instants and offsets, values -- not bytes.
"""

from __future__ import annotations

import functools
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from factories import CHILD, CHILD_KEY, OTHER, PARENT, PARENT_KEY, busy_dataset
from processes import free_port, running
from server_support import Served

from usagekit.mock.datasets.files import load_dataset, save_dataset
from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import ServerConfig, parse_instant

NOW_TEXT = "2026-11-15T12:00:00Z"
NOW = parse_instant(NOW_TEXT)
NOW_DT = datetime.fromisoformat(NOW_TEXT)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
USAGEKIT = Path(sys.executable).with_name("usagekit")
#: DST north and south, fractional offsets, midnights skipped or repeated, a skipped date.
ZONES = (
    "UTC", "Europe/Vienna", "America/New_York", "Australia/Sydney", "America/Santiago",
    "Asia/Beirut", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns",
    "Pacific/Chatham", "America/Sao_Paulo", "Pacific/Apia", "Asia/Kolkata", "Etc/GMT+5",
)  # fmt: skip
DIMENSIONS = ("agent", "subaccount", "type")


@functools.cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """Instants (to the minute) where ``zone``'s offset changes in the 400 days before now."""
    return tuple(_transitions(zone, NOW_DT - timedelta(days=400), NOW_DT))


def _transitions(zone: str, first: datetime, last: datetime) -> Iterator[datetime]:
    tz, at = ZoneInfo(zone), first
    while at < last:
        following = at + timedelta(minutes=15)
        if at.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            yield next(
                m for m in (at + timedelta(minutes=i) for i in range(1, 16))
                if m.astimezone(tz).utcoffset() == following.astimezone(tz).utcoffset()
            )  # fmt: skip
        at = following


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 days of busy data, and a conversation on each side of every offset change."""
    directory = tmp_path_factory.mktemp("cleanroom")
    save_dataset(busy_dataset(NOW, days=400), directory)
    with (directory / "conversations.jsonl").open("a", encoding="utf-8") as lines:
        for zone in ZONES:
            for n, change in enumerate(transitions(zone)):
                for side, at in (("on", change), ("before", change - timedelta(seconds=1))):
                    record = {
                        "conversation_id": f"edge-{zone}-{n}-{side}", "account_id": CHILD,
                        "agent_id": None, "type": "web", "direction": "outbound",
                        "status": "completed", "duration_seconds": 7 + n,
                        "start_timestamp": at.astimezone(UTC).isoformat(),
                    }  # fmt: skip
                    lines.write(json.dumps(record) + "\n")
    return directory


@pytest.fixture(scope="module")
def cleanroom(data_dir: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "servers.cleanroom", "--data", str(data_dir)]
    with running([*command, "--port", str(port), "--now", NOW_TEXT], port, timeout=30) as base:
        yield base


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["reference", "contract"])
def test_usagekit_check_finds_nothing_wrong_with_the_clean_room_server(
    cleanroom: str, data_dir: Path, tmp_path: Path, profile: str
) -> None:
    report = tmp_path / "report.md"
    command = [
        str(USAGEKIT), "check", "--base-url", cleanroom, "--account-id", PARENT,
        "--subaccount-id", CHILD, "--foreign-account-id", OTHER, "--data", str(data_dir),
        "--server-now", NOW_TEXT, "--profile", profile, "--max-examples", "5",
        "--report", str(report),
    ]  # fmt: skip
    keys = {"USAGEKIT_API_KEY": PARENT_KEY, "USAGEKIT_SUBACCOUNT_KEY": CHILD_KEY}
    done = subprocess.run(
        command, env={**_environ(), **keys}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "CONFORMS" in done.stdout
    assert "reference_answers" in report.read_text()  # the comparison with --data ran


def _environ() -> dict[str, str]:
    return dict(os.environ)


def random_query(rng: random.Random) -> tuple[str, str, list[tuple[str, str]]]:
    """(key, account in the path, query parameters) of one seeded random request."""
    key, account = rng.choice(
        [(PARENT_KEY, "me"), (PARENT_KEY, PARENT), (PARENT_KEY, CHILD), (CHILD_KEY, "me")]
    )
    zone = rng.choice(ZONES)
    granularity = rng.choice(["hour"] * 3 + ["day"] * 3 + ["month"] * 2 + [None])
    span_hours = {"hour": 200, "day": 24 * 120, "month": 24 * 500, None: 24 * 60}[granularity]
    start = NOW_DT - timedelta(days=rng.uniform(0, 400))
    if rng.random() < 0.3:  # near an offset change of the zone
        changes = transitions(zone) or (start,)
        start = rng.choice(changes) + timedelta(hours=rng.randint(-30, 6))
    start = start.replace(microsecond=rng.choice([0, 0, 0, 500_000, 1]))
    if rng.random() < 0.5:
        start = start.replace(second=0, minute=rng.choice([0, 0, 15, 30, 45]))
    end = start + timedelta(hours=rng.uniform(0.25, span_hours))
    params: list[tuple[str, str]] = [("tz", zone)] if zone != "UTC" or rng.random() < 0.5 else []
    if granularity:
        params.append(("granularity", granularity))
    for name, at in (("start", start), ("end", end)):
        roll = rng.random()
        if roll < 0.15 and name == "end":
            continue  # defaults to now
        local = at.astimezone(ZoneInfo(zone))
        text = local.replace(tzinfo=None).isoformat() if roll < 0.35 else local.isoformat()
        params.append((name, text))
    dims = rng.sample(DIMENSIONS, rng.randint(0, 3))
    if dims and rng.random() < 0.3:
        dims.append(rng.choice(dims))  # a duplicate
    if dims and rng.random() < 0.5:
        params += [("group_by", d) for d in dims]
    elif dims:
        params.append(("group_by", ",".join(dims)))
    if rng.random() < 0.6:
        params.append(("limit", str(rng.choice([1, 2, 3, 7, 24, 100, 499, 500]))))
    if rng.random() < 0.08:  # an invalid parameter or two, or an empty range
        params += rng.sample(
            [("limit", "0"), ("tz", "Mars/Olympus"), ("granularity", "week"),
             ("start", "2026-02-30T00:00:00Z"), ("group_by", "agent,team"), ("end", "")], 2
        )  # fmt: skip
        params = list({name: (name, value) for name, value in reversed(params)}.values())
    return key, account, params


def meaning(status: int, body: Any) -> Any:
    """What an answer says, as the contract compares it: instants in the zone's offset,
    not their text; a 422's set of fields."""
    if status != 200:
        fields = {e["field"] for e in body.get("errors") or ()}
        return status, body["code"], fields
    meta, zone = body["meta"], ZoneInfo(body["meta"]["tz"])
    return status, {
        "meta": {**meta, "start": stamp(meta["start"], zone), "end": stamp(meta["end"], zone)},
        "data": [(stamp(b["ts"], zone), b["values"]) for b in body["data"]],
    }


def stamp(text: str, zone: ZoneInfo) -> tuple[timedelta, object]:
    """The instant (since the epoch), and whether it is written in ``zone``'s offset there:
    a local-mean-time offset's seconds may go to the minute either way."""
    moment = datetime.fromisoformat(text)
    instant, written = moment - EPOCH, moment.utcoffset()
    try:
        true = (EPOCH + instant).astimezone(zone).utcoffset()
    except OverflowError:  # a clock reading of the year 1 in UTC's year 0
        true = zone.utcoffset(moment.replace(tzinfo=None))
    assert written is not None, text
    assert true is not None, text
    return instant, "in tz" if abs(written - true) < timedelta(minutes=1) else written


#: Requests at the edges of each parameter whose answer the contract decides.
EDGES = [
    *(f"limit={v}" for v in ("05", "0", "-0", "%D9%A5", "1e2", "5.0", "500", "501", "", "null")),
    *(f"tz={v}" for v in ("utc", "Factory", "Etc/GMT%2B14", "Etc/GMT-14", "EST5EDT", "UTC/",
                          "right/UTC", "posix/UTC", "localtime", "zone.tab", "%ZZ", "%FF", "")),
    *(f"granularity={v}" for v in ("Day", "week", "null", "")),
    *(f"start={v}&end=2026-11-12T00:00:00Z" for v in (
        "2026-11-01", "2026-11-01T00:00", "2026-11-01%2000:00:00Z", "2026-11-01t00:00:00z",
        "2026-11-01T00:00:00.1234567Z", "2026-11-01T00:00:00%2B24:00", "2026-11-01T00:00:00%2B0100",
        "2026-11-01T24:00:00Z", "2026-11-01T23:59:60Z", "2026-02-29T00:00:00Z",
        "0001-01-01T00:00:00Z", "%EF%BC%92026-11-01T00:00:00Z", "2026-11-01T00:00:00-00:00")),
    *(f"group_by={v}" for v in ("agent,", ",", "AGENT", "agent,agent", "agent,%20type",
                                "null", "null,agent", ",".join(["type"] * 17), "agent;type")),
    "end=0001-01-01T00:00:00Z", "end=0001-02-01T00:00:00Z", "start=2026-11-15T12:00:00Z",
    "start=0001-01-01T00:00:00&end=0001-01-03T00:00:00&tz=America/New_York",
    "start=9999-12-01T00:00:00&end=9999-12-31T23:59:59.999999&granularity=month&tz=Pacific/Kiritimati",
    "start=1883-11-18T00:00:00&end=1883-11-20T00:00:00&tz=America/New_York&granularity=hour",
]  # fmt: skip


@pytest.mark.slow
def test_the_clean_room_server_means_what_the_mock_means(cleanroom: str, data_dir: Path) -> None:
    mock = Served(create_app(load_dataset(data_dir), ServerConfig(now=NOW)))
    rng, differences = random.Random(20261127), []
    try:
        with httpx.Client(base_url=cleanroom, timeout=30) as client:
            queries = [random_query(rng) for _ in range(300)]
            paths = [(k, f"/v1/accounts/{a}/analytics/usage?{urlencode(p)}") for k, a, p in queries]
            paths += [(PARENT_KEY, f"/v1/accounts/me/analytics/usage?{edge}") for edge in EDGES]
            for key, path in paths:
                theirs = mock.get(path, key=key)
                ours = client.get(path, headers={"X-API-Key": key})
                expected = meaning(theirs.status_code, theirs.json())
                got = meaning(ours.status_code, ours.json())
                if _relation_named_apart(expected, got):
                    continue
                if got != expected:
                    differences.append(f"{path} (key {key}):\n  mock {expected}\n  ours {got}")
    finally:
        mock.close()
    assert not differences, f"{len(differences)} differ; first:\n" + "\n".join(differences[:3])


def _relation_named_apart(expected: Any, got: Any) -> bool:
    """Both 422s, naming the same fields but for start and end: the relation start < end
    may be named as either or both, next to invalid fields or only once every field is
    valid (openapi.yaml); the reference names start, whenever it can decide."""
    if expected[0] != 422 or got[0] != 422:
        return False
    return bool(got[2]) and expected[2] ^ got[2] <= {"query.start", "query.end"}

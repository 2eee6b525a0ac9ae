"""The synthetic generator: deterministic, valid, with the demo credentials, business-shaped."""

from __future__ import annotations

from pathlib import Path

import factories as f
import numpy as np
import pytest

from usagekit.mock.core.dataset import CONVERSATION_TYPES, NO_AGENT, STATUSES, Dataset
from usagekit.mock.core.instants import US
from usagekit.mock.core.zones import get_timeline
from usagekit.mock.datasets import synthetic
from usagekit.mock.datasets.files import (
    ACCOUNTS_FILE,
    CONVERSATIONS_FILE,
    load_dataset,
    save_dataset,
)
from usagekit.mock.datasets.synthetic import (
    DEFAULT_SIZE,
    DEMO_ACCOUNT_ID,
    DEMO_API_KEY,
    DEMO_SUBACCOUNT_ID,
    DEMO_SUBACCOUNT_KEY,
    FOREIGN_ACCOUNT_ID,
    FOREIGN_API_KEY,
    MIN_SIZE,
    generate,
)

NOW = f.at("2026-01-01T00:00:00Z")
DAY = 86_400 * US
COMPLETED = STATUSES.index("completed")


@pytest.fixture(scope="module")
def default() -> Dataset:
    """The dataset the mock serves by default, at a fixed now."""
    return generate(now=NOW)


def files(data: Dataset, directory: Path) -> dict[str, bytes]:
    save_dataset(data, directory)
    return {name: (directory / name).read_bytes() for name in (ACCOUNTS_FILE, CONVERSATIONS_FILE)}


def test_the_same_seed_and_now_write_the_same_bytes(tmp_path: Path) -> None:
    first = files(generate(seed=7, now=NOW, size=3000), tmp_path / "a")
    second = files(generate(seed=7, now=NOW, size=3000), tmp_path / "b")
    assert first == second


def test_different_seeds_give_different_data(tmp_path: Path) -> None:
    one, two = generate(seed=1, now=NOW, size=3000), generate(seed=2, now=NOW, size=3000)
    assert (
        files(one, tmp_path / "a")[CONVERSATIONS_FILE]
        != files(two, tmp_path / "b")[CONVERSATIONS_FILE]
    )
    fixed = {DEMO_ACCOUNT_ID, DEMO_SUBACCOUNT_ID, FOREIGN_ACCOUNT_ID}
    generated = {a.id for a in one.accounts} - fixed
    assert generated
    assert not generated & {a.id for a in two.accounts}
    assert one.agent_ids != two.agent_ids


def test_accounts_and_agents_depend_on_the_seed_alone() -> None:
    small = generate(seed=3, now=NOW, size=MIN_SIZE, days=30)
    large = generate(seed=3, now=NOW + 17 * DAY, size=5000, days=400)
    assert small.accounts == large.accounts


def test_different_nows_shift_the_data() -> None:
    early = generate(seed=3, now=NOW, size=2000)
    late = generate(seed=3, now=NOW + DAY, size=2000)
    assert early.conversations.start.max() < NOW <= late.conversations.start.max()


@pytest.mark.parametrize("seed", [0, 1, 2024, 2**40])
def test_the_documented_credentials_are_in_every_dataset(seed: int) -> None:
    data = generate(seed=seed, now=NOW, size=MIN_SIZE)
    keys = data.keys()
    demo, support, foreign = keys[DEMO_API_KEY], keys[DEMO_SUBACCOUNT_KEY], keys[FOREIGN_API_KEY]
    assert (demo.id, demo.parent_id) == (DEMO_ACCOUNT_ID, None)
    assert (support.id, support.parent_id) == (DEMO_SUBACCOUNT_ID, DEMO_ACCOUNT_ID)
    assert (foreign.id, foreign.parent_id) == (FOREIGN_ACCOUNT_ID, None)
    assert len(data.subaccounts(DEMO_ACCOUNT_ID)) >= 2
    # The demo account's usage covers its subaccount's conversations; the other tenant's does not.
    owners = set(data.scope(DEMO_ACCOUNT_ID).owner_values)
    assert {DEMO_ACCOUNT_ID, DEMO_SUBACCOUNT_ID} <= owners
    assert data.scope(FOREIGN_ACCOUNT_ID).owner_values == (FOREIGN_ACCOUNT_ID,)


def test_the_credentials_never_change_and_are_documented() -> None:
    # Written down in README files and client configurations: changing them breaks users.
    assert (DEMO_ACCOUNT_ID, DEMO_API_KEY) == (
        "7d9c3a52-4f1e-4b8a-9c2d-5e6f7a8b9c0d",
        "sk-usagekit-demo",
    )
    doc = synthetic.__doc__ or ""
    for value in (DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_SUBACCOUNT_ID, DEMO_SUBACCOUNT_KEY,
                  FOREIGN_ACCOUNT_ID, FOREIGN_API_KEY):  # fmt: skip
        assert f"``{value}``" in doc


@pytest.mark.parametrize("days", [1, 400])
@pytest.mark.parametrize("seed", range(6))
def test_every_account_type_and_status_occurs_even_in_the_smallest_dataset(
    seed: int, days: int
) -> None:
    rows = generate(seed=seed, now=NOW, size=MIN_SIZE, days=days).conversations
    assert len(rows) == MIN_SIZE
    assert np.bincount(rows.account).min() >= 1
    assert set(rows.type.tolist()) == set(range(len(CONVERSATION_TYPES)))
    assert set(rows.status.tolist()) == set(range(len(STATUSES)))


def test_every_account_has_completed_conversations(default: Dataset) -> None:
    rows = default.conversations
    done = np.bincount(rows.account[rows.status == COMPLETED], minlength=len(default.accounts))
    assert done.min() > 100, dict(
        zip((a.name for a in default.accounts), done.tolist(), strict=True)
    )


def test_a_generated_dataset_saves_loads_and_saves_the_same(tmp_path: Path) -> None:
    data = generate(seed=11, now=NOW, size=5000)
    written = files(data, tmp_path / "a")
    loaded = load_dataset(tmp_path / "a")  # also checks every record against the rules
    assert loaded.records() == data.records()
    assert files(loaded, tmp_path / "b") == written


def test_conversations_lie_before_now_and_only_running_ones_are_in_progress(
    default: Dataset,
) -> None:
    rows = default.conversations
    assert len(rows) == DEFAULT_SIZE
    assert rows.start.min() >= NOW - 400 * DAY
    assert rows.start.max() < NOW
    assert np.all(rows.start[1:] >= rows.start[:-1])
    end = rows.start + rows.duration * US
    running = rows.status == STATUSES.index("in_progress")
    assert running.any()
    assert np.all(end[~running] <= NOW)
    assert np.all(NOW - end[running] < US)  # in progress for as long as it has run so far
    assert len(np.unique(rows.ids)) == len(rows)


def test_the_last_30_days_have_completed_calls_of_the_demo_every_day(default: Dataset) -> None:
    scope = default.scope(DEMO_ACCOUNT_ID)
    days = (NOW - scope.start) // DAY
    assert set(days[days < 30].tolist()) == set(range(30))


def local(data: Dataset, account_id: str, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """Local hour and weekday (Monday 0) of the conversations of ``account_id``."""
    index = next(i for i, a in enumerate(data.accounts) if a.id == account_id)
    rows = data.conversations
    seconds = rows.start[rows.account == index] // US
    wall = seconds + get_timeline(zone).offsets_at(seconds)
    return wall % 86_400 // 3600, (wall // 86_400 + 3) % 7


def test_volume_follows_business_hours_and_weekdays_in_the_home_zone(default: Dataset) -> None:
    hour, weekday = local(default, DEMO_ACCOUNT_ID, "Europe/Vienna")
    by_hour = np.bincount(hour[weekday < 5], minlength=24)
    assert by_hour[10:16].min() > 3 * by_hour[0:5].max()
    per_day = np.bincount(weekday, minlength=7)
    assert per_day[:5].min() > per_day[5:].max()
    assert per_day[:5].mean() > 1.5 * per_day[5:].mean()


def test_volume_grows(default: Dataset) -> None:
    days = (NOW - default.conversations.start) // DAY
    assert np.sum(days < 90) > 1.2 * np.sum((days >= 310) & (days < 400))


def test_a_few_outage_days_have_almost_no_completed_calls(default: Dataset) -> None:
    rows = default.conversations
    day = rows.start // DAY
    total = np.bincount(day - day.min())
    done = np.bincount(day[rows.status == COMPLETED] - day.min(), minlength=len(total))
    share = done[1:-1] / total[1:-1]  # whole UTC days only
    assert 2 <= np.sum(share < 0.1) <= 4
    assert np.sum(share > 0.7) == len(share) - np.sum(share < 0.1)


def test_a_few_agents_take_most_calls(default: Dataset) -> None:
    rows = default.conversations
    demo = rows.agent[(rows.account == 0) & (rows.agent != NO_AGENT)]
    shares = np.sort(np.bincount(demo)[np.bincount(demo) > 0])[::-1] / len(demo)
    assert len(shares) == 6
    assert shares[0] > 2 / 6
    assert shares[:2].sum() > 0.5
    assert np.any(rows.agent == NO_AGENT)


def test_durations_depend_on_the_type(default: Dataset) -> None:
    rows = default.conversations
    done = rows.status == COMPLETED
    median = {
        name: np.median(rows.duration[done & (rows.type == code)])
        for code, name in enumerate(CONVERSATION_TYPES)
    }
    assert 60 < median["phone"] < 600
    assert median["phone"] > median["web"] > median["test"]
    assert median["test"] < 60


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size": MIN_SIZE - 1}, "size must be at least"),
        ({"days": 0}, "days must be at least 1"),
        ({"now": f.at("0001-06-01T00:00:00Z")}, "years 1 to 9999"),
    ],
)
def test_arguments_out_of_range_are_refused(changes: dict[str, int], message: str) -> None:
    arguments = {"now": NOW} | changes
    with pytest.raises(ValueError, match=message):
        generate(**arguments)

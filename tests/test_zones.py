"""Zone timelines against ``zoneinfo``: every zone, around every transition, up to year 9999."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from usagekit.mock.core.errors import UnknownZoneError
from usagekit.mock.core.zones import available_zones, get_timeline, get_zone, same_zone

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def second(text: str) -> int:
    return int(np.datetime64(text, "s").astype(np.int64))


def zoneinfo_offset(name: str, instant: int) -> int:
    """The offset ``zoneinfo`` itself gives, read from the same pinned tzdata."""
    offset = (EPOCH + timedelta(seconds=instant)).astimezone(get_zone(name)).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def test_available_zones_are_the_pinned_database_and_case_sensitive():
    zones = available_zones()
    assert {"UTC", "America/New_York", "Pacific/Apia", "Asia/Kathmandu"} <= zones
    assert "america/new_york" not in zones
    assert len(zones) > 400


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "america/new_york", "", "../etc/passwd"])
def test_unknown_zones_raise(name):
    with pytest.raises(UnknownZoneError) as caught:
        get_timeline(name)
    assert caught.value.name == name
    with pytest.raises(UnknownZoneError):
        get_zone(name)


def test_every_zone_matches_zoneinfo_around_every_transition_and_at_random_instants():
    """±1 s around each transition 1800-2100, midway between transitions (where a
    missed pair of transitions would show), the footer rule's transitions in far
    years, and random instants anywhere in the years 1 to 9999."""
    mismatches = []
    for name in sorted(available_zones()):
        timeline = get_timeline(name)
        instants, offsets = timeline.transitions(second("1800-01-01"), second("2100-01-01"))
        far = [
            timeline.transitions(second(f"{y}-01-01"), second(f"{y + 1}-01-01"))
            for y in (2401, 9998)
        ]
        points = np.unique(
            np.concatenate(
                [instants - 1, instants, (instants[1:] + instants[:-1]) // 2]
                + [np.concatenate([t - 1, t]) for t, _ in far]
            )
        )
        # offsets_at is meant for the span of one query; the far years are asked apart.
        for chunk in np.split(
            points, np.searchsorted(points, [second("2100-01-01"), second("9000-01-01")])
        ):
            expected = [zoneinfo_offset(name, t) for t in chunk.tolist()]
            if timeline.offsets_at(chunk).tolist() != expected:
                mismatches.append((name, "offsets_at"))
        rng = random.Random(name)
        anywhere = [rng.randint(second("0001-01-02"), second("9999-12-30")) for _ in range(40)]
        mismatches.extend(
            (name, t) for t in anywhere if timeline.offset_at(t) != zoneinfo_offset(name, t)
        )
        # A transition is a change of offset, to the offset zoneinfo reports there.
        if any(
            timeline.offset_at(t - 1) == o
            for t, o in zip(instants.tolist(), offsets.tolist(), strict=True)
        ):
            mismatches.append((name, "not a change"))
    assert mismatches == []


def test_transitions_are_ascending_and_half_open():
    timeline = get_timeline("America/New_York")
    spring = second("2024-03-10T07:00:00")  # 02:00 EST becomes 03:00 EDT
    fall = second("2024-11-03T06:00:00")  # 02:00 EDT becomes 01:00 EST
    instants, offsets = timeline.transitions(second("2024-01-01"), second("2025-01-01"))
    assert instants.tolist() == [spring, fall]
    assert offsets.tolist() == [-4 * 3600, -5 * 3600]
    # (lo, hi]: a transition at lo is left out, one at hi is kept.
    assert timeline.transitions(spring, fall)[0].tolist() == [fall]
    assert timeline.transitions(spring - 1, fall - 1)[0].tolist() == [spring]


def test_footer_rule_transitions_repeat_in_400_year_cycles():
    # The Gregorian calendar repeats every 400 years (146,097 days, whole weeks),
    # so the US rule puts the 9624 transitions exactly 19 cycles after the 2024 ones.
    timeline = get_timeline("America/New_York")
    cycle = 146_097 * 86_400
    now, later = (
        timeline.transitions(second(f"{y}-01-01"), second(f"{y + 1}-01-01"))[0]
        for y in (2024, 9624)
    )
    assert (later - now).tolist() == [19 * cycle, 19 * cycle]


def test_offset_at_before_the_first_transition_is_local_mean_time():
    # Vienna kept local mean time, +1:05:21, until 1893-04-01.
    timeline = get_timeline("Europe/Vienna")
    assert timeline.offset_at(second("1850-06-01")) == 3600 + 5 * 60 + 21
    assert timeline.offset_at(second("1894-06-01")) == 3600


def test_zones_without_transitions_have_a_fixed_offset():
    timeline = get_timeline("Etc/GMT-14")  # POSIX sign: GMT-14 is fourteen hours east
    points = np.array([second("0001-01-02"), second("2024-06-01"), second("9999-12-30")])
    assert timeline.offsets_at(points).tolist() == [14 * 3600] * 3
    assert timeline.transitions(points[0], points[-1])[0].size == 0


@pytest.mark.parametrize(
    ("name", "other", "same"),
    [
        ("US/Eastern", "America/New_York", True),  # a backward link
        ("UTC", "Etc/UTC", True),
        ("Asia/Calcutta", "Asia/Kolkata", True),
        ("Europe/Vienna", "Europe/Berlin", False),  # the same offsets today, not the same zone
        ("Etc/GMT+5", "EST", False),
        ("Mars/Olympus_Mons", "Mars/Olympus_Mons", True),  # unknown, but the same text
        ("Mars/Olympus_Mons", "UTC", False),
    ],
)
def test_same_zone_is_a_name_and_its_links(name: str, other: str, same: bool) -> None:
    assert same_zone(name, other) is same
    assert same_zone(other, name) is same


def test_same_zone_joins_only_names_with_one_timeline() -> None:
    probes = [
        second(f"{year}-{month:02d}-15T12:00:00") for year in (1975, 2025, 2040) for month in (1, 7)
    ]
    groups: list[list[str]] = []
    for name in sorted(available_zones()):
        group = next((g for g in groups if same_zone(g[0], name)), None)
        if group is None:
            groups.append([name])
        else:
            group.append(name)
    assert 0 < len(groups) < len(available_zones())  # the database has links
    for group in groups:
        offsets = {tuple(get_timeline(name).offset_at(p) for p in probes) for name in group}
        assert len(offsets) == 1, group

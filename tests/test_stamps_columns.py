"""Stamps read as columns (``read_stamps``, ``stamp_columns``) are exactly what reading each
text gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from usagekit.conformance import stamps
from usagekit.conformance.stamps import read_stamps, stamp_columns

#: Characters a mutation may put anywhere: the layout's own, and some it must refuse.
_ODD = "0123456789-:+TtZz .é９"


@st.composite
def _labels(draw: st.DrawFn) -> list[str]:
    """30+ labels of one length (as one answer writes them), some mutated, some invalid."""
    offset = draw(st.one_of(st.none(), st.integers(-23 * 60 - 59, 23 * 60 + 59)))
    first = draw(st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30)))
    step = timedelta(minutes=draw(st.sampled_from([60, 1440, 61, 45 * 24 * 60])))
    texts = []
    for i in range(draw(st.integers(30, 60))):
        try:
            when = first + step * i
        except OverflowError:  # past 9999-12-31, which datetime cannot hold
            break
        text = when.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0")
        if offset is None:
            text += "Z"
        else:
            sign = "-" if offset < 0 else "+"
            text += f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
        texts.append(text)
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(texts) - 1))
        at = draw(st.integers(0, len(texts[i]) - 1))
        texts[i] = texts[i][:at] + draw(st.sampled_from(_ODD)) + texts[i][at + 1 :]
    return texts


@settings(max_examples=400, deadline=None)
@given(_labels())
def test_columns_read_what_each_text_reads(texts: list[str]) -> None:
    stamps._READ.clear()
    got = read_stamps(texts)
    assert got == [stamps._read(text) for text in texts]
    assert got == [stamps.read_stamp(text) for text in texts]  # and the cache agrees


@pytest.mark.parametrize(
    "odd",
    [
        "2024-02-30T00:00:00Z",  # no such day
        "2023-02-29T00:00:00Z",  # not a leap year
        "2024-01-01 00:00:00Z",  # a space: fromisoformat's to judge
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:60Z",
        "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00+05:60",
        "0000-01-01T00:00:00Z",
        "2024-13-01T00:00:00Z",
    ],
)
def test_an_odd_label_among_common_ones_is_read_as_each_text_is(odd: str) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    common = [f"{start + timedelta(hours=i):%Y-%m-%dT%H:%M:%S}Z" for i in range(40)]
    if len(odd) == 25:
        common = [text[:-1] + "+05:30" for text in common]
    texts = [*common[:20], odd, *common[20:]]
    stamps._READ.clear()
    assert read_stamps(texts) == [stamps._read(text) for text in texts]


def test_leap_days_and_the_first_years_are_read_exactly_as_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = [f"{year:04d}-02-29T12:34:56-03:30" for year in (4, 400, 1600, 2000, 2024, 9996)]
    texts += [f"{year:04d}-03-01T00:00:00+14:00" for year in range(1, 31)]
    one_by_one = stamps._read
    stamps._READ.clear()
    with monkeypatch.context() as patched:  # the columns alone read them
        patched.setattr(stamps, "_read", lambda text: pytest.fail(f"{text} read one by one"))
        got = read_stamps(texts)
    assert None not in got
    assert got == [one_by_one(text) for text in texts]


@settings(max_examples=200, deadline=None)
@given(st.lists(_labels(), min_size=1, max_size=6), st.sampled_from([8, 64, 1 << 16]))
def test_kept_places_read_what_each_text_reads(answers: list[list[str]], kept: int) -> None:
    """stamp_columns, answer after answer (labels kept, some of them let go when the arrays
    are full), gives each answer's stamps as read_stamps does, or None where it holds one
    that is no stamp."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(stamps, "_READ_KEPT", kept)
        patched.setattr(stamps, "_PLACES", {})
        patched.setattr(stamps, "_INSTANTS", np.zeros(kept, np.int64))
        patched.setattr(stamps, "_OFFSETS", np.zeros(kept, np.int64))
        for texts in [*answers, *reversed(answers)]:
            expected = read_stamps(texts)
            got = stamp_columns(texts)
            if None in expected:
                assert got is None
            else:
                assert got is not None
                assert list(got) == expected

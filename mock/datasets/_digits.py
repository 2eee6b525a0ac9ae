"""Clocks and integers read digit by digit from rows of bytes, whole columns at a time.

For :mod:`._canonical`: each function takes a block's bytes and the offsets
of one value per line, and returns the column, or ``None`` if any value is
not what the line check would accept (then the reader takes a slower way).
"""

from __future__ import annotations

import numpy as np

from usagekit.mock.core.instants import US

__all__ = ["clocks", "column", "durations", "window"]

_ZERO = ord("0")
# A clock: YYYY-MM-DDTHH:MM:SS, then Z or a fraction of 1 to 6 digits and Z.
_CLOCK = np.frombuffer(b"0000-00-00T00:00:00", np.uint8)
_LONGEST_CLOCK = len(_CLOCK) + 8  # ".ffffffZ"
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_MAX_DIGITS = 10


def column(data: np.ndarray, width: int) -> np.ndarray:
    """Every ``width`` bytes of ``data`` as one bytes value per offset: overlapping, not copied.

    Indexing it copies one whole value per row, many times faster than
    indexing the bytes one by one.
    """
    return np.ndarray((len(data) - width + 1,), f"S{width}", data, strides=(1,))


def window(data: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes from each offset of ``at``, one row each."""
    return column(data, width)[at].view(np.uint8).reshape(len(at), width)


_EPOCH_DAYS = 719_468  # days from 0000-03-01 to 1970-01-01 (proleptic Gregorian)
# Each byte of a clock minus _CLOCK: at most 9 for a digit, 0 for a "-", "T" or ":".
_LIMIT = np.where(_CLOCK == _ZERO, 9, 0).astype(np.uint8)
_TENS, _ONES = [0, 2, 5, 8, 11, 14, 17], [1, 3, 6, 9, 12, 15, 18]
_FRACTION = 10 ** np.arange(5, -1, -1)


def clocks(data: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """µs of ``YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z`` values, or ``None`` if one is not a real time."""
    length = hi - lo
    raw = window(data, lo, _LONGEST_CLOCK)
    digits = raw[:, : len(_CLOCK)] - _CLOCK  # a byte below "0" wraps past 9
    if not np.all(digits <= _LIMIT):
        return None
    if np.all(length == len(_CLOCK) + 1):
        if not np.all(raw[:, len(_CLOCK)] == ord("Z")):
            return None
        micros = 0
    else:
        micros = _fractions(raw, length)
        if micros is None:
            return None
    pairs = digits[:, _TENS].astype(np.int64) * 10 + digits[:, _ONES]
    century, years, month, day, hour, minute, second = pairs.T
    year = century * 100 + years
    if year.min() < 1 or month.min() < 1 or month.max() > 12 or day.min() < 1:
        return None
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    if np.any(day > _DAYS[month - 1] + (leap & (month == 2))):
        return None
    if hour.max() > 23 or minute.max() > 59 or second.max() > 59:
        return None
    # Days since the epoch of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    y = year - (month <= 2)
    era, within = y // 400, y % 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146_097 + within * 365 + within // 4 - within // 100 + day_of_year - _EPOCH_DAYS
    return (days * 86_400 + hour * 3600 + minute * 60 + second) * US + micros


def _fractions(raw: np.ndarray, length: np.ndarray) -> np.ndarray | None:
    """The µs of clocks that may have a fraction: ``.`` and 1 to 6 digits before the ``Z``."""
    if not np.all((length == len(_CLOCK) + 1) | ((length > 21) & (length <= _LONGEST_CLOCK))):
        return None
    if not np.all(raw[np.arange(len(raw)), length - 1] == ord("Z")):
        return None
    fraction = length > len(_CLOCK) + 1
    if not np.all(~fraction | (raw[:, len(_CLOCK)] == ord("."))):
        return None
    tail = raw[:, len(_CLOCK) + 1 : len(_CLOCK) + 7] - np.uint8(_ZERO)
    written = np.arange(6) < (length - len(_CLOCK) - 2)[:, None]
    if np.any(written & (tail > 9)):
        return None
    return np.where(written, tail, 0) @ _FRACTION


_POWERS = 10 ** np.arange(_MAX_DIGITS - 1, -1, -1, dtype=np.int64)


def durations(data: np.ndarray, lo: np.ndarray, stops: np.ndarray) -> np.ndarray | None:
    """The integers ``[lo, stop - 1)`` before each line's closing ``}``, in JSON's syntax."""
    if not np.all(data[stops - 1] == ord("}")):
        return None
    length = stops - 1 - lo
    if length.min() < 1 or length.max() > _MAX_DIGITS:
        return None
    # Right-aligned: the last digit in the last column.
    digits = window(data, stops - 1 - _MAX_DIGITS, _MAX_DIGITS) - np.uint8(_ZERO)
    written = np.arange(_MAX_DIGITS) >= (_MAX_DIGITS - length)[:, None]
    if np.any(written & (digits > 9)):
        return None
    if np.any((digits[np.arange(len(lo)), _MAX_DIGITS - length] == 0) & (length > 1)):
        return None  # JSON has no leading zeros
    return np.where(written, digits, 0) @ _POWERS

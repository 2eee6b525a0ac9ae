"""Field-by-field differences between an expected body and an actual one.

Timestamps are compared as what they mean -- the same instant written with
an acceptable offset -- not as text: ``Z`` and ``+00:00``, or a trailing
``.000000``, are the same answer. ``meta.tz`` is compared as the zone it names:
``US/Eastern`` and ``America/New_York`` are the same answer.
"""

from __future__ import annotations

from typing import Any

from usagekit.conformance.stamps import read_stamp, written_offset
from usagekit.mock.core.zones import same_zone

__all__ = ["describe_differences"]

_TIMESTAMPS = {"ts", "start", "end"}


def describe_differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Every place where ``actual`` differs from ``expected``, as ``path: expected X, got Y``."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found: list[str] = []
        for key in expected:
            path = f"{where}.{key}" if where else key
            if key not in actual:
                found.append(f"{path}: missing (expected {_short(expected[key])})")
            elif key in _TIMESTAMPS and isinstance(expected[key], str):
                if not _same_timestamp(expected[key], actual[key]):
                    found.append(f"{path}: expected {expected[key]}, got {_short(actual[key])}")
            elif path == "meta.tz" and isinstance(expected[key], str):
                if not (isinstance(actual[key], str) and same_zone(expected[key], actual[key])):
                    found.append(f"{path}: expected {expected[key]!r}, got {_short(actual[key])}")
            else:
                found.extend(describe_differences(expected[key], actual[key], path))
        found.extend(
            f"{where}.{key}: unexpected {_short(actual[key])}" if where else f"{key}: unexpected"
            for key in actual
            if key not in expected and where.endswith("dimensions")
        )
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        found = []
        for index, (want, have) in enumerate(zip(expected, actual, strict=False)):
            found.extend(describe_differences(want, have, f"{where}[{index}]"))
        if len(expected) != len(actual):
            found.append(f"{where}: {len(actual)} items, expected {len(expected)}")
        return found
    if expected != actual or type(expected) is not type(actual):
        return [f"{where}: expected {_short(expected)}, got {_short(actual)}"]
    return []


def _same_timestamp(expected: str, actual: Any) -> bool:
    want, have = read_stamp(expected), read_stamp(actual)
    if want is None or have is None:
        return expected == actual
    return want.instant == have.instant and have.offset in written_offset(want.offset)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

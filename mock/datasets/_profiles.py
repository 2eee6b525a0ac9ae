"""The shape of the synthetic voice-agent business, as tables the generator samples.

Rough figures from how phone and web voice agents are used: a business's
agents take calls in its opening hours, in its own zone; weekends are quiet;
phone calls last minutes, web sessions less, test calls seconds; most calls
complete, a few fail or are transferred to a human. The numbers are chosen to
make charts look plausible, not measured from anyone's traffic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from usagekit.mock.core.dataset import CONVERSATION_TYPES, DIRECTIONS, STATUSES

__all__ = [
    "DIRECTION_BY_TYPE",
    "DURATION",
    "HOMES",
    "NO_AGENT_BY_TYPE",
    "RHYTHMS",
    "ROLES",
    "STATUS_BY_TYPE",
    "STATUS_IN_OUTAGE",
    "TYPE_MIX",
    "Home",
    "Rhythm",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Home:
    """Where a top-level account does business: its IANA zone and a Faker locale."""

    zone: str
    locale: str


HOMES: tuple[Home, ...] = (
    Home(zone="Europe/Vienna", locale="de_AT"),
    Home(zone="America/New_York", locale="en_US"),
    Home(zone="Asia/Kolkata", locale="en_IN"),
    Home(zone="Australia/Sydney", locale="en_AU"),
    Home(zone="America/Sao_Paulo", locale="pt_BR"),
    Home(zone="Europe/London", locale="en_GB"),
    Home(zone="Asia/Tokyo", locale="ja_JP"),
    Home(zone="America/Los_Angeles", locale="en_US"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rhythm:
    """Relative call volume by local hour (0..23) and by weekday (Monday first)."""

    name: str
    hours: tuple[float, ...]
    week: tuple[float, ...]


# fmt: off
RHYTHMS: tuple[Rhythm, ...] = (
    # An office: 9 to 5 with a lunch dip, weekends nearly silent.
    Rhythm(name="office", week=(1.0, 1.05, 1.0, 0.98, 0.9, 0.22, 0.12), hours=(
        0.02, 0.01, 0.01, 0.01, 0.02, 0.04, 0.10, 0.35, 0.80, 1.00, 1.00, 0.95,
        0.70, 0.85, 0.95, 0.90, 0.75, 0.45, 0.22, 0.12, 0.08, 0.06, 0.04, 0.03)),
    # Retail and bookings: late opening, busy evenings, Saturday mornings.
    Rhythm(name="retail", week=(0.9, 0.9, 0.95, 1.0, 1.1, 0.6, 0.3), hours=(
        0.03, 0.02, 0.01, 0.01, 0.01, 0.02, 0.05, 0.12, 0.30, 0.60, 0.85, 0.95,
        1.00, 0.95, 0.90, 0.90, 0.95, 1.00, 0.90, 0.70, 0.45, 0.25, 0.10, 0.05)),
    # Customer care around the clock: flatter, still lowest at night.
    Rhythm(name="care", week=(1.0, 1.0, 0.98, 0.97, 0.95, 0.7, 0.6), hours=(
        0.25, 0.18, 0.14, 0.12, 0.13, 0.18, 0.30, 0.55, 0.80, 0.95, 1.00, 1.00,
        0.95, 0.95, 0.95, 0.90, 0.85, 0.80, 0.75, 0.70, 0.60, 0.50, 0.40, 0.32)),
)
# fmt: on

ROLES: tuple[str, ...] = (
    "Reception",
    "Support",
    "Sales",
    "Bookings",
    "Billing",
    "After-hours",
    "Follow-up",
    "Surveys",
    "Onboarding",
    "Dispatch",
)


def _table(rows: dict[str, dict[str, float]], columns: tuple[str, ...]) -> np.ndarray:
    """Probabilities by conversation type (rows in CONVERSATION_TYPES order)."""
    table = np.array([[rows[t].get(c, 0.0) for c in columns] for t in CONVERSATION_TYPES])
    return table / table.sum(axis=1, keepdims=True)


#: The share of each type in an account's traffic, before per-account variation.
TYPE_MIX = np.array([0.62, 0.27, 0.07, 0.04])

DIRECTION_BY_TYPE = _table(
    {
        "phone": {"inbound": 0.74, "outbound": 0.26},
        "web": {"inbound": 0.97, "internal": 0.03},
        "test": {"internal": 1.0},
        "unknown": {"inbound": 0.5, "outbound": 0.3, "internal": 0.2},
    },
    DIRECTIONS,
)

# in_progress is not drawn: a conversation is in progress when it has not
# ended by the dataset's `now`.
STATUS_BY_TYPE = _table(
    {
        "phone": {"completed": 0.86, "failed": 0.04, "transferred": 0.10},
        "web": {"completed": 0.93, "failed": 0.06, "transferred": 0.01},
        "test": {"completed": 0.90, "failed": 0.10},
        "unknown": {"completed": 0.70, "failed": 0.25, "transferred": 0.05},
    },
    STATUSES,
)
#: On an outage day almost nothing completes.
STATUS_IN_OUTAGE = _table(
    {t: {"completed": 0.03, "failed": 0.92, "transferred": 0.05} for t in CONVERSATION_TYPES},
    STATUSES,
)

NO_AGENT_BY_TYPE = np.array([0.03, 0.02, 0.08, 0.35])

#: Lognormal durations as (median seconds, sigma): one row per type for
#: conversations that run their course, then failed, then transferred.
DURATION = np.array(
    [
        (150.0, 0.80),  # phone
        (75.0, 0.85),  # web
        (18.0, 0.70),  # test
        (45.0, 1.00),  # unknown
        (5.0, 1.10),  # failed: seconds, often zero
        (95.0, 0.60),  # transferred: to a human after the agent's first minutes
    ]
)

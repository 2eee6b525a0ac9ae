"""The aggregate bench's workload: one account's conversations, generated, and the queries.

One account, 8 agents and unassigned conversations, starts spread over 400
days, 90% completed; ``hour`` over 20 days and ``day`` over 30 days in
America/New_York, both holding the 2024-11-03 fall-back. An answer, whoever
computed it, is compared as :data:`Cells`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from usagekit.mock.core.dataset import COMPLETED
from usagekit.mock.core.instants import US, parse_datetime
from usagekit.mock.core.zones import get_timeline

ACCOUNT = "acct-bench"
AGENTS = tuple(f"agent-{i:02d}" for i in range(8))
TZ = "America/New_York"
FIRST_DAY = "2024-01-01T00:00:00Z"
DAYS = 400
QUERIES = {
    "hour": ("2024-10-24T00:00:00", "2024-11-13T00:00:00"),  # 481 buckets: under the limit
    "day": ("2024-10-20T00:00:00", "2024-11-19T00:00:00"),  # 30 buckets
}
#: ``{(bucket start instant, agent): (seconds, conversations)}``.
Cells = dict[tuple[int, str], tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Data:
    start: np.ndarray  # µs, sorted
    duration: np.ndarray
    agent: np.ndarray  # NO_AGENT or an index of AGENTS
    status: np.ndarray


def generate(size: int, seed: int = 20241103) -> Data:
    rng = np.random.default_rng(seed)
    first = parse_datetime(FIRST_DAY).instant(get_timeline("UTC"))
    start = np.sort(rng.integers(first, first + DAYS * 86_400 * US, size, dtype=np.int64))
    # Some agents are busier than others; one conversation in ten has no agent.
    weights = np.array([0.1] + [0.9 * w for w in np.linspace(2, 1, len(AGENTS)) / 12])
    agent = rng.choice(np.arange(-1, len(AGENTS)), size, p=weights / weights.sum())
    status = np.where(rng.random(size) < 0.9, COMPLETED, COMPLETED + 1)
    return Data(
        start=start,
        duration=rng.integers(5, 1800, size, dtype=np.int64),
        agent=agent.astype(np.int32),
        status=status.astype(np.int8),
    )

"""What bench/server.py prints once its cells are measured: the per-stage split, the table
of every cell, and issue 13's ratios with their verdicts."""

from __future__ import annotations

from dataclasses import dataclass

import baseline
import stages
from load import Load


@dataclass(frozen=True, slots=True)
class Cell:
    server: str
    mix: str
    concurrency: int
    load: Load
    #: CPU time the server's processes spent per answer (ms), when measured: on a
    #: shared machine a steadier figure than the rate, which follows the neighbours.
    cpu_ms: float | None = None
    #: Connections each worker held in the middle of the cell ("16/16"), when measured.
    split: str = ""


def print_split(split: stages.Split) -> None:
    kb = split.body_kb
    print(f"\nper-stage split of a never-seen query, in process (CPU ms; bodies {kb:.1f} kB):")
    print("| resolve | aggregate | encode | HTTP stack | whole app | app p50 | app p99 | app max |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {split.resolve_ms:.3f} | {split.aggregate_ms:.3f} | {split.encode_ms:.3f} | "
          f"{split.stack_ms:.3f} | {split.app_ms:.3f} | {split.app_p50_ms:.3f} | "
          f"{split.app_p99_ms:.3f} | {split.app_max_ms:.3f} |\n", flush=True)  # fmt: skip


def report(
    cells: list[Cell], notes: list[str], memory: dict[int, tuple[float, float, float]]
) -> None:
    """The table of every cell, the notes, and the issue's ratios.

    ``memory``: PSS (MiB) per number of workers, after start, after the warm-up, at rest."""
    print(
        "\n| server | mix | c | req/s | p50 ms | p99 ms | non-2xx/errors | server CPU ms/answer |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for c in cells:
        cpu = "" if c.cpu_ms is None else f"{c.cpu_ms:.3f}"
        print(f"| {c.server} | {c.mix} | {c.concurrency} | {c.load.rps:,.0f} | "
              f"{c.load.p50_ms:.2f} | {c.load.p99_ms:.2f} | {c.load.errors} | {cpu} |")  # fmt: skip
    cell = {(c.server, c.mix, c.concurrency): c.load for c in cells}
    unique = cell.get(("usagekit mock, 2 workers", "unique", 32))
    cached = cell.get(("usagekit mock, 2 workers", "cached", 32))
    print()
    for note in notes:
        print(note)
    if unique is None:
        return
    lines = [f"unique / cached (2 workers, c=32): {unique.rps / cached.rps:.2f}"] if cached else []
    for name, target in (("Prism 5 (default)", 1.5), ("Prism 5 (-v silent)", 0.6)):
        prism = cell.get((name, "unique", 32))
        if prism is not None:
            ratio = unique.rps / prism.rps
            verdict = "meets" if ratio >= target else "MISSES"
            lines.append(f"unique / {name}: {ratio:.2f} ({verdict} >= {target})")
    lines += against_found(cells)
    verdict = "meets" if unique.p99_ms <= 20 else "MISSES"
    lines.append(f"unique p99 at c=32: {unique.p99_ms:.2f} ms ({verdict} <= 20 ms)")
    lines += p99_against_found(cells)
    if 1 in memory and 2 in memory:
        start, busy, rest = (memory[2][i] / memory[1][i] for i in (0, 1, 2))
        verdict = "meets" if max(start, busy, rest) <= 1.3 else "MISSES"
        lines.append(f"PSS 2 workers / 1 worker: {start:.2f} after start, {busy:.2f} right after "
                     f"the warm-up, {rest:.2f} at rest after it ({verdict} <= 1.3)")  # fmt: skip
    print("\n".join(lines))


#: What issue 13's table says the mock served when the issue was filed (2 workers, c=32,
#: req/s, on the filer's machine): context for the ratios of one run, not a verdict.
FILED = {"cached": 23_669, "unique": 1_581}
#: ... and its p99 of the never-seen mix (ms), against which the target of 20 ms was set.
FILED_P99 = 41.0


def p99_against_found(cells: list[Cell]) -> list[str]:
    """The 20 ms target is a latency on the filer's machine; this host's speed moves p99
    with it (the same code's CPU per answer has differed 2.3x between days here). The
    mock as the issue found it, measured alternating with this one, tells this host's
    speed in the same run: its p99 against the issue's 41 ms, and this code's p99 scaled
    by it -- the figure to hold to 20 ms when the host is slower or faster than the filer's."""
    now = next((c for c in cells if (c.server, c.mix) == (baseline.NOW, "unique")), None)
    then = next((c for c in cells if (c.server, c.mix) == (baseline.LABEL, "unique")), None)
    if now is None or then is None:
        return []
    pace = FILED_P99 / then.load.p99_ms  # < 1: this host is slower than the filer's
    scaled = now.load.p99_ms * pace
    verdict = "meets" if scaled <= 20 else "MISSES"
    return [
        f"unique p99 at c=32, alternating: {now.load.p99_ms:.2f} ms here, {baseline.LABEL} "
        f"{then.load.p99_ms:.2f} ms (the issue measured {FILED_P99:g} ms on its machine): "
        f"scaled to the issue's machine {scaled:.2f} ms ({verdict} <= 20 ms)"
    ]


def against_found(cells: list[Cell]) -> list[str]:
    """Now over the mock as issue 13 found it, their cells alternating in this run: req/s,
    and CPU per answer (which the neighbours' load distorts less), against the issue's
    "not lower" and "2x"."""
    lines = []
    for mix, target in (("cached", 1.0), ("unique", 2.0)):
        alone = next((c for c in cells if (c.server, c.mix, c.concurrency) == (
            "usagekit mock, 2 workers", mix, 32)), None)  # fmt: skip
        if alone is not None:
            rps, filed = alone.load.rps, FILED[mix]
            lines.append(f"{mix} (2 workers, c=32): {rps:,.0f} req/s here; the issue measured "
                         f"{filed:,} on its machine ({rps / filed:.2f}x)")  # fmt: skip
        now = next((c for c in cells if (c.server, c.mix) == (baseline.NOW, mix)), None)
        then = next((c for c in cells if (c.server, c.mix) == (baseline.LABEL, mix)), None)
        if now is None or then is None:
            continue
        ratio = now.load.rps / then.load.rps
        cpu = (
            f"; CPU per answer {then.cpu_ms / now.cpu_ms:.2f}x less"
            if now.cpu_ms and then.cpu_ms
            else ""
        )
        verdict = "meets" if ratio >= target else "MISSES"
        lines.append(f"{mix} / {baseline.LABEL}: {ratio:.2f} ({verdict} >= {target:g}){cpu}")
    return lines

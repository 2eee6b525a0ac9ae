"""``usagekit check --replay``: judge the exchanges of a HAR file offline.

The HAR may come from ``usagekit proxy --record`` or from a browser's developer
tools; every entry that is a request to the endpoint is judged by the same
single-exchange rules as the proxy's live traffic (:class:`Traffic`), and the
rest (the page's scripts, other APIs) is counted and left alone.

What an entry holds is judged as ``check`` would judge the same answer: a
redirect the server sent (a 3xx) is its answer, as the kit's client follows none
(the request it led to, if the HAR has it, is an entry of its own); an entry
whose URL is a path alone is judged at the URL its ``:authority``/``Host`` and
``:scheme`` name. What is not the server's whole answer is not judged, and
counted with why (:mod:`.harentry`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from usagekit.mock.core.dataset import Dataset

from .config import KitConfig
from .events import Handler, RunFinished, RunStarted, StageFinished, StageStarted
from .harfile import HarFile
from .outcomes import Summary
from .traffic import Traffic

__all__ = ["REPLAY", "replay"]

REPLAY = "replay"
#: A file that ends inside an entry (a recorder killed mid-write): the entries before it count.
CUT = "the file ends inside an entry (cut off): that entry is lost, the ones before it are read"


def replay(
    config: KitConfig,
    path: Path,
    dataset: Dataset | None = None,
    handlers: Sequence[Handler] = (),
) -> tuple[Summary, Traffic]:
    """Judge every exchange of the endpoint in the HAR at ``path``, read an entry at a time."""
    har = HarFile(path)
    traffic = Traffic(config, dataset)
    for handler in handlers:
        handler.start(
            RunStarted(
                base_url=config.base_url,
                profile=config.profile.value,
                rules=len(traffic.rules),
                skipped=(),
            )
        )
    try:
        began = time.perf_counter()
        _emit(handlers, StageStarted(name=REPLAY))
        entries = endpoint = 0
        for entry in har:
            entries += 1
            # The path as the server routes it (and the proxy judges it): decoded.
            if traffic.covers(entry.method, unquote(urlsplit(entry.url).path)):
                endpoint += 1
                traffic.judge(entry)
        if har.cut is not None:
            traffic.not_judged(CUT, f"entry {har.cut} of {path}")
        _emit(
            handlers,
            StageFinished(
                name=REPLAY,
                elapsed=time.perf_counter() - began,
                detail=f"{endpoint} of {entries} entries are requests to the endpoint",
            ),
        )
        summary = traffic.summary()
        _emit(handlers, RunFinished(summary=summary))
        return summary, traffic
    finally:
        for handler in handlers:
            handler.shutdown()


def _emit(handlers: Sequence[Handler], event: StageStarted | StageFinished | RunFinished) -> None:
    for handler in handlers:
        handler.handle(event)

"""What ``/demo`` needs from the server: its keys, the zone list, the contract's choices.

``GET /demo/config.json`` answers :func:`dashboard_config`: the demo keys
(published demo credentials, as on the landing page), the dataset's time
range, every IANA zone of the pinned tzdata with the ones that observe
daylight saving time first (their buckets are the ones that surprise), and
the granularities, dimensions and ``limit`` bound read from the contract, so
the page offers exactly what the spec allows.

The page itself (``templates/demo.html`` with ``static/dashboard.js``) needs
no build step and loads nothing from outside the mock; its chart library is
vendored under ``static/vendor/`` (see ``static/vendor/README.md``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from usagekit.mock.core.instants import US
from usagekit.mock.core.zones import available_zones, get_zone
from usagekit.mock.spec import OPERATION_PATH

from .demo import Workspace

__all__ = ["dashboard_config", "zones_dst_first"]


@functools.cache
def zones_dst_first(year: int) -> tuple[tuple[str, bool], ...]:
    """Every zone and whether it changes its offset in ``year``: DST zones first, by name."""
    probes = [datetime(year, month, 15, tzinfo=UTC) for month in range(1, 13)]
    zones = []
    for name in available_zones():
        zone = get_zone(name)
        offsets = {probe.astimezone(zone).utcoffset() for probe in probes}
        zones.append((name, len(offsets) > 1))
    return tuple(sorted(zones, key=lambda z: (not z[1], z[0])))


def dashboard_config(workspace: Workspace, spec: Mapping[str, Any]) -> dict[str, Any]:
    schemas = spec["components"]["schemas"]
    limit = spec["components"]["parameters"]["Limit"]["schema"]
    year = datetime.fromtimestamp((workspace.last or 0) // US, UTC).year
    return {
        "path": OPERATION_PATH,
        "keys": [
            {"role": k.role, "label": k.label, "key": k.key, "account_id": k.account_id}
            for k in workspace.keys
        ],
        "first": _iso(workspace.first),
        "last": _iso(workspace.last),
        "granularities": schemas["Granularity"]["enum"],
        "default_granularity": schemas["Granularity"].get("default", "day"),
        "dimensions": schemas["Dimension"]["enum"],
        "limit_max": limit.get("maximum", 500),
        "zones": [{"name": n, "dst": dst} for n, dst in zones_dst_first(year)],
    }


def _iso(instant: int | None) -> str | None:
    if instant is None:
        return None
    return datetime.fromtimestamp(instant // US, UTC).isoformat().replace("+00:00", "Z")

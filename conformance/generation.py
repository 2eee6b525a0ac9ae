"""Schemathesis, tuned to the contract: its phases, its generation and its checks.

Plain schemathesis on the literal contract raises false alarms on a correct
server and leaves the contract's own rules untested. The kit hands it a tuned
copy of ``openapi.yaml`` (the contract itself is never changed):

* ``tz`` is an enum of zones chosen for what they break (negative DST, :30
  and :45 offsets, +14 h, a skipped day, 30-minute DST), so positive cases use
  real zones and negative ones unknown names (a negative value that happens to
  be a real zone is dropped);
* ``start``/``end`` match a date-time pattern (1975-2099, days up to 28, with
  or without offset) so that every positive value is valid under any reading
  of the contract; negative cases that touch them are dropped, since how
  leniently a server reads a date-time is its own business -- the kit sends
  malformed ones explicitly instead;
* ``group_by`` has at least one item (``group_by=`` is invalid by the
  contract) and no parameter is nullable; cases holding a literal ``null`` are
  dropped, because the contract leaves its reading to servers;
* positive cases keep ``start < end`` (a start-only case starts a day before
  now) and name no local time that their zone skipped (the contract says how an
  ambiguous local time reads, not a skipped one);
* the coverage phase sends no duplicate single-valued parameters (which of two
  values wins is open); ``account_id`` is the configured account.

Every response schemathesis receives is judged by the kit's response rules
too, through one registered check; schemathesis' own checks report through
its events, which :func:`run_generated` turns into the kit's outcomes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import schemathesis
from schemathesis.checks import CHECKS
from schemathesis.engine import events as st_events
from schemathesis.engine import from_schema
from schemathesis.transport import is_asgi_app

from usagekit.mock.core.instants import US, parse_datetime
from usagekit.mock.core.zones import available_zones, get_timeline, get_zone
from usagekit.mock.spec import load_spec

from .bounded import bounded
from .budget import CUT_SHORT, Budget
from .client import RETRIED
from .config import KitConfig
from .events import Event, StageFinished, StageStarted
from .exchange import Exchange
from .outcomes import Outcomes
from .profiles import Profile
from .recording import BUILT_IN, exchange_of, record_built_in, record_error

__all__ = ["BUILT_IN", "JUDGE_CHECK", "run_generated", "tuned_contract"]

#: The name under which the kit's response rules run inside schemathesis.
JUDGE_CHECK = "usagekit_response_rules"


#: Zones positive cases use: one of each kind of trouble a calendar can give. Zones
#: whose rules changed lately or are only predicted (Casablanca's Ramadan DST,
#: Cairo, Nuuk, Santiago) are left out: a correct server on another tzdata release
#: may disagree with the pinned one there.
ZONES = (
    "UTC", "Etc/GMT+12", "Etc/GMT-14", "Europe/Vienna", "Europe/London", "Europe/Dublin",
    "Europe/Moscow", "Atlantic/Azores", "America/New_York", "America/Los_Angeles",
    "America/St_Johns", "America/Sao_Paulo", "America/Havana", "America/Caracas",
    "Asia/Kolkata", "Asia/Kathmandu", "Asia/Tehran", "Asia/Kabul", "Asia/Yangon",
    "Asia/Tokyo", "Australia/Sydney", "Australia/Adelaide", "Australia/Lord_Howe",
    "Australia/Eucla", "Pacific/Chatham", "Pacific/Apia", "Pacific/Kiritimati",
    "Pacific/Marquesas", "Pacific/Honolulu", "Antarctica/Troll",
)  # fmt: skip

DATETIME = re.compile(
    r"(?:197[5-9]|19[89][0-9]|20[0-9][0-9])-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:0[0-9]|1[0-3]):(?:00|15|30|45))?"
)


def tuned_contract() -> dict[str, Any]:
    """A copy of the contract whose parameter schemas say exactly what to generate."""
    spec = load_spec()
    parameters = spec["components"]["parameters"]
    parameters["Tz"]["schema"] = {"type": "string", "enum": list(ZONES)}
    for name in ("Start", "End"):
        parameters[name]["schema"] = {"type": "string", "pattern": f"^{DATETIME.pattern}$"}
    parameters["GroupBy"]["schema"]["minItems"] = 1
    parameters["Limit"]["schema"].pop("nullable", None)
    return spec


def _unsendable(kit: KitConfig) -> dict[str, str]:
    """Built-in checks schemathesis cannot run against this target, and why."""
    if kit.app is None or is_asgi_app(kit.app):
        return {}
    # schemathesis 4.32 hands its auth probe's socket settings (max_redirects) to
    # werkzeug, which refuses them; missing_key_unauthorized judges the same thing.
    return {"ignored_auth": "schemathesis cannot send its auth probe to a WSGI app"}


def _config(kit: KitConfig) -> schemathesis.Config:
    negative = (
        ["401", "422", "429"]
        if kit.profile is Profile.REFERENCE
        else [
            "400",
            "401",
            "403",
            "404",
            "422",
            "429",
        ]
    )
    enabled = {*BUILT_IN, JUDGE_CHECK}
    checks: dict[str, Any] = {name: {"enabled": name in enabled} for name in CHECKS.get_all_names()}
    checks.update({name: {"enabled": False} for name in _unsendable(kit)})
    # A 503 (documented, with Retry-After) says "try again": schemathesis does not, so its
    # cases do not judge one; the kit's own requests resend it, and one that persists fails
    # the scenarios. (A 429 is waited out and sent again by bounded's hook.)
    checks["negative_data_rejection"] = {"enabled": True, "expected-statuses": [*negative, "503"]}
    checks["positive_data_acceptance"] = {
        "enabled": True,
        "expected-statuses": ["200", "429", "503"],
    }
    checks["not_a_server_error"] = {
        "enabled": True,
        "expected-statuses": ["2xx", "3xx", "4xx", "503"],
    }
    return schemathesis.Config.from_dict(
        {
            "base-url": kit.base_url,
            "headers": {"X-API-Key": kit.api_key},
            "parameters": {"path.account_id": kit.account_id},
            "seed": kit.seed,
            "continue-on-failure": True,
            "request-timeout": kit.timeout,
            # No "rate-limit": "auto" -- schemathesis would wait a 429's Retry-After up to 60 s,
            # three times per case, whatever --retries says: bounded() resends a 429 as the
            # kit's client does (at most MAX_WAIT, --retries times).
            "workers": 1,
            "generation": {
                "mode": "all",
                "max-examples": kit.max_examples,
                "no-shrink": True,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "stateful": {"enabled": False},
                "coverage": {"generate-duplicate-query-parameters": False},
            },
            "checks": checks,
        }
    )


def _keep(now: int) -> Callable[[Any, Any], bool]:
    def keep(context: Any, case: Any) -> bool:
        query = case.query or {}
        sent = [
            v for value in query.values() for v in (value if isinstance(value, list) else [value])
        ]
        if any(v is None or str(v) == "null" for v in sent):
            return False
        start, end = query.get("start"), query.get("end")
        for value in (start, end):
            if value is not None and not (isinstance(value, str) and DATETIME.fullmatch(value)):
                return False
        zone = query.get("tz") or "UTC"
        if case.meta is not None and case.meta.generation.mode.is_negative:
            return not (isinstance(zone, str) and zone in available_zones() and zone not in ZONES)
        if not isinstance(zone, str) or zone not in available_zones():
            return True
        timeline = get_timeline(zone)
        if any(_skipped(value, zone) for value in (start, end) if value is not None):
            return False
        if start is not None and end is not None:
            return parse_datetime(start).instant(timeline) < parse_datetime(end).instant(timeline)
        if start is not None:
            return parse_datetime(start).instant(timeline) < now - 86_400 * US
        return True

    return keep


def _skipped(text: str, zone: str) -> bool:
    """Whether ``text`` is a local time ``zone`` skipped -- a reading the contract leaves open."""
    parsed = parse_datetime(text)
    if parsed.offset is not None:
        return False
    instant = parsed.instant(get_timeline(zone))
    back = datetime.fromtimestamp(instant / US, tz=get_zone(zone)).replace(tzinfo=None)
    return back != parsed.local


def run_generated(
    kit: KitConfig,
    judge: Callable[[Exchange], object],
    outcomes: Outcomes,
    budget: Budget | None = None,
) -> Iterator[Event]:
    """Run schemathesis' phases; every response is judged, its own checks recorded.

    Within ``budget``: when it ends, schemathesis is stopped (its next case does not
    start), and its checks are "not run: time budget (cut short)"."""
    budget = budget or Budget()

    def usagekit_response_rules(ctx: Any, response: Any, case: Any) -> None:
        if response.status_code not in RETRIED:  # "try again" is no answer to judge
            judge(exchange_of(response, case, kit))

    usagekit_response_rules.__name__ = JUDGE_CHECK
    schemathesis.check(usagekit_response_rules)
    for name, summary in BUILT_IN.items():
        outcomes.declare(
            name, source="schemathesis", kind="generated", profile="contract", summary=summary
        )
    schema = schemathesis.openapi.from_dict(tuned_contract(), config=_config(kit))
    if kit.app is not None:  # in process, through schemathesis' ASGI or WSGI transport
        schema.app = kit.app
    for name, why in _unsendable(kit).items():
        outcomes.skipped(name, why)
    schema.hook("filter_case")(_keep(kit.now()))
    started: dict[str, float] = {}
    stream = from_schema(schema).execute()
    # Its cases read as the kit reads its own; stopped, it ends as on an interrupt.
    with bounded(kit, budget), budget.at_end(stream.stop):
        for event in stream:
            if isinstance(event, st_events.PhaseStarted):
                name = f"schemathesis {event.phase.name.value}"
                started[name] = time.perf_counter()
                yield StageStarted(name=name)
            elif isinstance(event, st_events.PhaseFinished):
                name = f"schemathesis {event.phase.name.value}"
                if name in started:
                    yield StageFinished(name=name, elapsed=time.perf_counter() - started.pop(name))
            elif isinstance(event, st_events.ScenarioFinished):
                record_built_in(event, outcomes, kit)
            elif isinstance(event, st_events.NonFatalError | st_events.FatalError):
                record_error(event, outcomes, kit)
    if stream.stop_event.is_set() and budget.spent:
        for name in BUILT_IN:
            outcomes.not_run(name, CUT_SHORT)

"""Schemathesis' events as the kit's outcomes: its checks, its errors, its timeouts.

Every finding from schemathesis' phases names the request that shows it --
for a check that sent requests of its own (``ignored_auth``'s probes without a
key or with a wrong one) that request, not the case that led to it -- rebuilt
as the kit's :class:`Exchange`, so that its curl is the kit's: the URL as sent,
the configured keys as variables, every other key literally, no tool headers.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from schemathesis.engine import events as st_events

from .bounded import AnswerTooLarge
from .client import MAX_ANSWER, RETRIED
from .config import KitConfig
from .exchange import Exchange, KeyRole
from .failures import TooLarge, TooSlow
from .outcomes import Finding, Outcomes, judged_of

__all__ = [
    "BUILT_IN",
    "TIMEOUTS",
    "TOO_LARGE",
    "exchange_of",
    "record_built_in",
    "record_error",
    "request_of",
]

#: The outcome under which requests of schemathesis' phases that got no answer in time fail.
TIMEOUTS = "generated_requests_answered_in_time"
#: ... and whose answer went on past what the kit reads (:mod:`.bounded`).
TOO_LARGE = "generated_answers_within_32_mib"
ERRORS = "schemathesis_errors"
#: Checks that judge a status no configuration can widen to take a transient 429 or 503:
#: ``ignored_auth`` judges its own probes, which schemathesis never waits out and resends.
_STATUS_ONLY = frozenset({"unsupported_method", "ignored_auth"})

#: Schemathesis' own checks the kit runs, with what each says.
BUILT_IN = {
    "not_a_server_error": "No 5xx, whatever schemathesis sends.",
    "status_code_conformance": "Every status is one the contract documents.",
    "content_type_conformance": "Every content type is one the contract documents.",
    "response_headers_conformance": "Documented response headers are present and valid.",
    "response_schema_conformance": "Every body matches the contract's schema for its status.",
    "negative_data_rejection": "Requests that break the contract's schema are refused.",
    "positive_data_acceptance": "Requests the contract allows are answered with 200.",
    "ignored_auth": "A request without a valid key is refused.",
    "unsupported_method": "Methods other than GET are 405.",
}


def exchange_of(response: Any, case: Any, kit: KitConfig) -> Exchange:
    """A schemathesis response as the kit's :class:`Exchange`."""
    exchange = request_of(response.request, case, kit)
    return dataclasses.replace(
        exchange,
        status=response.status_code,
        headers={k.lower(): ", ".join(v) for k, v in response.headers.items()},
        content=response.content,
        elapsed=response.elapsed,
    )


def request_of(request: Any, case: Any, kit: KitConfig) -> Exchange:
    """A request schemathesis sent (a prepared ``requests`` request), not yet answered."""
    url = urlsplit(request.url)
    key = request.headers.get("X-API-Key")
    role = (
        KeyRole.NONE
        if key is None
        else KeyRole.ACCOUNT
        if key == kit.api_key
        else KeyRole.SUBACCOUNT
        if key == kit.subaccount_key
        else KeyRole.INVALID
    )
    path_parameters = (case.path_parameters if case is not None else None) or {}
    return Exchange(
        method=request.method,
        base_url=kit.base_url,
        path=url.path,
        account=str(path_parameters.get("account_id", kit.account_id)),
        params=tuple(parse_qsl(url.query, keep_blank_values=True)),
        key=role,
        key_text=key if role is KeyRole.INVALID else None,
        status=0,
        headers={},
        content=b"",
        elapsed=0.0,
        sent_url=request.url,
        sent_headers=tuple(request.headers.items()),
    )


def record_built_in(event: st_events.ScenarioFinished, outcomes: Outcomes, kit: KitConfig) -> None:
    recorder = event.recorder
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            if node.name not in BUILT_IN:
                continue
            if node.failure_info is None:
                outcomes.passed(node.name)
                continue
            failure = node.failure_info.failure
            # A check may fail on a request of its own (ignored_auth's probes without a
            # key or with a wrong one): reproduce that request, as it was sent.
            failing = failure.case_id or case_id
            interaction = recorder.interactions.get(failing)
            node_case = recorder.cases.get(failing)
            shown: tuple[Exchange, ...] = ()
            if interaction is not None and interaction.response is not None:
                case = node_case.value if node_case is not None else None
                shown = (exchange_of(interaction.response, case, kit),)
                if node.name in _STATUS_ONLY and interaction.response.status_code in RETRIED:
                    continue  # "try again later" says nothing about the method or the key
            message = (failure.message or "").strip()
            outcomes.failed(
                node.name,
                Finding(
                    rule=node.name,
                    title=failure.title,
                    reason=_reason(failure.title, message),
                    # The first line is in the reason already.
                    detail="\n".join(message.splitlines()[1:]).strip(),
                    judged=judged_of(shown),
                ),
            )


def _reason(title: str, message: str) -> str:
    """One line: the title, and the message's first line unless it only repeats the title."""
    first = message.splitlines()[0].strip() if message else ""
    if not first or first.rstrip(".").lower() == title.rstrip(".").lower():
        return title
    if first.lower().startswith(title.lower()):
        return first
    return f"{title}: {first}"


def record_error(
    event: st_events.NonFatalError | st_events.FatalError, outcomes: Outcomes, kit: KitConfig
) -> None:
    """A request that got no whole answer in time (TooSlow) or within the cap (TooLarge) is a
    finding with its curl; anything else an error."""
    error = getattr(event, "value", None) or getattr(event, "exception", None)
    if isinstance(error, requests.Timeout | AnswerTooLarge) and error.request is not None:
        large = isinstance(error, AnswerTooLarge)
        name = TOO_LARGE if large else TIMEOUTS
        outcomes.declare(
            name,
            source="usagekit",
            kind="generated",
            profile="contract",
            summary=f"Every answer to a request schemathesis generates is {MAX_ANSWER >> 20} MiB "
            "at most."
            if large
            else "Every request schemathesis generates is answered within --timeout.",
        )
        sent = request_of(error.request, None, kit)
        outcomes.failed(
            name,
            Finding(
                rule=name,
                title=(TooLarge if large else TooSlow).kind_title,
                reason=str(error) if large else f"no answer within --timeout {kit.timeout:g} s",
                detail="",
                judged=judged_of((sent,)),
            ),
        )
        return
    outcomes.declare(
        ERRORS,
        source="schemathesis",
        kind="generated",
        profile="contract",
        summary="Schemathesis ran without errors.",
    )
    text = str(error or "")
    outcomes.failed(
        ERRORS,
        Finding(
            rule=ERRORS,
            title="Schemathesis error",
            reason=text.splitlines()[0] if text else "schemathesis failed",
            detail=text,
        ),
    )

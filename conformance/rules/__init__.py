"""Every rule of the kit, collected from the modules that define them."""

from __future__ import annotations

from usagekit.conformance.registry import Registry
from usagekit.conformance.rules import (
    access,
    answers,
    bodies,
    calendar,
    codings,
    parameters,
    reference,
    refusals,
    relations,
    statuses,
)

__all__ = ["RULES"]

RULES = Registry.collect(
    bodies, codings, statuses, answers, refusals, parameters, access, calendar, relations, reference
)

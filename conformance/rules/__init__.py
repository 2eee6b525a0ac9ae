"""Every rule of the kit, collected from the modules that define them."""

from __future__ import annotations

from usagekit.conformance.registry import Registry
from usagekit.conformance.rules import (
    access,
    calendar,
    parameters,
    reference,
    relations,
    responses,
)

__all__ = ["RULES"]

RULES = Registry.collect(responses, parameters, access, calendar, relations, reference)

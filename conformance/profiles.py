"""Profiles: how much of the contract a server is held to.

* ``contract`` -- only what the published contract states: the parameters,
  the response and error shapes, auth and tenancy, and arithmetic that any
  aggregation must satisfy. A partner whose backend chose differently where
  the contract is silent (400 for validation errors, sparse buckets, its own
  DST rules) passes it.
* ``reference`` -- every rule of the reference semantics written in
  ``openapi.yaml`` (the default): exact buckets, dense series, 422 naming every
  invalid field, ``meta`` echoes, defaults, and, with ``--data``, the exact
  answer.

Every rule declares the narrowest profile it belongs to; ``reference``
includes all ``contract`` rules.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Profile"]


class Profile(StrEnum):
    CONTRACT = "contract"
    REFERENCE = "reference"

    def includes(self, other: Profile) -> bool:
        """Whether a run under ``self`` applies rules declared for ``other``."""
        return self is Profile.REFERENCE or other is Profile.CONTRACT

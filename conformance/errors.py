"""Why a run could not judge the server at all (exit code 2), as opposed to a finding.

Hierarchy::

    KitError                 the run cannot go on
    ├── Unreachable          the server does not answer
    ├── RejectedCredentials  the server refuses the credentials the run was given
    └── BadOptions           the options contradict each other or name missing files
"""

from __future__ import annotations

__all__ = ["BadOptions", "KitError", "RejectedCredentials", "Unreachable"]


class KitError(Exception):
    """The run cannot judge the server."""


class Unreachable(KitError):
    """The server did not answer (connection refused, timeout, ...)."""


class RejectedCredentials(KitError):
    """The server refuses --api-key or --subaccount-key for the accounts given."""


class BadOptions(KitError):
    """The options contradict each other or name something that is not there."""

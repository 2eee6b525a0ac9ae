"""What judged a run: the kit's version, the contract it read, the libraries that decide answers.

A partner's report must say what produced it: the same server can pass one
contract version and fail the next, and the zone database (tzdata) and the
test generator (schemathesis) both change what is checked. ``usagekit
--version`` prints these lines and every report carries them.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import tzdata
import yaml

from usagekit.mock.spec import spec_path

__all__ = ["Provenance", "provenance"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    usagekit: str
    contract: str  # the contract's info.version
    contract_sha256: str
    tzdata: str  # the package and the IANA release it carries
    schemathesis: str

    def items(self) -> tuple[tuple[str, str], ...]:
        """(name, value) pairs in the order reports show them."""
        return (
            ("usagekit", self.usagekit),
            ("contract", self.contract),
            ("contract-sha256", self.contract_sha256),
            ("tzdata", self.tzdata),
            ("schemathesis", self.schemathesis),
        )


@functools.cache
def provenance() -> Provenance:
    """The installed kit's provenance (read once per process)."""
    raw = spec_path().read_bytes()
    return Provenance(
        usagekit=_version("usagekit"),
        contract=str(yaml.safe_load(raw)["info"]["version"]),
        contract_sha256=hashlib.sha256(raw).hexdigest(),
        tzdata=f"{_version('tzdata')} (IANA {tzdata.IANA_VERSION})",
        schemathesis=_version("schemathesis"),
    )


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:  # e.g. run from a checkout that was never installed
        return "unknown"

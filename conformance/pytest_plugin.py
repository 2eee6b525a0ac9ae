"""The kit as a pytest plugin: ``pytest --usagekit-base-url URL --usagekit-account-id ID``.

Registered through the ``pytest11`` entry point and inert unless
``--usagekit-base-url`` is given. Then every rule -- the kit's own and the
schemathesis checks it runs -- is one test item, so a partner's pytest CI (and
its JUnit) shows one test per rule, failing with the kit's reason and the curl
that reproduces it. The kit runs once, when the first item runs, through the
runner's entry point; ``-k`` narrows that run to the selected rules. Keys come
from the environment variables ``usagekit check`` reads, never from the
command line: ``USAGEKIT_API_KEY`` and ``USAGEKIT_SUBACCOUNT_KEY``.

pytest loads this module in every run of every suite of an environment where
usagekit is installed, so it holds only the options: the rules, the runner
and their dependencies (schemathesis, numpy, httpx) load with
:mod:`.pytest_rules`, registered only when ``--usagekit-base-url`` is given.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

import pytest

from .profiles import Profile

__all__: list[str] = []


def _at_least(kind: Callable[[str], float], low: float) -> Callable[[str], float]:
    """An option type refusing what ``usagekit check`` refuses: values below ``low``."""

    def parse(text: str) -> float:
        value = kind(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"{text} is below {low}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its own errors
    return parse


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("usagekit", "usagekit conformance (keys: USAGEKIT_API_KEY etc.)")
    group.addoption(
        "--usagekit-base-url",
        metavar="URL",
        help="Judge the server at URL: one test item per rule of the kit.",
    )
    group.addoption("--usagekit-account-id", metavar="ID", help="The account the key reads.")
    group.addoption("--usagekit-subaccount-id", metavar="ID", help="A subaccount of it.")
    group.addoption(
        "--usagekit-foreign-account-id", metavar="ID", help="An account it may not read."
    )
    group.addoption("--usagekit-data", metavar="DIR", help="The dataset the server serves.")
    group.addoption(
        "--usagekit-profile",
        choices=[p.value for p in Profile],
        default=Profile.REFERENCE.value,
        help="contract or reference (default).",
    )
    group.addoption(
        "--usagekit-max-examples",
        type=_at_least(int, 0),
        default=100,
        help="Schemathesis examples per phase (0 skips schemathesis).",
    )
    group.addoption("--usagekit-seed", type=int, default=0, help="Seed for generation.")
    group.addoption(
        "--usagekit-timeout", type=_at_least(float, 0.1), default=10.0, help="Seconds per request."
    )
    group.addoption(
        "--usagekit-max-time",
        type=_at_least(float, 0.1),
        default=None,
        help="Seconds the whole run may take (default: no limit); the rules it leaves are "
        "skipped as not run, and the run's own item fails.",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Given, even empty (an unset variable in CI), the option asks for a run:
    # the suite may not pass unjudged.
    if config.getoption("usagekit_base_url") is not None:
        # Its own pytest_configure, called on registering it, builds the run.
        rules = importlib.import_module(f"{__package__}.pytest_rules")
        config.pluginmanager.register(rules, "usagekit-rules")

"""The pytest plugin's active half: one test item per rule, judged by one shared run.

:mod:`.pytest_plugin` registers this module when ``--usagekit-base-url`` is
given; its ``pytest_configure`` runs then, and builds the run from the options.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import shlex
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .config import KitConfig
from .errors import KitError
from .generation import BUILT_IN
from .outcomes import RuleResult, visible
from .profiles import Profile
from .pytest_shared import ItemVerdict, KitRun, forget, once_per_run
from .reporting.plain import budget_text, finding_lines, headline
from .rules import RULES
from .runner import run

__all__ = ["RuleFailed", "RuleItem"]

#: The item that stands for the run itself: errors that belong to no listed rule.
RUN_ITEM = "usagekit_run"
_SESSION = pytest.StashKey["_Session"]()
_RUN_UID = pytest.StashKey[str]()


class RuleFailed(Exception):
    """A rule's findings, shown as the kit words them (no Python traceback)."""


class _Session:
    """The one kit run the items share, started by the first item that runs (by the
    first worker's, under pytest-xdist: :mod:`.pytest_shared`)."""

    def __init__(self, config: KitConfig, uid: str | None) -> None:
        self.config = config
        self.uid = uid  # the xdist test run this worker is part of
        self.run: KitRun | None = None

    def result(self, name: str) -> ItemVerdict | None:
        if self.run is None:
            self.run, crash = once_per_run(self.uid, self._judge)
            if crash is not None:  # this process ran it: the traceback once, on this item
                raise crash
        if self.run.error is not None:
            raise RuleFailed(self.run.error)
        return self.run.verdicts.get(name)

    def unlisted(self, listed: set[str]) -> list[ItemVerdict]:
        assert self.run is not None
        return [v for name, v in self.run.verdicts.items() if name not in listed]

    def _judge(self) -> tuple[KitRun, BaseException | None]:
        try:
            summary = run(self.config)
        except KitError as exc:  # every item fails with it: none may pass unjudged
            return KitRun(error=f"the kit could not run: {_in_plugin_terms(str(exc))}"), None
        except Exception as exc:
            # A bug of the kit: the others fail with its name rather than each
            # running the whole kit again.
            error = f"usagekit crashed: {type(exc).__name__}: {exc} (a bug: please report it)"
            return KitRun(error=error), exc
        verdicts = {r.name: _verdict(r) for r in summary.results}
        ended = None if summary.budget is None else _in_plugin_terms(budget_text(summary))
        return KitRun(verdicts=verdicts, ended=ended), None


def _verdict(result: RuleResult) -> ItemVerdict:
    """The item's verdict; the kit's words of a failed rule, or of one not run (the budget)."""
    text = _failure_text(result) if result.failed else ""
    if result.status == "not run":
        text = result.status_text
    return ItemVerdict(result.status, result.failed, result.skipped, text)


class RuleItem(pytest.Item):
    """One rule of the kit, judged by the shared run."""

    def runtest(self) -> None:
        session: _Session = self.config.stash[_SESSION]
        if self.name == RUN_ITEM:
            session.result(self.name)
            failed = [v.text for v in session.unlisted(set(_names())) if v.failed]
            assert session.run is not None
            if session.run.ended is not None:  # the suite may not pass with rules unjudged
                failed.append(f"usagekit: {session.run.ended}")
            if failed:
                raise RuleFailed("\n\n".join(failed))
            return
        result = session.result(self.name)
        if result is None or result.status == "not exercised":
            pytest.skip("not exercised by this run")
        if result.failed:
            raise RuleFailed(result.text)
        if result.status == "not run":  # no verdict: not a pass, nor the server's failure
            pytest.skip(result.text)
        if result.skipped is not None:
            pytest.skip(_in_plugin_terms(result.skipped))

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: str | None = None,
    ) -> Any:
        if isinstance(excinfo.value, RuleFailed):
            # What a server wrote (a header's escape sequence) must not drive the terminal.
            return visible(str(excinfo.value))
        return super().repr_failure(excinfo, style=style)  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"usagekit: {self.name}"


class _Rules(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        return [RuleItem.from_parent(self, name=name) for name in [*_names(), RUN_ITEM]]


def _names() -> list[str]:
    return [*(rule.name for rule in RULES), *BUILT_IN]


def _failure_text(result: RuleResult) -> str:
    """The kit's own words for a failed rule: what it checks, each finding, its curls."""
    parts = [f"{result.name}: {result.summary}", ""]
    for finding in result.findings:
        parts += [headline(finding), *finding_lines(finding), ""]
    if result.more:
        parts.append(f"... and {result.more} more distinct finding(s)")
    return "\n".join(parts).rstrip()


def _kit_config(config: pytest.Config) -> KitConfig:
    if not config.getoption("usagekit_base_url").strip():
        raise pytest.UsageError(
            "--usagekit-base-url is empty: give the server's root, e.g. http://127.0.0.1:8080"
        )
    account_id = config.getoption("usagekit_account_id")
    api_key = os.environ.get("USAGEKIT_API_KEY")
    if not account_id or not api_key:
        raise pytest.UsageError(
            "--usagekit-base-url needs --usagekit-account-id, "
            "and USAGEKIT_API_KEY in the environment"
        )
    data = config.getoption("usagekit_data")
    _refuse_data_given_apart(config)
    subaccount_id = config.getoption("usagekit_subaccount_id")
    try:
        return KitConfig(
            base_url=config.getoption("usagekit_base_url"),
            api_key=api_key,
            account_id=account_id,
            subaccount_id=subaccount_id,
            # A CI's environment may hold the subaccount key for other jobs too:
            # it counts only with --usagekit-subaccount-id.
            subaccount_key=os.environ.get("USAGEKIT_SUBACCOUNT_KEY") if subaccount_id else None,
            foreign_account_id=config.getoption("usagekit_foreign_account_id"),
            data=Path(data) if data else None,
            profile=Profile(config.getoption("usagekit_profile")),
            max_examples=config.getoption("usagekit_max_examples"),
            seed=config.getoption("usagekit_seed"),
            timeout=config.getoption("usagekit_timeout"),
            max_time=config.getoption("usagekit_max_time"),
        )
    except ValueError as exc:
        raise pytest.UsageError(f"usagekit: {_in_plugin_terms(str(exc))}") from None


def _refuse_data_given_apart(config: pytest.Config) -> None:
    """``--usagekit-data DIR`` as two words, DIR outside the directory pytest runs in.

    pytest looks for its ini file before plugins add their options, so it
    takes that DIR for a test path: its search starts above the project, which
    loses the project's ini (addopts, markers, filterwarnings) and moves the
    rootdir. As one word, ``--usagekit-data=DIR``, nothing is a path to it.
    """
    words = [*shlex.split(os.environ.get("PYTEST_ADDOPTS", "")), *config.invocation_params.args]
    here = config.invocation_params.dir.resolve()
    for option, value in itertools.pairwise(words):
        if option == "--usagekit-data" and not (here / value).resolve().is_relative_to(here):
            raise pytest.UsageError(
                f"write --usagekit-data={value}, as one word: given apart, pytest takes "
                f"{value} for a test path when it looks for its ini file, outside {here} "
                f"(it found {config.inipath or 'none'}, rootdir {config.rootpath})"
            )


def pytest_configure(config: pytest.Config) -> None:
    worker = getattr(config, "workerinput", None)  # set by pytest-xdist in its workers
    uid = worker.get("testrunuid") if worker is not None else None
    config.stash[_SESSION] = _Session(_kit_config(config), uid)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's, in its controller
def pytest_configure_node(node: Any) -> None:
    node.config.stash[_RUN_UID] = node.workerinput["testrunuid"]


def pytest_unconfigure(config: pytest.Config) -> None:
    uid = config.stash.get(_RUN_UID, None)
    if uid is not None:  # the workers are done: their shared run goes
        forget(uid)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """The rules join the session's own collection, so -k, -m and the counts treat them alike."""
    report = yield
    config = collector.config
    if isinstance(collector, pytest.Session) and _SESSION in config.stash and report.passed:
        assert isinstance(report.result, list)
        report.result.append(
            _Rules.from_parent(
                collector, name="usagekit", nodeid="usagekit", path=config.rootpath / "usagekit"
            )
        )
    return report


def pytest_collection_finish(session: pytest.Session) -> None:
    """Run only the rules ``-k``/``-m`` kept, when they dropped some."""
    if _SESSION not in session.config.stash:
        return
    shared: _Session = session.config.stash[_SESSION]
    kept = {item.name for item in session.items if isinstance(item, RuleItem)}
    ours = {rule.name for rule in RULES}
    if ours <= kept:
        return
    shared.config = dataclasses.replace(shared.config, skip=shared.config.skip | (ours - kept))


#: ``usagekit check``'s options (and requirements, which name them) as this plugin says them.
_PLUGIN_TERMS = {
    "--api-key": "USAGEKIT_API_KEY",
    "--subaccount-key": "USAGEKIT_SUBACCOUNT_KEY",
    **{
        f"--{option}": f"--usagekit-{option}"
        for option in (
            "base-url", "account-id", "subaccount-id", "foreign-account-id",
            "data", "profile", "max-examples", "seed", "timeout", "max-time",
        )
    },
}  # fmt: skip
_CLI_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*[a-z](?![\w-])")


def _in_plugin_terms(text: str) -> str:
    """``text`` (a skip reason, a refusal) with ``usagekit check``'s option names as ours."""
    return _CLI_OPTION.sub(lambda m: _PLUGIN_TERMS.get(m.group(), m.group()), text)

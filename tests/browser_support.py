"""Debian's chromium driven by Playwright for Python: no browser download, ever.

The Makefile installs ``chromium`` with apt-get when :data:`CHROMIUM` is
missing; Playwright only drives it (``executable_path``). Screenshots go to
``reports/screenshots/`` (git-ignored; CI keeps the folder of its clone).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

CHROMIUM = os.environ.get("USAGEKIT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "reports" / "screenshots"
#: Quiet, offline, headless: no sandbox (root in CI), no GPU, no calls home.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def launch(*args: str) -> Iterator[Browser]:
    """Chromium with :data:`ARGS` and ``args``."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *args])
        try:
            yield browser
        finally:
            browser.close()


#: Reports each Content-Security-Policy violation of a document to the test. An init
#: script runs before the page's own and, like the binding, is not subject to its policy.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => window.%s(
  `${e.effectiveDirective} refused ${e.blockedURI || "(none)"} at ${e.sourceFile}:${e.lineNumber}`
));
"""


class Console:
    """Every console error, uncaught exception and policy violation of a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        binding = "usagekitPolicyViolation"
        page.expose_function(binding, lambda text: self.errors.append(f"csp: {text}"))
        page.add_init_script(REPORT_VIOLATIONS % binding)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def take(self) -> list[str]:
        errors, self.errors = self.errors, []
        return errors


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path

"""The dashboard's assets: the vendored chart library is the version its README records."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from workbench_support import workbench

VENDOR = Path(__file__).parents[1] / "mock" / "server" / "static" / "vendor"


def test_vendored_chart_js_is_the_recorded_version_with_its_licence():
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    script = (VENDOR / "chart.umd.min.js").read_bytes()
    (version,) = re.findall(r"\| `chart.umd.min.js` \|[^|]*\| ([\d.]+) \|", readme)
    assert script.startswith(f"/*!\n * Chart.js v{version}\n".encode())
    assert hashlib.sha256(script).hexdigest() in readme
    assert f"{len(script):,} bytes" in readme
    assert "MIT" in (VENDOR / "chart.js.LICENSE.md").read_text(encoding="utf-8")


def test_demo_page_and_assets_are_served_from_the_package():
    with workbench() as mock:
        page = mock.get("/demo")
        script = mock.get("/demo/assets/vendor/chart.umd.min.js")
        dashboard = mock.get("/demo/assets/dashboard.js")
        config = mock.get("/demo/config.json").json()
        missing = mock.get("/demo/assets/nothing.js")
    assert page.status_code == 200
    assert 'data-testid="usage-table"' in page.text
    # Offline: nothing on the page points outside the mock.
    assert not re.search(r"(src|href)=\"https?://", page.text)
    assert script.status_code == 200
    assert dashboard.status_code == 200
    assert missing.status_code == 404
    assert config["dimensions"] == ["agent", "subaccount", "type"]
    assert config["zones"][0]["dst"] is True
    assert [k["role"] for k in config["keys"]] == ["demo", "subaccount", "other"]

"""The lines ``usagekit mock`` prints before it serves: where to look, and a curl that works."""

from __future__ import annotations

import shlex

from usagekit.mock.datasets import synthetic
from usagekit.mock.spec import OPERATION_PATH

from .config import ServerConfig

__all__ = ["banner", "base_url"]

_ANY = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}


def base_url(config: ServerConfig) -> str:
    host = _ANY.get(config.host, config.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{config.port}"


def banner(config: ServerConfig) -> str:
    base = base_url(config)
    if config.data_dir is None:
        # The demo credentials are published constants of the synthetic dataset, not secrets.
        dataset = (
            f"synthetic dataset; demo account {synthetic.DEMO_ACCOUNT_ID}, "
            f"key {synthetic.DEMO_API_KEY}"
        )
        url = f"{base}{OPERATION_PATH.format(account_id='me')}?group_by=agent,type&tz=Europe/Vienna"
        curl = f"  curl -H {shlex.quote('X-API-Key: ' + synthetic.DEMO_API_KEY)} {shlex.quote(url)}"
    else:
        watched = " (watched for changes)" if config.watch else ""
        dataset = f"dataset {config.data_dir}{watched}; its keys are listed at {base}/"
        curl = None
    lines = [
        f"usagekit mock: {dataset}",
        f"  landing page   {base}/",
        f"  dashboard      {base}/demo",
        f"  Swagger UI     {base}/ui/",
        f"  contract       {base}/openapi.json",
        f"  admin          {base}/_usagekit/status  (scenario, requests, names)",
    ]
    if curl:
        lines.append(curl)
    return "\n".join(lines)

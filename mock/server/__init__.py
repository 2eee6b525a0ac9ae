"""The mock server: a connexion app driven by openapi.yaml, answering from the aggregator."""

import warnings

# connexion 3.3 imports starlette's TestClient (for its own test client, which the
# server never uses), and starlette 1.10 warns about that at import time; without
# this, every `usagekit mock` start and every worker would print the warning.
warnings.filterwarnings(
    "ignore",
    message="Using `httpx` with `starlette.testclient` is deprecated",
    category=UserWarning,
)

"""The ``usagekit`` command."""

import warnings

# connexion 3.3 imports starlette's TestClient (for a test client the server never
# uses) and starlette 1.10 warns about it on import. The command is the process's
# entry point, so it, not the library, decides what the user is shown.
QUIET = "Using `httpx` with `starlette.testclient` is deprecated"
warnings.filterwarnings("ignore", message=QUIET, category=UserWarning)

from .main import main  # noqa: E402 - after the filter, which must precede connexion's import

__all__ = ["QUIET", "main"]

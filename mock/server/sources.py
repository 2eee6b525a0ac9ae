"""Where a worker's dataset comes from: ``--data DIR``, or the synthetic one.

Every worker builds its own copy from the same config, so every worker holds
the same data: the files of ``--data``, or the synthetic dataset generated
with the same seed around the same anchor instant (fixed in the parent
process, see :func:`usagekit.mock.server.run.serve`).
"""

from __future__ import annotations

from uvicorn.importer import import_from_string

from usagekit.mock.core.dataset import Dataset
from usagekit.mock.datasets import files, synthetic

from .config import ConfigError, ServerConfig

__all__ = ["load_dataset"]


def load_dataset(config: ServerConfig, *, later: bool = False) -> Dataset:
    """The dataset ``config`` names; ``later``: see :func:`files.load_dataset`."""
    if config.dataset_factory is not None:
        # A test seam: "module:function" returning a Dataset, imported in each worker.
        factory = import_from_string(config.dataset_factory)
        return factory()
    if config.data_dir is not None:
        return files.load_dataset(config.data_dir, later=later)
    if config.anchor is None:
        raise ConfigError("the synthetic dataset needs an anchor instant (see run.prepare)")
    return synthetic.generate(
        seed=synthetic.DEFAULT_SEED if config.seed is None else config.seed,
        now=config.anchor,
        size=synthetic.DEFAULT_SIZE if config.size is None else config.size,
    )

"""The pure core: zones, buckets, queries, datasets and the reference aggregator.

Nothing here does network I/O or imports a web framework or a CLI library;
``tests/test_layers.py`` holds the line. See ARCHITECTURE.md.
"""

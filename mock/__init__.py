"""usagekit's mock: the reference aggregator, datasets, and the mock server."""

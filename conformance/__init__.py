"""The conformance kit: checks that any implementation honours the usage analytics contract."""

"""The mock server: a connexion app driven by openapi.yaml, answering from the aggregator."""

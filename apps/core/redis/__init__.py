"""Shared hot state: the Redis protocol client, the hot store (Redis, or memory for the embedded
default) and the durable queue that carries usage records and audit entries to the database."""

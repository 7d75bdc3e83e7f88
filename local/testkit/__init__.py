"""The kit that tests and benchmarks share: one local-stack builder, waits, checksums, provenance."""

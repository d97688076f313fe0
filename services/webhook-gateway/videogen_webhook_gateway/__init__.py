"""The public webhook edge: verify, deduplicate, forward over gRPC."""

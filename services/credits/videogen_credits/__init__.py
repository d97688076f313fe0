"""The credits service: an exact, append-only ledger of user credits."""

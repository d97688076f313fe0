"""`make soak`: the whole stack as real processes, under seeded faults, then an audit of
the money. See README "Soak" and run.py for the order of things."""

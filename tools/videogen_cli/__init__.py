"""`videogen`: the operator's command line, over the stack's own HTTP API."""

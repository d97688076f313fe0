"""How a webhook is answered when it is not acted on. Standard library only."""
from __future__ import annotations


class Malformed(Exception):
    """400: not a well-formed webhook, or an event that does not say what it must."""


class NotAuthentic(Exception):
    """401: signature, secret or timestamp do not check out."""


class Ignored(Exception):
    """A verified event this gateway does not act on; acknowledged."""

"""The HTTP/JSON (+SSE) API that web frontends call: the seed system's routes, drop-in."""

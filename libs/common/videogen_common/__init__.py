"""Plumbing shared by every service: settings, logging, gRPC bootstrap, errors.

Nothing here knows about credits or generations; domain code lives in the services.
"""

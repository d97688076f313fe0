"""Test plumbing shared by every service's tests (a pytest plugin)."""

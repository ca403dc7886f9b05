"""Benchmarks share the test fixtures (real services); run with `make bench`."""

from tests.conftest import *  # noqa: F401,F403

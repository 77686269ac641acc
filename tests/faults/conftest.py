"""Fixtures of the fault tests."""

from __future__ import annotations

from tests.faults.slow_backend import slow_backend  # noqa: F401 - fixture

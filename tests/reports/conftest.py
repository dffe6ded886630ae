"""Fixtures shared by the reports tests (the registry's people fixture serves both)."""

from __future__ import annotations

from tests.registry.conftest import people

__all__ = ["people"]

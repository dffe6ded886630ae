"""Oversight: discovery, reconciliation, monitoring, findings and their remedies."""

from __future__ import annotations

from typing import Any

from oversight import ledger_checks


def init_app(app: Any) -> None:
    """Hook the ledger findings to registry's signals (registry never imports oversight)."""
    ledger_checks.connect()

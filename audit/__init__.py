"""Append-only, hash-chained audit log of every state change.

``init_app(app)``: ``flask audit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    from audit.cli import audit_cli

    app.cli.add_command(audit_cli)

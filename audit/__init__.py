"""Append-only, hash-chained audit log of every state change.

``init_app(app)``: ``flask audit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    from audit.cli import audit_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    app.cli.add_command(audit_cli)

"""台账: units, accounts, lifecycle events, deadlines, import/export.

``init_app(app)`` wires the 台账 part into an app (blueprints, ``flask registry``, the 台账 job
kinds); oversight/ has its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    from extensions import csrf  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from registry import jobs, views  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from registry.cli import registry_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    csrf.exempt(views.api)
    app.register_blueprint(views.api)
    app.register_blueprint(views.pages)
    app.cli.add_command(registry_cli)
    jobs.register_ledger_kinds(app)

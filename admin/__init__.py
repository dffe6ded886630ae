"""The admin console (系统管理): units, users, the checks' dictionaries; first-run commands.

``init_app(app)``: the /admin pages, ``flask bootstrap`` and ``flask units``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    from admin.cli import bootstrap_command, units_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from admin.views import aliases, bp  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    app.register_blueprint(bp)
    app.register_blueprint(aliases)
    app.cli.add_command(bootstrap_command)
    app.cli.add_command(units_cli)

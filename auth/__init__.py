"""Users, roles, sessions, API tokens and unit scoping.

``init_app(app)``: the login pages and ``flask users``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    from auth.cli import users_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from auth.views import bp  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    app.register_blueprint(bp)
    app.cli.add_command(users_cli)

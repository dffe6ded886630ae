"""互动回应 (comments and private messages): per-unit inbox, replies, findings.

``init_app(app)``: the API, pages and WeChat push blueprints and ``flask interaction``.
Models live in :mod:`oversight.interaction.models` (imported here so Alembic sees them).
"""

from __future__ import annotations

from flask import Flask

from extensions import csrf


def init_app(app: Flask) -> None:
    from oversight.interaction import models  # noqa: PLC0415, F401 - init_app: registers the tables when the app is built
    from oversight.interaction.cli import interaction_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from oversight.interaction.views import api, pages, push  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    csrf.exempt(api)
    csrf.exempt(push)  # the platform posts here; the signature is the check
    app.register_blueprint(api)
    app.register_blueprint(pages)
    app.register_blueprint(push)
    app.cli.add_command(interaction_cli)

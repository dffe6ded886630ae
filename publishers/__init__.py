"""Deliveries of approved content to the platforms: claim, attempt, retry, sweep, withdraw.

``init_app(app)``: the publishing blueprints, ``flask credentials``, and the platform limits as
review findings (registered with moderation, which imports nothing of publishers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    import moderation  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from extensions import csrf  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from moderation.editor_extensions import TargetChoice, register_target_choice  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from publishers import account_views, limits, preview, send_modes, views  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from publishers import calendar as _calendar  # noqa: F401, PLC0415  init_app: adds the calendar's routes to views' blueprints
    from publishers.cli import credentials_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    csrf.exempt(views.api)
    csrf.exempt(account_views.api)
    app.register_blueprint(account_views.api)
    app.register_blueprint(account_views.pages)
    app.register_blueprint(views.api)
    app.register_blueprint(views.pages)
    app.cli.add_command(credentials_cli)
    moderation.register_target_checker(app, limits.target_findings)
    register_target_choice(app, TargetChoice("send_mode", send_modes.editor_options, send_modes.editor_save))
    app.jinja_env.globals["platform_previews"] = preview.platform_previews

"""Content items, the three reviews and the automated checks.

``init_app(app)``: the content and review blueprints, and an empty list of platform-limit
checkers that lower-level knowledge (publishers) fills with ``register_target_checker(app, fn)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moderation.target_checks import register_target_checker, unregister_target_checker

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["init_app", "register_target_checker", "unregister_target_checker"]


def init_app(app: Flask) -> None:
    from extensions import csrf  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from moderation import target_checks, views  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    app.extensions.setdefault(target_checks.EXTENSION, [])
    csrf.exempt(views.api)
    app.register_blueprint(views.api)
    app.register_blueprint(views.pages)

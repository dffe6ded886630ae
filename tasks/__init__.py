"""Celery app, thin task entry points and the scheduler process.

``init_app(app)`` builds the Celery app bound to the Flask app (``app.extensions["celery"]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    from tasks.celery_app import broker_init_command, celery_init_app  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from tasks.media import media_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from tasks.workorders import workorders_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    celery_init_app(app)
    app.cli.add_command(broker_init_command)
    app.cli.add_command(media_cli)
    app.cli.add_command(workorders_cli)

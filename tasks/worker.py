"""Worker entry point: ``celery -A tasks.worker worker``.

This is the one module that builds an app at import time, because Celery's command line
imports it to find the Celery instance (as in Flask's examples/celery/make_celery.py).
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init

from app import create_app
from extensions import db

flask_app = create_app()
celery = flask_app.extensions["celery"]


@worker_process_init.connect
def _dispose_engine(**_kwargs: Any) -> None:
    """Forked pool processes must not share the parent's database connections."""
    with flask_app.app_context():
        db.engine.dispose(close=False)

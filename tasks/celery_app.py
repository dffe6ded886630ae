"""Celery wired to the Flask app (Flask's own Celery pattern) and the one task base class."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask

from common.timefmt import CN_TZ
from extensions import db

QUEUES = ("publishing", "polling", "monitoring", "jobs", "default")


class AppTask(Task):  # type: ignore[misc]
    """Runs in the app context; commits on success, rolls back on any exception.

    Retry decisions for publishing live in the publishing task itself and follow the
    adapter error taxonomy (never string matching).
    """

    abstract = True
    flask_app: Flask

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.flask_app.app_context():
            try:
                result = self.run(*args, **kwargs)
                db.session.commit()
                return result
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.remove()


def _transport_options(broker: str, busy_timeout_ms: int, key_prefix: str = "") -> dict[str, Any]:
    """Kombu's SQLAlchemy transport hands its transport options to create_engine(): a SQLite
    broker waits for its write lock as long as the database does (sqlite3's default is 5 s).
    Redis gets a visibility timeout longer than any countdown we schedule, and REDIS_KEY_PREFIX
    (if set) in front of every key and channel (Kombu's ``global_keyprefix``)."""
    if broker.startswith("sqla+sqlite"):
        return {"connect_args": {"timeout": busy_timeout_ms / 1000}}
    if broker.startswith("sqla+"):
        return {}
    return {"visibility_timeout": 3600, **({"global_keyprefix": key_prefix} if key_prefix else {})}


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(AppTask):
        abstract = True
        flask_app = app

    celery_app = Celery(app.import_name, task_cls=FlaskTask)
    broker = app.config["BROKER_URL"]
    celery_app.conf.update(
        broker_url=broker,
        result_backend=None,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone=CN_TZ.key,
        enable_utc=True,
        worker_prefetch_multiplier=app.config["WORKER_PREFETCH_MULTIPLIER"],
        task_default_queue="default",
        task_routes={
            "tasks.publishing.deliver": {"queue": "publishing"},
            "tasks.publishing.withdraw_delivery": {"queue": "publishing"},
            "tasks.publishing.poll_status": {"queue": "polling"},
            "tasks.monitoring.*": {"queue": "monitoring"},
            "tasks.inspection.*": {"queue": "monitoring"},
            "tasks.longjobs.*": {"queue": "jobs"},
        },
        broker_connection_retry_on_startup=True,
        broker_transport_options=_transport_options(
            broker, app.config["SQLITE_BUSY_TIMEOUT_MS"], app.config.get("REDIS_KEY_PREFIX", "")
        ),
        include=[
            "tasks.system",
            "tasks.publishing",
            "tasks.monitoring",
            "tasks.inspection",
            "tasks.longjobs",
            "tasks.media",
            "tasks.interaction",
            "tasks.credentials",
            "tasks.workorders",
            "tasks.notify",
            "tasks.scoring",
            "tasks.reposts",
            "tasks.intake",
        ],
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app

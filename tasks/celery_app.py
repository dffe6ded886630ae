"""Celery wired to the Flask app (Flask's own Celery pattern) and the one task base class."""

from __future__ import annotations

from typing import Any

import click
from celery import Celery, Task
from flask import Flask, current_app

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


def declare_queues(celery_app: Celery) -> list[str]:
    """Create every queue of :data:`QUEUES` on a database broker (Kombu's SQLAlchemy transport:
    its tables and one row per queue), once, before the processes start: a worker and a scheduler
    starting together on an empty broker both insert the same queue row and one of them dies
    (``UNIQUE constraint failed: kombu_queue.name``). Returns the queues declared; a Redis
    broker needs nothing (an empty list)."""
    if not str(celery_app.conf.broker_url).startswith("sqla+"):
        return []
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        for name in QUEUES:
            channel.queue_declare(queue=name)
    return list(QUEUES)


@click.command("broker-init")
def broker_init_command() -> None:
    """Create the task queues of a database broker (the embedded default) before the worker and
    the scheduler first start; harmless to run again; nothing to do for Redis."""
    declared = declare_queues(current_app.extensions["celery"])
    if declared:
        click.echo(f"已建立任务队列：{'、'.join(declared)}")
    else:
        click.echo("消息队列为 Redis，无需预先建立队列")

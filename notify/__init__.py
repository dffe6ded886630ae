"""notify: the to-do centre (待办中心) and reminders (in-app, e-mail, 企业微信/钉钉 group robots).

``init_app(app)``: the pages (/todo) and API blueprints, ``flask notify``. The scheduled job is
``tasks.notify:run_reminders`` (tasks/jobs.py); the header's count comes from navigation.py.
"""

from __future__ import annotations

from flask import Flask

from extensions import csrf


def init_app(app: Flask) -> None:
    from notify import reminders, todo, views  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from notify.channels import install_log_redaction  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from notify.cli import notify_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    install_log_redaction()
    csrf.exempt(views.api)
    app.register_blueprint(views.api)
    app.register_blueprint(views.pages)
    app.cli.add_command(notify_cli)
    # the page a person lands on shows what waits (moderation's 稿件 page may not import notify)
    app.jinja_env.globals["todo_summary"] = todo.summary
    # The 通报 (reports/) counts reminders by channel through this hook: reports may not import notify.
    app.extensions["govmedia.reminder_counts"] = reminders.sent_by_channel

"""intake: content that arrives in bulk — 批量排期 from a spreadsheet and a zip of media, and the
government website's feeds (政府网站栏目订阅) turned into drafts. docs/intake.md.

``init_app(app)``: the pages (/intake/...) and API blueprints, the ``bulk_schedule`` job kind,
``flask intake poll``. The scheduled poll is ``tasks.intake:run_poll`` (tasks/jobs.py).
Sits beside reports/admin/notify: above oversight, publishers and moderation, whose services
(``moderation.service.create_content``, ``moderation.review.submit``) create every draft.
"""

from __future__ import annotations

from flask import Flask

from extensions import csrf


def init_app(app: Flask) -> None:
    from intake import views  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from intake.cli import intake_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from intake.jobs import register_kinds  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    register_kinds(app)
    csrf.exempt(views.api)
    app.register_blueprint(views.api)
    app.register_blueprint(views.pages)
    app.cli.add_command(intake_cli)

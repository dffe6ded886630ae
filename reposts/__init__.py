"""reposts: 转载任务 — the office asks its units to repost an article by a deadline and counts who did.

``init_app(app)``: the API blueprint (/api/v1/reposts), the pages (/reposts) and ``flask reposts``.
The scheduled sweep that detects completion and lateness is ``tasks.reposts:run_sweep``
(every ``REPOST_SWEEP_MINUTES``); the 待办 section and the reminders are in notify/, the late
units of the quarter in the 通报 (reports/service.py); the lighter-review rule is registered with
moderation (reposts/light_review.py). docs/reposts.md describes it all.
"""

from __future__ import annotations

from flask import Flask

from extensions import csrf
from moderation.light_review import register_light_review


def init_app(app: Flask) -> None:
    from reposts import views  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from reposts.cli import reposts_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from reposts.light_review import DECIDER  # noqa: PLC0415  init_app: the rule registers when the app is built

    csrf.exempt(views.api)
    app.register_blueprint(views.api)
    app.register_blueprint(views.pages)
    app.cli.add_command(reposts_cli)
    register_light_review(app, DECIDER)  # the lighter review for reposts (docs/reposts.md)

"""Cross-domain reports and exports: the compliance report, bulletin, annual table, the dashboard.

Its one ``init_app(app)``: the report API and pages, the 工作台 dashboard, and the report and
findings-export job kinds.
"""

from __future__ import annotations

from flask import Flask

from extensions import csrf


def init_app(app: Flask) -> None:
    from reports import dashboard, jobs, views  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    csrf.exempt(views.api)
    app.register_blueprint(views.api)
    app.register_blueprint(views.pages)
    app.register_blueprint(dashboard.bp)
    jobs.register_kinds(app)

"""整改 work orders (oversight/workorders/): a confirmed finding becomes the unit's work order.

``init_app(app)``: the API blueprint (/api/v1/workorders) and the pages (/workorders). The
scheduler's sweep (re-checks, escalation) and ``flask workorders run`` live in tasks/workorders.py.
"""

from __future__ import annotations

from flask import Flask

from extensions import csrf


def init_app(app: Flask) -> None:
    from oversight.workorders import views  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    csrf.exempt(views.api)
    app.register_blueprint(views.api)
    app.register_blueprint(views.pages)

"""巡检 Inspection: what every registered account really publishes (issue 21).

``init_app(app)`` (called once by ``create_app``) registers the models, the API and pages
blueprints and the ``flask inspection`` commands. See docs/monitoring.md (巡检).
"""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    from extensions import csrf  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from oversight.inspection import models  # noqa: PLC0415, F401 - init_app: registers the tables when the app is built
    from oversight.inspection.cli import inspection_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from oversight.inspection.views import api, pages  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    csrf.exempt(api)
    app.register_blueprint(api)
    app.register_blueprint(pages)
    app.cli.add_command(inspection_cli)

"""考评: indicator scores per account and period (国办秘函〔2019〕19号 method, rules as versioned
data), quality indices without follower targets, unit/county roll-ups and the monthly 抽查.

``init_app(app)``: the API and page blueprints and ``flask scoring``. Models live in
:mod:`oversight.scoring.models`.
"""

from __future__ import annotations

from flask import Flask

from extensions import csrf


def init_app(app: Flask) -> None:
    from oversight.scoring import models  # noqa: PLC0415, F401 - init_app: registers the tables when the app is built
    from oversight.scoring.cli import scoring_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from oversight.scoring.views import api, pages  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    csrf.exempt(api)
    app.register_blueprint(api)
    app.register_blueprint(pages)
    app.cli.add_command(scoring_cli)

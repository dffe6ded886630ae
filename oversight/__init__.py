"""Oversight: discovery, reconciliation, monitoring, findings and their remedies.

Its one ``init_app(app)``, called by ``create_app`` after ``registry.init_app``: the findings
blueprints, the ``flask discovery`` / ``flask monitoring`` commands, the discovery job kinds,
and the ledger checks hooked to registry's signals (registry never imports oversight).
Inspection (``oversight.inspection``) and interaction (``oversight.interaction``) have their own.
"""

from __future__ import annotations

from flask import Flask

from extensions import csrf


def init_app(app: Flask) -> None:
    from oversight import discovery_jobs, findings_views, ledger_checks  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import
    from oversight.discovery_cli import discovery_cli, monitoring_cli  # noqa: PLC0415  init_app: views and CLI load when the app is built, not on import

    csrf.exempt(findings_views.api)
    app.register_blueprint(findings_views.api)
    app.register_blueprint(findings_views.pages)
    app.cli.add_command(discovery_cli)
    app.cli.add_command(monitoring_cli)
    discovery_jobs.register_discovery_kinds(app)
    ledger_checks.connect()

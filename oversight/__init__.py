"""Oversight: discovery, reconciliation, monitoring, findings and their remedies.

Its one ``init_app(app)``, called by ``create_app`` after ``registry.init_app``: the findings
and reports blueprints, the ``flask discovery`` / ``flask monitoring`` commands and the
discovery, report and findings-export job kinds.
"""

from __future__ import annotations

from flask import Flask

from extensions import csrf


def init_app(app: Flask) -> None:
    from oversight import findings_jobs, findings_views
    from oversight.discovery_cli import discovery_cli, monitoring_cli
    from registry import jobs as registry_jobs

    csrf.exempt(findings_views.api)
    app.register_blueprint(findings_views.api)
    app.register_blueprint(findings_views.pages)
    app.register_blueprint(findings_views.reports_pages)
    app.cli.add_command(discovery_cli)
    app.cli.add_command(monitoring_cli)
    registry_jobs.register_discovery_kinds(app)
    findings_jobs.register_kinds(app)

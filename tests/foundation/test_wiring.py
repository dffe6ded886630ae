"""Explicit wiring: nothing registers itself on import; create_app calls each package's init_app.

Run in a fresh interpreter, so no module imported by another test can have done the work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

JOB_KINDS = [
    "bulk_schedule",
    "discovery_import",
    "discovery_run",
    "findings_export",
    "ledger_export",
    "ledger_import",
    "report_annual",
    "report_bulletin",
    "report_compliance",
]
CLI_COMMANDS = ["audit", "credentials", "discovery", "intake", "monitoring", "registry", "seed-demo", "users"]

PROGRAM = textwrap.dedent(
    """
    import importlib, json, sys

    from flask import Flask

    # Every module that defines job kinds, blueprints, commands or checkers, imported first.
    for name in ("registry.jobs", "oversight.discovery_jobs", "reports.jobs", "registry.views",
                 "oversight.findings_views", "reports.views", "moderation.views", "publishers.views",
                 "publishers.limits", "jobs.views"):
        importlib.import_module(name)
    import jobs
    from moderation import target_checks

    bare = Flask("bare")
    after_imports = {"kinds": sorted(jobs.kinds_of(bare)), "checkers": len(target_checks._checkers(bare))}

    import tasks.worker  # what `celery -A tasks.worker worker` imports: it builds the app with create_app
    from app import create_app

    worker_app = tasks.worker.flask_app
    other = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "BROKER_URL": "memory://"})
    with worker_app.app_context():
        kinds = sorted(jobs.kinds())
        checkers = [f.__module__ + "." + f.__name__ for f in target_checks.target_checkers()]
    json.dump({
        "after_imports": after_imports,
        "worker_kinds": kinds,
        "worker_commands": sorted(worker_app.cli.commands),
        "worker_checkers": checkers,
        "celery": "celery" in worker_app.extensions,
        "shared_kinds": jobs.kinds_of(other) is jobs.kinds_of(worker_app),
        "other_kinds": sorted(jobs.kinds_of(other)),
    }, sys.stdout)
    """
)


def test_fresh_worker_app_knows_every_job_kind_and_command(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wiring.sqlite'}",
        "BROKER_URL": "memory://",
        "MEDIA_DIR": str(tmp_path / "media"),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    # Importing the modules registered nothing anywhere.
    assert out["after_imports"] == {"kinds": [], "checkers": 0}
    # The worker's app (built by create_app) has them all, through the packages' init_app.
    assert out["worker_kinds"] == JOB_KINDS
    assert set(CLI_COMMANDS) <= set(out["worker_commands"])
    assert out["worker_checkers"] == ["publishers.limits.target_findings"]
    assert out["celery"]
    # Each app has its own registry.
    assert out["other_kinds"] == JOB_KINDS and out["shared_kinds"] is False

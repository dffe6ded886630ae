"""`python -m tasks.healthcheck NAME`: the container healthcheck reuses /healthz's heartbeat check."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from common.db import utcnow
from tasks import healthcheck
from tasks.models import Heartbeat
from tasks.system import beat


def test_fresh_heartbeat_is_healthy(app, db_session):
    beat("scheduler")
    db_session.flush()
    assert healthcheck.check("scheduler")["ok"] is True
    assert healthcheck.check("worker") == {"ok": False, "last_seen": None}


def test_stale_heartbeat_is_unhealthy(app, db_session):
    beat("scheduler")
    db_session.flush()
    stale = app.config["SCHEDULER_HEARTBEAT_STALE_SECONDS"]
    db_session.get(Heartbeat, "scheduler").at = utcnow() - timedelta(seconds=stale + 5)
    db_session.flush()
    result = healthcheck.check("scheduler")
    assert result["ok"] is False and result["age_seconds"] > stale


def test_main_exit_code_and_output(app, monkeypatch, capsys):
    monkeypatch.setattr("app.create_app", lambda: app)
    assert healthcheck.main(["scheduler"]) == 1  # the test database has no committed heartbeat
    cap = capsys.readouterr()
    assert json.loads(cap.out) == {"scheduler": {"ok": False, "last_seen": None}}, cap.err
    with pytest.raises(SystemExit) as exc:
        healthcheck.main(["nonsense"])
    assert exc.value.code == 2

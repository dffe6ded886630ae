from __future__ import annotations

import sqlalchemy as sa

from auth.models import Role
from registry.models import Unit


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/units" in spec["paths"]


def test_not_found_envelope(api_as, make_user):
    response = api_as(make_user(Role.admin)).get("/api/v1/units/999999")
    assert response.status_code == 404
    assert set(response.json["error"]) == {"code", "message", "details"}
    assert response.json["error"]["code"] == "not_found"


def test_validation_envelope_and_nothing_written(api_as, make_user, db_session):
    client = api_as(make_user(Role.admin))
    before = db_session.scalar(sa.select(sa.func.count(Unit.id)))
    response = client.post("/api/v1/units", json={"name": "", "credit_code": "bad"})
    assert response.status_code == 422
    body = response.json["error"]
    assert body["code"] == "validation_error" and body["message"] == "请求参数校验失败"
    assert "credit_code" in str(body["details"])
    assert db_session.scalar(sa.select(sa.func.count(Unit.id))) == before


def test_role_is_checked(api_as, make_user):
    response = api_as(make_user(Role.operator)).post("/api/v1/units", json={"name": "无权新建的单位"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_pagination_bounds(api_as, make_user):
    response = api_as(make_user(Role.admin)).get("/api/v1/units?per_page=500")
    assert response.status_code == 422
    ok = api_as(make_user(Role.admin)).get("/api/v1/units?per_page=2&page=1")
    assert set(ok.json) == {"items", "total", "page", "per_page"}


def test_healthz_reports_each_part(client):
    response = client.get("/healthz")
    body = response.json
    assert set(body["checks"]) == {"database", "broker", "scheduler", "worker"}
    assert body["checks"]["database"]["ok"] is True
    # No scheduler runs in unit tests, so the service is degraded and says so.
    assert response.status_code == 503 and body["status"] == "degraded"

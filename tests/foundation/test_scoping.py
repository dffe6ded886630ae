"""An operator of unit A never sees unit B's objects (404/403 on every one)."""

from __future__ import annotations

from auth.models import Role


def test_units_scoped(api_as, make_user, make_unit):
    unit_a = make_unit("甲单位")
    child_a = make_unit("甲单位下属科室", parent=unit_a)
    unit_b = make_unit("乙单位")
    operator = make_user(Role.operator, unit=unit_a)
    client = api_as(operator)
    assert client.get(f"/api/v1/units/{unit_a.id}").status_code == 200
    assert client.get(f"/api/v1/units/{child_a.id}").status_code == 200
    assert client.get(f"/api/v1/units/{unit_b.id}").status_code == 404
    ids = {u["id"] for u in client.get("/api/v1/units?per_page=200").json["items"]}
    assert unit_a.id in ids and child_a.id in ids and unit_b.id not in ids


def test_auditor_sees_all_units(api_as, make_user, make_unit):
    unit_b = make_unit("乙单位2")
    auditor = make_user(Role.auditor)
    assert api_as(auditor).get(f"/api/v1/units/{unit_b.id}").status_code == 200

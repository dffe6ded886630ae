"""Hardening (issue #19): input that used to answer 500, date-time offsets, media types, body limits.

Each test names the defect it pins; all of them failed before the fix.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa

import jobs
from auth.models import Role
from extensions import db
from moderation import service
from moderation.models import Content
from tests.conftest import PASSWORD

BIG = 2**63  # one past SQLite's INTEGER and PostgreSQL's bigint
INT4 = 2**31  # one past PostgreSQL's integer (the id columns)


@pytest.fixture
def operator_api(api_as, make_user, make_unit, make_account):
    unit = make_unit()
    user = make_user(Role.operator, unit=unit)
    account = make_account(unit, "weibo", credentials=False)
    client = api_as(user)
    client.unit, client.account, client.user = unit, account, user
    return client


def _draft(client, **extra):
    body = {"title": "标题", "body": "示范县召开会议。", "target_ids": [client.account.id], **extra}
    # json.dumps escapes non-ASCII (and lone surrogates) as \uXXXX, as a browser's JSON.stringify does
    return client.post("/api/v1/contents", data=json.dumps(body), headers={"Content-Type": "application/json"})


# ----------------------------------------------------------------------------- publish_at


def test_far_future_publish_at_is_refused(operator_api):
    response = _draft(operator_api, publish_at="9999-12-31T23:59:59")
    assert response.status_code == 422
    assert "publish_at" in response.json["error"]["details"]["json"]


def test_contents_list_survives_a_stored_far_future_publish_at(operator_api, db_session):
    """A row saved before the bound existed must not take /contents down for the whole unit."""

    created = _draft(operator_api)
    assert created.status_code == 201
    content = db_session.get(Content, created.json["id"])
    content.publish_at = datetime(9999, 12, 31, 23, 59, 59)
    db_session.flush()
    listed = operator_api.get("/api/v1/contents")
    assert listed.status_code == 200
    assert listed.json["items"][0]["publish_at"].startswith("9999-12-31T23:59:59")
    assert operator_api.get(f"/api/v1/contents/{content.id}").status_code == 200
    page = operator_api.client
    assert page.post("/login", data={"username": operator_api.user.username, "password": PASSWORD}).status_code == 302
    for path in ("/contents", f"/contents/{content.id}", "/publishing/calendar"):
        assert page.get(path).status_code == 200, path


# ----------------------------------------------------------------------------- integers


@pytest.mark.parametrize("value", [INT4, BIG, 10**30])
def test_huge_ids_in_paths_are_not_found(operator_api, value):
    for path in (f"/api/v1/contents/{value}", f"/api/v1/units/{value}", f"/api/v1/jobs/{value}/file"):
        response = operator_api.get(path)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", [f"page={BIG}", f"per_page=10&page={2**40}", f"unit_id={BIG}", f"unit_id={INT4}"])
def test_huge_integers_in_queries_are_refused(operator_api, query):
    for path in ("/api/v1/contents", "/api/v1/jobs", "/api/v1/accounts"):
        response = operator_api.get(f"{path}?{query}")
        if "unit_id" in query and path == "/api/v1/jobs":
            continue  # no unit_id filter there (unknown query keys are ignored)
        assert response.status_code == 422, (path, response.json)


def test_huge_integers_in_bodies_are_refused(operator_api):
    response = _draft(operator_api, target_ids=[BIG])
    assert response.status_code == 422
    response = _draft(operator_api, unit_id=INT4)
    assert response.status_code == 422


# ----------------------------------------------------------------------------- JSON shape


def test_deeply_nested_json_is_refused_before_parsing(operator_api):
    for depth in (33, 1_000, 100_000):
        payload = "[" * depth + "]" * depth
        response = operator_api.post("/api/v1/contents", data=payload, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, depth
        assert response.json["error"]["code"] == "json_too_deep"


def test_moderately_nested_json_still_works(operator_api):
    overrides = {"weibo": {"text": "微博文案"}}
    assert _draft(operator_api, overrides=overrides).status_code == 201


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\udc00\ud800"])
def test_lone_surrogates_are_refused(operator_api, db_session, text):
    before = db_session.scalar(sa.select(sa.func.count(Content.id)))
    for body in ({"title": text}, {"overrides": {"weibo": {"text": text}}}, {"media": [{"name": text}]}):
        response = _draft(operator_api, **body)
        assert response.status_code == 422, body
        assert response.json["error"]["code"] == "invalid_text"
    assert db_session.scalar(sa.select(sa.func.count(Content.id))) == before


def test_surrogate_pairs_written_as_escapes_are_fine(operator_api):
    response = _draft(operator_api, title="\U0001f600 表情")  # json.dumps escapes it as a pair
    assert response.status_code == 201
    assert response.json["title"] == "\U0001f600 表情"


def test_lists_and_strings_are_bounded(operator_api):
    too_many = [{"name": f"f{i}.png", "sha256": "0" * 64} for i in range(51)]
    assert _draft(operator_api, media=too_many).status_code == 422
    assert _draft(operator_api, target_ids=list(range(1, 202))).status_code == 422
    assert _draft(operator_api, body="字" * 500_001).status_code == 422


def test_credential_fields_are_bounded(api_as, make_user, make_unit, make_account):
    unit = make_unit()
    account = make_account(unit, "weibo", credentials=False)
    admin = api_as(make_user(Role.admin))
    response = admin.client.put(
        f"/api/v1/accounts/{account.id}/credentials",
        json={"access_token": "x" * 4097},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert "access_token" in str(response.json["error"]["details"])


def test_request_body_size_is_bounded(app, operator_api):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit <= 32 * 1024 * 1024
    response = operator_api.post(
        "/api/v1/checks", data=b'{"text": "' + b"a" * (limit + 1) + b'"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_json_body_size_is_bounded_below_the_upload_limit(app, operator_api):
    big = app.config["MAX_JSON_BYTES"] + 1
    response = operator_api.post(
        "/api/v1/checks", data=b'{"text": "' + b"a" * big + b'"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


# ----------------------------------------------------------------------------- foreign keys


def test_unknown_unit_id_is_a_validation_error(operator_api, api_as, make_user):
    response = _draft(operator_api, unit_id=987_654)
    assert response.status_code in (404, 422)
    assert response.json["error"]["code"] in ("not_found", "validation_error", "invalid_reference")
    # An administrator who also writes sees every unit, so the scope check let any id through.
    writer = api_as(make_user(Role.admin, Role.operator))
    response = writer.post(
        "/api/v1/contents",
        data=json.dumps({"title": "标题", "body": "正文", "unit_id": 987_654}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (404, 422), response.json
    assert response.json["error"]["code"] != "internal_error"
    auditor = api_as(make_user(Role.auditor))
    response = auditor.post(
        "/api/v1/accounts",
        json={"platform": "weibo", "platform_uid": "uid-x", "name": "不存在的单位的账号", "unit_id": 987_654},
    )
    assert response.status_code in (404, 422), response.json
    assert response.json["error"]["code"] != "internal_error"


def test_foreign_key_violation_answers_422_not_500(app, operator_api, monkeypatch):
    """Whatever service forgets a check, the database's refusal becomes a 422 and nothing is written."""

    original = service.create_content

    def unchecked(data, actor):
        content = original(data, actor)
        content.policy_id = 987_654  # bypass the service's own check

        db.session.flush()
        return content

    monkeypatch.setattr(service, "create_content", unchecked)
    response = _draft(operator_api)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_reference"


# ----------------------------------------------------------------------------- date-times and media types


def _is_utc_z(value: str) -> bool:
    return value.endswith("Z") and datetime.fromisoformat(value).utcoffset().total_seconds() == 0


def test_every_datetime_carries_its_offset(operator_api, run_jobs):
    created = _draft(operator_api, publish_at="2030-01-02T08:00:00+08:00")
    assert created.status_code == 201
    body = created.json
    assert _is_utc_z(body["created_at"]) and _is_utc_z(body["updated_at"])
    assert body["publish_at"] == "2030-01-02T00:00:00Z"
    listed = operator_api.get("/api/v1/contents").json["items"][0]
    assert _is_utc_z(listed["created_at"])
    account = operator_api.get(f"/api/v1/accounts/{operator_api.account.id}").json
    assert _is_utc_z(account["created_at"])


def test_jobs_use_the_same_offset_as_everything_else(api_as, make_user):
    user = make_user(Role.auditor)
    job = jobs.create("ledger_export", user, {"format": "csv", "filters": {}})
    body = api_as(user).get(f"/api/v1/jobs/{job.id}").json
    assert _is_utc_z(body["created_at"])


def test_naive_input_is_read_as_utc_and_offsets_are_honoured(operator_api):
    naive = _draft(operator_api, publish_at="2030-01-02T00:00:00").json
    aware = _draft(operator_api, publish_at="2030-01-02T08:00:00+08:00").json
    assert naive["publish_at"] == aware["publish_at"] == "2030-01-02T00:00:00Z"


def test_spreadsheet_endpoints_are_documented_with_their_media_types(client):
    spec = client.get("/api/v1/openapi.json").json
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    paths = [p for p in spec["paths"] if p.endswith(".xlsx")]
    assert len(paths) >= 4
    for path in paths:
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert list(content) == [xlsx], path
    csv_doc = spec["paths"]["/api/v1/reports/accounts.csv"]["get"]["responses"]["200"]["content"]
    assert list(csv_doc) == ["text/csv"]


def test_csv_answer_has_one_charset(api_as, make_user):
    response = api_as(make_user(Role.auditor)).get("/api/v1/reports/accounts.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


# ----------------------------------------------------------------------------- list order index


def test_contents_list_reads_its_order_from_an_index(db_session):
    """GET /contents orders by (updated_at DESC, id DESC): an index serves it, no sort of whole rows."""

    indexes = sa.inspect(db_session.connection()).get_indexes("contents")
    assert ["updated_at", "id"] in [ix["column_names"] for ix in indexes]
    stmt = sa.select(Content).order_by(Content.updated_at.desc(), Content.id.desc()).limit(50)
    if db_session.bind.dialect.name == "sqlite":
        sql = str(stmt.compile(dialect=db_session.bind.dialect, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row[-1]) for row in db_session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
        assert "ix_contents_updated_at_id" in plan and "TEMP B-TREE" not in plan, plan

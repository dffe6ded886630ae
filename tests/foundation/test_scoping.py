"""An operator of unit A never sees unit B's objects (404 on every one); auditors only read publishing."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from moderation import review, service
from moderation.models import Content, ContentStatus
from moderation.service import content_hash
from platforms.models import AccountCredential
from publishers.models import Delivery, DeliveryStatus
from registry.models import Account
from tests.conftest import PASSWORD


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


# ----------------------------------------------------------------------------- deliveries and publishing

PUBLISHING_ENDPOINTS = [
    pytest.param("GET", "/api/v1/contents/{content}/deliveries", None, id="list-deliveries"),
    pytest.param("GET", "/api/v1/deliveries/{failed}", None, id="get-delivery"),
    pytest.param("POST", "/api/v1/deliveries/{failed}/retry", None, id="retry"),
    pytest.param("POST", "/api/v1/deliveries/{manual}/manual-done", {}, id="manual-done"),
    pytest.param("GET", "/api/v1/deliveries/{manual}/manual-package", None, id="manual-package"),
    pytest.param("POST", "/api/v1/contents/{content}/withdraw", {"reason": "误发，全部撤回"}, id="withdraw"),
    pytest.param("PUT", "/api/v1/accounts/{account}/credentials", {"access_token": "leak-me-not"}, id="credentials"),
]

PUBLISHING_PAGES = [
    pytest.param("GET", "/publishing/contents/{content}", None, id="page-deliveries"),
    pytest.param("POST", "/publishing/deliveries/{failed}/retry", {}, id="page-retry"),
    pytest.param("POST", "/publishing/deliveries/{manual}/manual-done", {}, id="page-manual-done"),
    pytest.param("GET", "/publishing/deliveries/{manual}/manual-package", None, id="page-manual-package"),
    pytest.param("POST", "/publishing/contents/{content}/withdraw", {"reason": "误发，全部撤回"}, id="page-withdraw"),
    pytest.param("POST", "/publishing/accounts/{account}/credentials", {"access_token": "x"}, id="page-credentials"),
]


@pytest.fixture
def published(db_session, make_unit, make_user, make_account):
    """Unit A's partly-failed content: one failed delivery (retryable by hand), one waiting for manual work."""

    unit_a = make_unit(f"甲发布单位{uuid.uuid4().hex[:4]}")
    unit_b = make_unit(f"乙发布单位{uuid.uuid4().hex[:4]}")
    operator_a = make_user(Role.operator, unit=unit_a)

    weibo, douyin = (make_account(unit_a, p, credentials=False) for p in ("weibo", "douyin"))
    content = Content(
        unit_id=unit_a.id,
        author_id=operator_a.id,
        title="示范县召开秋季安全生产工作会议",
        body_html="<p>会议部署了冬季防火等重点工作。</p>",
        body_text="会议部署了冬季防火等重点工作。",
        media=[],
        status=ContentStatus.partly_failed,
    )
    content.targets = [weibo, douyin]
    db_session.add(content)
    db_session.flush()
    content.content_hash = content.approved_hash = content_hash(content)
    content.approved_version = content.version

    def delivery(acc: Account, status: DeliveryStatus, code: str) -> Delivery:
        row = Delivery(
            content_id=content.id,
            version=content.version,
            account_id=acc.id,
            status=status,
            attempts=1,
            idempotency_key=uuid.uuid4().hex,
            content_hash=content.approved_hash,
            last_error_code=code,
            retryable=False,
        )
        db_session.add(row)
        return row

    failed = delivery(weibo, DeliveryStatus.failed, "content_rejected")
    manual = delivery(douyin, DeliveryStatus.manual, "manual_publish")
    db_session.commit()
    return SimpleNamespace(
        unit_a=unit_a,
        unit_b=unit_b,
        operator_a=operator_a,
        content=content,
        account=weibo,
        failed=failed,
        manual=manual,
        ids={"content": content.id, "failed": failed.id, "manual": manual.id, "account": weibo.id},
    )


def _snapshot(db_session, published):
    db_session.expire_all()
    return {
        "content": published.content.status,
        "withdraw_reason": published.content.withdraw_reason,
        "failed": (published.failed.status, published.failed.attempts, published.failed.next_attempt_at),
        "manual": (published.manual.status, published.manual.sent_at, published.manual.manual_done_by_id),
        "credentials": db_session.scalar(
            sa.select(sa.func.count())
            .select_from(AccountCredential)
            .where(AccountCredential.account_id == published.account.id)
        ),
        # Tokens and logins the test itself causes are not changes to unit A's objects.
        "audit": db_session.scalars(
            sa.select(AuditEntry.id)
            .where(AuditEntry.action.not_like("api_token:%"), AuditEntry.action.not_like("user:%"))
            .order_by(AuditEntry.id)
        ).all(),
    }


def _call(client, headers, method, path, body):
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return client.open(path, method=method, **kwargs)


@pytest.mark.parametrize(("method", "path", "body"), PUBLISHING_ENDPOINTS)
def test_other_unit_operator_gets_404_on_publishing_endpoints(
    client, db_session, make_user, api_as, published, method, path, body
):
    url = path.format(**published.ids)
    api = api_as(make_user(Role.operator, unit=published.unit_b))
    before = _snapshot(db_session, published)
    response = _call(client, api.headers, method, url, body)
    assert response.status_code == 404, response.json
    assert response.json["error"]["code"] == "not_found"
    assert "leak-me-not" not in response.get_data(as_text=True)
    assert _snapshot(db_session, published) == before


@pytest.mark.parametrize(("method", "path", "body"), PUBLISHING_ENDPOINTS)
def test_same_requests_reach_unit_a_operator(client, db_session, api_as, published, method, path, body):
    """Control: the same URLs exist and are in scope for unit A (so the 404 above is the scope)."""
    api = api_as(published.operator_a)
    response = _call(client, api.headers, method, path.format(**published.ids), body)
    assert response.status_code != 404, response.json
    expected = 403 if "credentials" in path else 200
    assert response.status_code == expected, response.json


@pytest.mark.parametrize(("method", "path", "form"), PUBLISHING_PAGES)
def test_other_unit_operator_gets_404_on_publishing_pages(client, db_session, make_user, published, method, path, form):
    user = make_user(Role.operator, unit=published.unit_b)
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    before = _snapshot(db_session, published)
    response = client.open(path.format(**published.ids), method=method, data=form)
    assert response.status_code == 404
    assert _snapshot(db_session, published) == before


# ----------------------------------------------------------------------------- auditors are read-only here


@pytest.fixture
def draft(db_session, published):
    content = service.create_content(
        {
            "title": "示范县开展冬季防火宣传",
            "body": "<p>示范县开展冬季防火宣传活动。</p>",
            "disclosure": "active",
            "kind": "news",
            "target_ids": [published.account.id],
        },
        published.operator_a,
    )
    in_review = service.create_content(
        {
            "title": "示范县开展冬季安全检查",
            "body": "<p>示范县开展冬季安全检查。</p>",
            "disclosure": "active",
            "kind": "news",
            "target_ids": [published.account.id],
        },
        published.operator_a,
    )
    review.submit(in_review, published.operator_a)
    db_session.commit()
    return SimpleNamespace(draft=content, in_review=in_review)


AUDITOR_REFUSED = [
    pytest.param(
        "POST",
        "/api/v1/contents",
        {
            "title": "网信办代拟稿件",
            "body": "<p>正文</p>",
            "disclosure": "active",
            "kind": "news",
            "target_ids": ["{account}"],
        },
        id="create",
    ),
    pytest.param("PATCH", "/api/v1/contents/{draft}", {"title": "网信办改的标题"}, id="patch"),
    pytest.param("POST", "/api/v1/contents/{draft}/submit", None, id="submit"),
    pytest.param("POST", "/api/v1/contents/{in_review}/reviews", {"decision": "approve"}, id="review"),
    pytest.param("POST", "/api/v1/deliveries/{failed}/retry", None, id="retry"),
    pytest.param("POST", "/api/v1/deliveries/{manual}/manual-done", {}, id="manual-done"),
    pytest.param("POST", "/api/v1/contents/{content}/withdraw", {"reason": "网信办要求撤回"}, id="withdraw"),
    pytest.param("PUT", "/api/v1/accounts/{account}/credentials", {"access_token": "x"}, id="credentials"),
]


def _content_state(drafts):
    return [(c.status, c.title, c.version, len(c.reviews)) for c in (drafts.draft, drafts.in_review)]


@pytest.mark.parametrize(("method", "path", "body"), AUDITOR_REFUSED)
def test_auditor_cannot_write_content_or_deliveries(
    client, db_session, make_user, api_as, published, draft, method, path, body
):
    ids = {**published.ids, "draft": draft.draft.id, "in_review": draft.in_review.id}
    if body is not None:
        body = {k: [ids[v.strip("{}")] for v in val] if k == "target_ids" else val for k, val in body.items()}
    api = api_as(make_user(Role.auditor))
    contents_before = db_session.scalar(sa.select(sa.func.count()).select_from(Content))
    before = {**_snapshot(db_session, published), "drafts": _content_state(draft)}
    response = _call(client, api.headers, method, path.format(**ids), body)
    assert response.status_code == 403, response.json
    assert response.json["error"]["code"] in ("forbidden", "wrong_role")
    after = {**_snapshot(db_session, published), "drafts": _content_state(draft)}
    assert after == before
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Content)) == contents_before
    # …while reading stays open to the auditor.
    assert api.get(f"/api/v1/contents/{draft.draft.id}").status_code == 200
    assert api.get(f"/api/v1/deliveries/{published.failed.id}").status_code == 200

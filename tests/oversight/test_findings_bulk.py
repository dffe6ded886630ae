# ruff: noqa: F811 - the fixtures (unit, approve, author) are imported and then requested
"""New findings written in bulk (``upsert_many``'s rows straight to the driver: COPY on PostgreSQL,
one executemany on SQLite) are the findings the one-by-one path makes, carry their audit entries
through the inspection, and go through the same lifecycle afterwards; the tamper check's batch of
renderings gives each delivery what rendering it alone gives."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from audit.models import AuditEntry
from common.db import utcnow
from oversight import findings as findings_service
from oversight.findings import FindingInput
from oversight.inspection import service, sources, trace
from oversight.models import Finding, FindingKind, FindingStatus
from publishers.models import Delivery, DeliveryStatus
from tests.oversight.test_inspection import fresh_rate_limiter, plant, publish, unit  # noqa: F401 - fixtures
from tests.publishers.test_pipeline import approve, author  # noqa: F401 - fixtures

COLUMNS = ("kind", "status", "account_id", "unit_id", "discovered_id", "confidence", "evidence", "first_seen_at")


def _inputs(prefix: str, account) -> list[FindingInput]:  # type: ignore[no-untyped-def]
    return [
        FindingInput(
            kind=FindingKind.post_check_hit,
            fingerprint=f"{prefix}:post_check_hit:account={account.id}:post={i}",
            evidence={
                "message": f"账号「{account.name}」已发布内容命中错敏词：第{i}条",
                "text": '庆祝中华人民共合国成立\n引号"与反斜杠\\也原样保存',
                "hits": [{"rule": "r", "start": i, "end": i + 2, "severity": "block"}],
                "hit_keys": [f"r:body:{i}:{i + 2}"],
                "nothing": None,
            },
            confidence=0.87654 if i % 2 else 1.5,  # rounded; clamped to 1.0
            account_id=account.id,
            unit_id=account.unit_id,
        )
        for i in range(5)
    ]


def _row(f: Finding) -> tuple:  # type: ignore[type-arg]
    return tuple(getattr(f, c) for c in COLUMNS)


def test_bulk_created_findings_equal_the_one_by_one_path(db_session, make_unit, make_account):
    unit = make_unit("批量线索测试县人民政府", region="批量线索测试县")
    account = make_account(unit, "weibo", name="批量线索测试县发布")
    now = utcnow().replace(microsecond=0)

    bulk = findings_service.upsert_many(_inputs("a", account), now, load_created=False)
    assert bulk.created == [] and [n.fingerprint for n in bulk.new] == [i.fingerprint for i in _inputs("a", account)]
    one_by_one = [findings_service.upsert_many([inp], now) for inp in _inputs("b", account)]
    assert [len(r.created) for r in one_by_one] == [1] * 5
    assert [r.counts()["created"] for r in one_by_one] == [1] * 5

    db_session.expire_all()
    made = {f.fingerprint: f for f in db_session.scalars(sa.select(Finding))}
    for n, r in zip(bulk.new, one_by_one, strict=True):
        a, b = made[n.fingerprint], r.created[0]
        assert a.id == n.id and (n.kind, n.account_id, n.unit_id) == (a.kind, a.account_id, a.unit_id)
        assert _row(a) == _row(b)
        assert a.status is FindingStatus.open and a.evidence["text"].endswith('引号"与反斜杠\\也原样保存')
    assert {made[n.fingerprint].confidence for n in bulk.new} == {0.877, 1.0}


def test_bulk_created_findings_are_found_again_and_keep_their_lifecycle(db_session, make_unit, make_account):
    unit = make_unit("批量线索复查县人民政府", region="批量线索复查县")
    account = make_account(unit, "weibo", name="批量线索复查县发布")
    now = utcnow()
    first = findings_service.upsert_many(_inputs("c", account), now, load_created=False)
    closed = db_session.get(Finding, first.new[0].id)
    assert findings_service.resolve_by_system(closed, "测试：条件已消失", actor_label="system:test")

    again = findings_service.upsert_many(_inputs("c", account), now + timedelta(hours=1))
    assert again.new == [] and again.created == []
    assert len(again.updated) == 4 and again.unchanged_closed == [closed]  # same evidence: stays closed
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Finding)) == 5


def test_the_inspection_audits_every_finding_it_creates_in_bulk(db_session, make_unit, make_account):
    unit = make_unit("批量巡检审计县人民政府", region="批量巡检审计县")
    accounts = [make_account(unit, "douyin", name=f"批量巡检审计县{i}", credentials=False) for i in range(3)]
    now = utcnow()

    def reading(a):  # type: ignore[no-untyped-def]
        seen = [
            sources.SeenPost(f"{a.platform_uid}-{i}", now - timedelta(hours=i), "", text, f"https://x.example/{i}")
            for i, text in enumerate(("普通的一条", "庆祝中华人民共合国成立", "联系电话13800138000咨询"))
        ]
        return sources.Reading(a.id, "import", now, True, sources.SeenProfile(name=a.name), tuple(seen))

    outcomes = service.apply_many([reading(a) for a in accounts], now)
    db_session.commit()
    made = list(db_session.scalars(sa.select(Finding).where(Finding.account_id.in_([a.id for a in accounts]))))
    assert {f.kind for f in made} >= {FindingKind.unreviewed_post, FindingKind.post_check_hit}
    assert sorted(i for o in outcomes for i in o.created) == sorted(f.id for f in made)
    entry = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "inspection:findings").order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None and entry.hash
    assert sorted((c["id"], c["kind"], c["fingerprint"]) for c in entry.after["created"]) == sorted(
        (f.id, f.kind.value, f.fingerprint) for f in made
    )
    hit = next(f for f in made if f.kind is FindingKind.post_check_hit)
    assert "账号「批量巡检审计县" in hit.evidence["message"] and hit.evidence["hits"]


def test_a_batch_renders_a_content_once_and_each_delivery_gets_its_own_rendering(
    db_session, sandbox, unit, make_account, approve
):
    """Two accounts publish one content (their deliveries' links differ): with the batch's cache the
    second comes from the first's rendering, and both equal what rendering each alone gives."""
    accounts = [make_account(unit, "weibo", name=f"{unit.name}{i}") for i in range(2)]
    for a in accounts:
        plant(sandbox, "weibo", a.platform_uid, name=a.name, subject=unit.name)
    publish(db_session, approve, accounts)
    deliveries = list(
        db_session.scalars(
            sa.select(Delivery).where(Delivery.status == DeliveryStatus.sent).order_by(Delivery.id).limit(2)
        )
    )
    assert len(deliveries) == 2 and deliveries[0].idempotency_key != deliveries[1].idempotency_key
    cache: trace.RenderCache = {}
    cached = [trace.expected_comparable(d.id, "weibo", cache) for d in deliveries]
    alone = [trace.expected_comparable(d.id, "weibo") for d in deliveries]
    assert cached == alone and cached[0] and len(cache) == 1

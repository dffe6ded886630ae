"""Government website feeds over real HTTP against the sandbox's sample site: a new item → one
draft, the same item again → nothing, 304 → nothing, a malformed feed → a Chinese error on its
status while the other feeds go on; a policy and its 解读 arriving together are linked (三同步)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from demo import sandbox_seed, seed
from intake import feeds
from intake.models import FeedItem, SiteFeed
from moderation.models import Content, ContentKind, ContentStatus, Disclosure
from sandbox.__main__ import _seed
from tasks.intake import poll_feeds
from tests.registry.test_pages import login


@pytest.fixture
def site(sandbox, app, monkeypatch):
    monkeypatch.setitem(app.config, "FEED_LOOPBACK_ONLY", True)
    monkeypatch.setitem(app.config, "FEED_TIMEOUT_SECONDS", 5)
    return sandbox


@pytest.fixture
def office(make_unit, make_user, api_as):
    unit = make_unit("订阅县人民政府")
    operator = make_user(Role.operator, unit=unit)
    return {"unit": unit, "operator": operator, "api": api_as(operator)}


def add_item(site: Any, **body: Any) -> dict[str, Any]:
    return site.call("POST", "/_sandbox/site/items", json=body)


def add_feed(office: dict[str, Any], site: Any, column: str, fmt: str = "rss", **extra: Any) -> dict[str, Any]:
    path = f"/site/{column}/rss.xml" if fmt == "rss" else f"/site/{column}/feed.json"
    response = office["api"].post(
        "/api/v1/intake/feeds", json={"name": f"栏目{column}", "url": site.url + path, "format": fmt, **extra}
    )
    assert response.status_code == 201, response.json
    return response.json


def poll(office: dict[str, Any], feed_id: int) -> dict[str, Any]:
    response = office["api"].post(f"/api/v1/intake/feeds/{feed_id}/poll")
    assert response.status_code == 200, response.json
    return response.json


def drafts(db_session: Any, unit: Any) -> list[Content]:
    return list(db_session.scalars(sa.select(Content).where(Content.unit_id == unit.id).order_by(Content.id)))


@pytest.mark.parametrize("fmt", ["rss", "json"])
def test_new_item_once_then_nothing_then_304(site, office, db_session, fmt):
    feed = add_feed(office, site, "zwgk")
    if fmt == "json":
        feed = (
            office["api"]
            .patch(
                f"/api/v1/intake/feeds/{feed['id']}", json={"format": "json", "url": site.url + "/site/zwgk/feed.json"}
            )
            .json
        )
    add_item(
        site, column="zwgk", title="示范县2026年冬季供暖公告", summary="全县于11月15日起供暖。", category="通知公告"
    )

    first = poll(office, feed["id"])
    assert first["new_items"] == 1 and first["result"]["status"] == "ok"
    (draft,) = drafts(db_session, office["unit"])
    assert draft.status is ContentStatus.draft and draft.title == "示范县2026年冬季供暖公告"
    assert draft.summary == "全县于11月15日起供暖。"
    assert "来源：订阅县人民政府政府网站·栏目zwgk" in draft.body_text
    item = db_session.scalar(sa.select(FeedItem).where(FeedItem.content_id == draft.id))
    assert item.link and item.link in draft.body_html
    assert draft.disclosure is Disclosure.active

    # The same item again (the feed changed: another column item elsewhere forces a 200).
    site.call("POST", "/_sandbox/site/columns/zwgk/malformed", json={"on": False})  # bumps the ETag
    again = poll(office, feed["id"])
    assert again["result"]["status"] == "ok" and again["new_items"] == 0
    assert len(drafts(db_session, office["unit"])) == 1

    # Nothing changed since: a conditional GET answered 304.
    stats_before = site.call("GET", "/_sandbox/site/stats")["columns"]["zwgk"]["not_modified"]
    unchanged = poll(office, feed["id"])
    assert unchanged["result"]["status"] == "not_modified" and unchanged["new_items"] == 0
    assert site.call("GET", "/_sandbox/site/stats")["columns"]["zwgk"]["not_modified"] == stats_before + 1
    assert len(drafts(db_session, office["unit"])) == 1
    assert unchanged["feed"]["status_label"] == "正常（无更新）"


def test_disclosure_from_the_item_or_the_feed_default(site, office, db_session):
    feed = add_feed(office, site, "yzgk", default_disclosure="on_request")
    add_item(site, column="yzgk", title="依申请公开条目", disclosure="依申请公开")
    add_item(site, column="yzgk", title="主动公开条目", disclosure="主动公开")
    poll(office, feed["id"])
    by_title = {c.title: c for c in drafts(db_session, office["unit"])}
    assert by_title["依申请公开条目"].disclosure is Disclosure.on_request
    assert "条目标注" in by_title["依申请公开条目"].disclosure_reason
    assert by_title["主动公开条目"].disclosure is Disclosure.active


def test_malformed_feed_gets_a_chinese_error_and_other_feeds_are_fine(site, office, db_session):
    good = add_feed(office, site, "tzgg")
    bad = add_feed(office, site, "broken")
    bad_json = add_feed(office, site, "brokenjson", fmt="json")
    site.call("POST", "/_sandbox/site/columns/broken/malformed", json={"on": True})
    site.call("POST", "/_sandbox/site/columns/brokenjson/malformed", json={"on": True})
    add_item(site, column="tzgg", title="通知公告一则")
    add_item(site, column="broken", title="不会被读到")

    outcome = poll_feeds.run()
    assert outcome["errors"] == 2 and outcome["new_items"] == 1

    bad_feed = db_session.get(SiteFeed, bad["id"])
    assert bad_feed.last_status == "error" and "RSS/Atom" in bad_feed.last_error and "无法解析" in bad_feed.last_error
    assert "JSON" in db_session.get(SiteFeed, bad_json["id"]).last_error
    assert db_session.get(SiteFeed, good["id"]).last_status == "ok"
    assert [c.title for c in drafts(db_session, office["unit"])] == ["通知公告一则"]
    shown = office["api"].get(f"/api/v1/intake/feeds/{bad['id']}").json
    assert shown["status_label"] == "出错" and shown["last_error"] == bad_feed.last_error


def test_policy_and_its_interpretation_arriving_together_are_linked(site, office, db_session):
    feed = add_feed(office, site, "zcwj")
    add_item(site, column="zcwj", title="关于印发《示范县供暖管理办法》的通知", category="政策文件", guid="P-1")
    add_item(site, column="zcwj", title="关于《示范县供暖管理办法》的解读", category="政策解读", policy_guid="P-1")
    assert poll(office, feed["id"])["new_items"] == 2
    by_title = {c.title: c for c in drafts(db_session, office["unit"])}
    policy = by_title["关于印发《示范县供暖管理办法》的通知"]
    interpretation = by_title["关于《示范县供暖管理办法》的解读"]
    assert policy.kind is ContentKind.policy
    assert interpretation.kind is ContentKind.interpretation and interpretation.policy_id == policy.id
    items = office["api"].get(f"/api/v1/intake/feeds/{feed['id']}/items").json["items"]
    linked = next(i for i in items if i["kind"] == "interpretation")
    assert linked["policy_content_id"] == policy.id and "供暖管理办法" in linked["policy_title"]


def test_a_duplicate_link_under_another_feed_is_not_taken_again(site, office, db_session):
    rss = add_feed(office, site, "dup")
    js = add_feed(office, site, "dup", fmt="json")
    add_item(site, column="dup", title="同一条内容")
    poll(office, rss["id"])
    assert poll(office, js["id"])["new_items"] == 0
    assert len(drafts(db_session, office["unit"])) == 1


def test_feed_urls_are_http_only_and_loopback_only_here(site, office, db_session):
    response = office["api"].post("/api/v1/intake/feeds", json={"name": "坏地址", "url": "file:///etc/passwd"})
    assert response.status_code == 422
    feed = office["api"].post("/api/v1/intake/feeds", json={"name": "外网", "url": "http://192.0.2.10/rss.xml"}).json
    result = poll(office, feed["id"])
    assert result["result"]["status"] == "error" and "回环" in result["result"]["error"]


def test_disable_edit_and_audit(site, office, db_session):
    feed = add_feed(office, site, "audit")
    office["api"].patch(f"/api/v1/intake/feeds/{feed['id']}", json={"enabled": False})
    refused = office["api"].post(f"/api/v1/intake/feeds/{feed['id']}/poll")
    assert refused.status_code == 409
    actions = set(
        db_session.scalars(
            sa.select(AuditEntry.action).where(
                AuditEntry.object_type == "site_feeds", AuditEntry.object_id == str(feed["id"])
            )
        )
    )
    assert {"site_feed:create", "site_feed:disable"} <= actions


def test_other_units_feeds_are_hidden(site, office, make_user, make_unit, api_as):
    feed = add_feed(office, site, "scope")
    stranger = api_as(make_user(Role.operator, unit=make_unit("别的县")))
    assert stranger.get(f"/api/v1/intake/feeds/{feed['id']}").status_code == 404
    assert stranger.get("/api/v1/intake/feeds").json["items"] == []
    reviewer = api_as(make_user(Role.reviewer_1, unit=office["unit"]))
    assert (
        reviewer.post("/api/v1/intake/feeds", json={"name": "x", "url": site.url + "/site/x/rss.xml"}).status_code
        == 403
    )


def test_feed_pages_in_chinese(site, office, client, db_session):
    feed = add_feed(office, site, "page")
    add_item(site, column="page", title="页面上的条目")
    login(client, office["operator"])
    response = client.post(f"/intake/feeds/{feed['id']}", data={"action": "poll"})
    assert response.status_code == 302
    text = client.get(f"/intake/feeds/{feed['id']}").get_data(as_text=True)
    assert "页面上的条目" in text and "正常" in text and "立即抓取" in text
    listing = client.get("/intake/feeds").get_data(as_text=True)
    assert "栏目page" in listing and "添加订阅源" in listing
    created = client.post("/intake/feeds", data={"name": "新栏目", "url": "ftp://x", "format": "rss"})
    assert created.status_code == 422 and "http://" in created.get_data(as_text=True)


def test_demo_seed_brings_a_feed_whose_first_poll_links_policy_and_interpretation(site, db_session, tmp_path):
    """`make run`: seed-demo registers the 政策文件 column; the sandbox seed puts a policy and its
    解读 on the sample site (demo.SITE_ITEMS); one poll makes two linked drafts, a restart adds none."""
    seed()
    db_session.flush()
    path = tmp_path / "sandbox-seed.json"
    path.write_text(json.dumps(sandbox_seed(), ensure_ascii=False), encoding="utf-8")
    _seed(site.app, str(path))
    _seed(site.app, str(path))  # a restart with --state: nothing doubles
    feed = db_session.scalar(sa.select(SiteFeed).where(SiteFeed.name == "政策文件"))
    assert feed.url.startswith(site.url)
    assert feeds.poll(feed).new_items == 2
    interpretation = db_session.scalar(sa.select(Content).where(Content.title.like("关于《%》的解读")))
    assert interpretation.kind is ContentKind.interpretation
    assert interpretation.policy.title == "关于印发《示范县城区集中供热管理办法》的通知"


def test_flask_intake_poll_says_when_there_is_no_feed(app: Any, db_session: Any) -> None:
    """A fresh install (no feed registered) gets a sentence, not silence."""
    result = app.test_cli_runner().invoke(args=["intake", "poll"])
    assert result.exit_code == 0
    assert "没有启用的政府网站订阅源" in result.output

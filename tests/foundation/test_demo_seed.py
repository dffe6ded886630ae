"""`make run` starts again whatever accounts the registry has gained: the demo's sandbox seed
and the sandbox accept accounts without a 认证主体 or a platform uid (issue #19)."""

from __future__ import annotations

import json
import os
import re

import requests
import sqlalchemy as sa

from auth.models import User
from common.db import utcnow
from demo import FIRST_SWEEP_DELAY, sandbox_seed, seed
from devkit import processes, services
from notify import todo
from oversight.inspection import service as inspection
from oversight.interaction.cli import poll_one
from oversight.interaction.models import InteractionItem
from oversight.models import Finding, FindingKind
from registry.models import Account, AccountStatus, Platform
from reposts.models import RepostTask
from sandbox import create_sandbox_app
from sandbox.__main__ import _seed
from sandbox.common import EXTENSION_KEY
from tasks.inspection import inspect_batch
from tasks.interaction import interaction_poll


def test_sandbox_accepts_null_optional_fields():
    client = create_sandbox_app({}).test_client()
    answer = client.post(
        "/_sandbox/accounts",
        json={"platform": "weibo", "uid": "5550001", "name": "无主体", "subject": None, "description": None},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["account"]["subject"] == ""
    bad = client.post("/_sandbox/accounts", json={"platform": "weibo", "uid": "5550002", "subject": 3})
    assert bad.status_code == 400  # a wrong type is still refused


def test_seed_file_with_incomplete_accounts_starts_the_sandbox(app, db_session, make_unit, tmp_path):
    seed()
    unit = make_unit("缺项单位")
    for uid, subject in (("7770001", None), (None, "缺项单位")):
        db_session.add(
            Account(
                platform=Platform.weibo,
                platform_uid=uid,
                name=f"缺项账号{uid}",
                unit_id=unit.id,
                status=AccountStatus.applying,
                verified_subject=subject,
            )
        )
    db_session.flush()
    bodies = sandbox_seed()
    assert all(body["uid"] for body in bodies)
    assert all(isinstance(body.get("subject", ""), str) for body in bodies)  # never null
    path = tmp_path / "sandbox-seed.json"
    path.write_text(json.dumps(bodies, ensure_ascii=False), encoding="utf-8")

    sandbox = create_sandbox_app({})
    _seed(sandbox, str(path))  # raised ValueError ("subject 必须是字符串") before the fix
    state = sandbox.extensions[EXTENSION_KEY]
    created = state.account("weibo", "7770001")
    assert created is not None and created.subject == "" and created.name == "缺项账号7770001"
    assert len([a for a in state.accounts.values() if a.name.startswith("缺项账号")]) == 1


def test_demo_seed_brings_comments_messages_and_an_app_post(app, db_session, sandbox, tmp_path):
    """`make run`'s sandbox seed: the inbox has comments after a poll, the timeline shows them,
    and an inspection run raises unreviewed_post for the post made in the Weibo app."""

    seed()
    db_session.flush()
    path = tmp_path / "sandbox-seed.json"
    path.write_text(json.dumps(sandbox_seed(), ensure_ascii=False), encoding="utf-8")
    _seed(sandbox.app, str(path))
    _seed(sandbox.app, str(path))  # again (a restart with --state): nothing doubles

    comments = sandbox.call("GET", "/_sandbox/comments")["comments"]
    assert len(comments) == 3 and {c["platform"] for c in comments} == {"weibo", "douyin"}
    assert len(sandbox.call("GET", "/_sandbox/messages")["messages"]) == 2
    app_posts = [p for p in sandbox.posts("weibo") if p["source"] == "app"]
    assert [p["uid"] for p in app_posts] == ["sfx_weibo_001"]
    page = requests.get(f"{sandbox.url}/_sandbox/timeline/weibo?uid=sfx_weibo_001", timeout=10).text
    assert "请问城东片区几点恢复供水？" in page and "想咨询一下医保异地备案怎么办理" in page

    weibo = db_session.scalar(sa.select(Account).where(Account.platform_uid == "sfx_weibo_001"))
    poll_one(weibo.id)
    texts = set(db_session.scalars(sa.select(InteractionItem.text).where(InteractionItem.account_id == weibo.id)))
    assert texts == {"请问城东片区几点恢复供水？", "学校门口的红绿灯坏了一周了，谁来管？"}

    assert inspection.inspect_account(weibo.id).result == "checked"
    unreviewed = db_session.scalars(
        sa.select(Finding).where(Finding.account_id == weibo.id, Finding.kind == FindingKind.unreviewed_post)
    ).all()
    listed = json.dumps([f.evidence for f in unreviewed], ensure_ascii=False)
    assert app_posts[0]["post_id"] in listed


def test_demo_seed_issues_a_repost_task_the_units_have_to_do(app, db_session):
    seed()
    db_session.flush()
    task = db_session.scalars(sa.select(RepostTask)).one()
    assert task.source_name == "中国政府网" and task.workdays == 5 and task.deadline_at > utcnow()
    units = {t.unit.name for t in task.targets}
    assert units == {"示范县教育局", "示范县卫生健康局", "示范县城关镇人民政府"} and len(task.targets) == 6
    edu_operator = db_session.scalars(sa.select(User).where(User.username == "edu_operator")).one()
    assert db_session.scalars(todo._reposts(edu_operator)).all() == [task]
    assert seed() is False  # idempotent: no second task
    assert db_session.scalar(sa.select(sa.func.count()).select_from(RepostTask)) == 1


def test_demo_accounts_have_distinct_filing_numbers(app, db_session):
    """The demo 台账 reads like a real one: every account its own 备案编号 (no three SFX-WECHAT-001,
    no SFX-WEIBO-ibo cut from the platform ID)."""
    seed()
    db_session.flush()
    numbers = list(db_session.scalars(sa.select(Account.filing_number)))
    assert len(numbers) == len(set(numbers)) >= 9
    assert all(re.fullmatch(r"SFX-[A-Z]+-(\d{3}|OLD)", n) for n in numbers), numbers


def _open_post_links(base: str, platform: str, uid: str) -> list[str]:
    """查看原文 for each post on an account's timeline: the links it gives, each opened."""
    timeline = requests.get(f"{base}/_sandbox/timeline/{platform}?uid={uid}", timeout=10)
    assert timeline.status_code == 200
    links = sorted(set(re.findall(r'href="([^"]*/_sandbox/p/[^"]+)"', timeline.text)))
    for link in links:
        page = requests.get(link, timeout=10)
        assert page.status_code == 200, link
    return links


def test_seeded_posts_link_to_the_port_the_sandbox_serves_on(app, db_session, tmp_path):
    """`make run`'s sandbox on its own port: every seeded Douyin/Weibo post's link opens
    (they pointed to http://localhost/… without the port before)."""
    seed()
    db_session.flush()
    path = tmp_path / "sandbox-seed.json"
    path.write_text(json.dumps(sandbox_seed(), ensure_ascii=False), encoding="utf-8")
    port = services.free_port()
    base = f"http://127.0.0.1:{port}"
    group = processes.ProcessGroup(dict(os.environ), tmp_path)
    try:
        group.start_sandbox(port, "--seed", str(path), "--state", str(tmp_path / "sandbox.json"))
        posts = requests.get(f"{base}/_sandbox/posts", timeout=10).json()["posts"]
        assert {p["platform"] for p in posts} >= {"douyin", "weibo"}
        for post in posts:
            assert post["url"].startswith(f"{base}/_sandbox/p/"), post["url"]
        douyin = next(p for p in posts if p["platform"] == "douyin")
        weibo = next(p for p in posts if p["platform"] == "weibo")
        for post in (douyin, weibo):
            page = requests.get(post["url"], timeout=10)
            assert page.status_code == 200 and post["text"][:10] in page.text
            assert _open_post_links(base, post["platform"], post["uid"])
    finally:
        group.stop_all()
    assert "Traceback" not in group.logs()


def test_posts_seeded_before_a_restart_on_another_port_still_open(app, db_session, sandbox, tmp_path):
    """A state file written by a sandbox on another address: the links follow the one it serves on now."""
    seed()
    db_session.flush()
    path = tmp_path / "sandbox-seed.json"
    path.write_text(json.dumps(sandbox_seed(), ensure_ascii=False), encoding="utf-8")
    _seed(sandbox.app, str(path), "http://127.0.0.1:1")
    post = sandbox.posts("douyin")[0]
    assert post["url"].startswith(f"{sandbox.url}/_sandbox/p/douyin/")
    assert requests.get(post["url"], timeout=10).status_code == 200
    assert _open_post_links(sandbox.url, "douyin", post["uid"])


def test_demo_first_sweep_fills_the_findings_page_on_the_worker(app, db_session, sandbox, tmp_path, monkeypatch):
    """`make run` runs `seed-demo --first-sweep`: the worker (not the start-up) gets one inspection
    and one interaction poll, and running them gives the office findings and the inbox comments.
    A plain `seed-demo` (browser tests) queues nothing; a production install never seeds."""
    queued: list[tuple[object, tuple, dict]] = []
    for task in (inspect_batch, interaction_poll):
        monkeypatch.setattr(task, "apply_async", lambda args, _t=task, **kw: queued.append((_t, args, kw)))
    seed_file = tmp_path / "sandbox-seed.json"
    monkeypatch.setitem(app.config, "SANDBOX_SEED_FILE", str(seed_file))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert queued == []
    result = runner.invoke(args=["seed-demo", "--first-sweep"])
    assert result.exit_code == 0, result.output
    assert "已安排首次巡检与互动拉取" in result.output
    assert {t for t, _, _ in queued} == {inspect_batch, interaction_poll}
    assert all(kw["countdown"] == FIRST_SWEEP_DELAY for _, _, kw in queued)  # the sandbox starts meanwhile
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Finding)) == 0  # nothing ran at start-up

    _seed(sandbox.app, str(seed_file), sandbox.url)
    for task, args, _ in queued:
        task.run(*args)  # what the worker does
    kinds = set(db_session.scalars(sa.select(Finding.kind)))
    assert FindingKind.unreviewed_post in kinds, kinds
    assert db_session.scalar(sa.select(sa.func.count()).select_from(InteractionItem)) >= 3

"""Fixtures for content and review tests: a unit with an operator and three reviewers, accounts."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from auth.models import Role
from moderation import review, service, target_checks
from registry.models import Account, AccountStatus, Platform

# A valid 18-digit resident ID (GB 11643 check digit) — a real privacy hit for the checks.
ID_NUMBER = "110101199003074514"
MOBILE = "13812345678"
CLEAN_BODY = "示范县召开秋季安全生产工作会议，部署冬季防火等重点工作。"


@pytest.fixture
def media_dir(app: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))
    return tmp_path / "media"


@pytest.fixture
def unit(make_unit: Any) -> Any:
    return make_unit(f"审核测试县人民政府{uuid.uuid4().hex[:4]}")


@pytest.fixture
def active_account(db_session: Any) -> Any:

    def _make(unit: Any, platform: str = "weibo", status: Any = AccountStatus.active, name: str | None = None) -> Any:
        account = Account(
            platform=Platform(platform),
            platform_uid=f"{platform[:2]}{uuid.uuid4().hex[:10]}",
            name=name or f"{unit.name}{platform}",
            unit_id=unit.id,
            status=status,
            verified_subject=unit.name,
        )
        db_session.add(account)
        db_session.flush()
        return account

    return _make


@pytest.fixture
def team(make_user: Any, unit: Any, active_account: Any) -> Any:
    return SimpleNamespace(
        unit=unit,
        operator=make_user(Role.operator, unit=unit),
        r1=make_user(Role.reviewer_1, unit=unit),
        r2=make_user(Role.reviewer_2, unit=unit),
        r3=make_user(Role.reviewer_3, unit=unit),
        weibo=active_account(unit, "weibo"),
        wechat=active_account(unit, "wechat"),
    )


@pytest.fixture
def make_content(db_session: Any, team: Any) -> Any:
    """A draft made through the service (as the API would)."""

    def _make(**overrides: Any) -> Any:
        data: dict[str, Any] = {
            "title": "示范县召开秋季安全生产工作会议",
            "body": f"<p>{CLEAN_BODY}</p>",
            "disclosure": "active",
            "kind": "news",
            "target_ids": [team.weibo.id, team.wechat.id],
        }
        data.update(overrides)
        actor = data.pop("actor", team.operator)
        content = service.create_content(data, actor)
        db_session.flush()
        return content

    return _make


@pytest.fixture
def approve_all(team: Any) -> Any:
    """Run a submitted content through all three stages."""

    def _approve(content: Any, stages: tuple[int, ...] = (1, 2, 3), **data: Any) -> Any:
        reviewers = {1: team.r1, 2: team.r2, 3: team.r3}
        for stage in stages:
            review.advance(content, f"approve_{stage}", reviewers[stage], **data)
        return content

    return _approve


@pytest.fixture(autouse=True)
def _without_platform_limits(app, monkeypatch):
    """These tests are about the review rules; platform limits are tested in tests/publishers/test_limits.py."""

    monkeypatch.setitem(app.extensions, target_checks.EXTENSION, [])

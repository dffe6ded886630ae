"""Seed data shared by the process tests and the benches: approved contents fanned out to sandbox accounts."""

from __future__ import annotations

import base64
from typing import Any

from auth.models import Role, User, UserRole
from common import media
from demo import _sandbox_credentials
from extensions import db
from moderation.models import Content, ContentStatus
from moderation.service import content_hash
from publishers.credential_admin import set_credentials
from publishers.models import AccountPublishSettings
from registry.models import Account, AccountStatus, Platform, Unit

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def seed_contents(app: Any, n_contents: int, pool: int, publish_at: Any = None) -> int:
    """n approved contents, each to one weibo, one wechat, one douyin and a second weibo account.

    With ``publish_at`` (a moment, or ``i → moment``) they are scheduled instead of due at once
    (bench/fanout.py). The Douyin accounts are recorded as the unit's own (本单位自有/签约), so
    scheduled posts go out unattended instead of waiting as ``held`` for a person (DOMAIN.md R36).
    """

    with app.app_context():
        unit = Unit(name="故障测试县人民政府")
        db.session.add(unit)
        db.session.flush()

        author = User(username="fault-author", display_name="作者", unit_id=unit.id, password_hash="x")
        author.role_rows = [UserRole(role=Role.operator)]
        db.session.add(author)
        pools: dict[str, list[Account]] = {}
        for platform in ("weibo", "wechat", "douyin"):
            count = pool * 2 if platform == "weibo" else pool
            for i in range(count):
                uid = f"{platform[:2]}fault{i:04d}"
                acc = Account(
                    platform=Platform(platform),
                    platform_uid=uid,
                    name=f"故障测试{platform}{i}",
                    unit_id=unit.id,
                    status=AccountStatus.active,
                    verified_subject=unit.name,
                )
                db.session.add(acc)
                db.session.flush()
                set_credentials(acc.id, _sandbox_credentials(Platform(platform), uid))
                if platform == "douyin":
                    db.session.add(
                        AccountPublishSettings(account_id=acc.id, own_account=True, own_account_note="演练：运维合同")
                    )
                pools.setdefault(platform, []).append(acc)
        sha = media.save(PNG)
        for i in range(n_contents):
            content = Content(
                unit_id=unit.id,
                author_id=author.id,
                title=f"故障演练稿件第{i}号",
                body_html=f"<p>演练正文 {i}</p>",
                body_text=f"演练正文 {i}",
                media=[{"name": "c.png", "content_type": "image/png", "sha256": sha}],
                status=ContentStatus.scheduled if publish_at else ContentStatus.approved,
                publish_at=publish_at(i) if callable(publish_at) else publish_at,
            )
            content.targets = [
                pools["weibo"][i % pool],
                pools["weibo"][pool + i % pool],
                pools["wechat"][i % pool],
                pools["douyin"][i % pool],
            ]
            db.session.add(content)
            db.session.flush()
            content.approved_hash = content_hash(content)
            content.approved_version = content.version
        db.session.commit()
        return n_contents * 4

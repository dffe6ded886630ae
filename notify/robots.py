"""Group robots (企业微信 / 钉钉) per unit: the webhook URL (it holds the key or access token)
and the 钉钉 加签 secret are Fernet-encrypted at rest (the key of platforms.credentials); pages,
the API, the CLI and the audit log only ever show the robot's name, kind, unit and host."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.fernet import InvalidToken

from audit import service as audit
from common.errors import Invalid
from common.validation import http_url
from extensions import db
from notify.models import ROBOT_KINDS, ROBOT_LABELS, RobotWebhook
from platforms.credentials import fernet


def add(unit_id: int, kind: str, name: str, url: str, secret: str | None = None, *, actor: Any = None) -> RobotWebhook:
    """Store a robot (validated: kind, http(s) URL, name). Flushes and audits without the secrets."""
    errors: dict[str, list[str]] = {}
    if kind not in ROBOT_KINDS:
        errors["kind"] = [f"须为 {' / '.join(ROBOT_KINDS)}"]
    if not http_url(url):
        errors["url"] = ["Webhook 地址须以 http:// 或 https:// 开头"]
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = ["名称必填，最多 100 字"]
    if errors:
        raise Invalid("机器人设置有误", details=errors)
    f = fernet()
    robot = RobotWebhook(
        unit_id=unit_id,
        kind=kind,
        name=name,
        url_ciphertext=f.encrypt(url.strip().encode("utf-8")),
        secret_ciphertext=f.encrypt(secret.strip().encode("utf-8")) if secret and secret.strip() else None,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(robot)
    db.session.flush()
    audit.record(
        "notify:robot:add", robot, after=describe(robot), actor=actor, actor_label=None if actor else "system:cli"
    )
    return robot


def set_enabled(robot: RobotWebhook, enabled: bool, *, actor: Any = None) -> None:
    before = robot.enabled
    robot.enabled = enabled
    db.session.flush()
    audit.record(
        "notify:robot:enable" if enabled else "notify:robot:disable",
        robot,
        before={"enabled": before},
        after={"enabled": enabled},
        actor=actor,
        actor_label=None if actor else "system:cli",
    )


def secrets_of(robot: RobotWebhook) -> tuple[str, str | None]:
    f = fernet()
    url = f.decrypt(robot.url_ciphertext).decode("utf-8")
    secret = f.decrypt(robot.secret_ciphertext).decode("utf-8") if robot.secret_ciphertext else None
    return url, secret


def describe(robot: RobotWebhook) -> dict[str, Any]:
    """What may be shown: never the URL's path/query (key, token) nor the secret."""
    try:
        host = urlsplit(secrets_of(robot)[0]).hostname
    except InvalidToken:  # encrypted with another key: shown without a host, not as an error page
        host = None
    return {
        "id": robot.id,
        "unit_id": robot.unit_id,
        "kind": robot.kind,
        "kind_label": ROBOT_LABELS.get(robot.kind, robot.kind),
        "name": robot.name,
        "host": host,
        "signed": robot.secret_ciphertext is not None,
        "enabled": robot.enabled,
    }


def robots_of_unit(unit_id: int) -> list[RobotWebhook]:
    return list(
        db.session.scalars(
            sa.select(RobotWebhook).where(RobotWebhook.unit_id == unit_id, RobotWebhook.enabled.is_(True))
        )
    )

"""What an admin sets per platform, how it is checked, and the names-only status.

Shared by the CLI (``flask credentials …``) and the admin form on the account page. The
values go to ``set_credentials`` below (``platforms.credentials`` encrypts, this audits the field
names); nothing here ever returns or prints a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from audit import service as audit
from common.errors import Invalid
from extensions import db
from platforms import credentials
from platforms.models import AccountCredential
from platforms.types import to_epoch
from registry.models import Account


def set_credentials(
    account_id: int, values: dict[str, Any], actor: Any = None, actor_label: str | None = None
) -> AccountCredential:
    """Encrypt and store the account's credentials; the audit entry names the fields, never the values."""
    row, fields = credentials.store_credentials(account_id, values, updated_by_id=getattr(actor, "id", None))
    audit.record(
        "account:credentials:set",
        object_type="accounts",
        object_id=account_id,
        after={"fields": fields},
        actor=actor,
        actor_label=actor_label,
    )
    return row


#: fields that name the grant: a refreshed token of another grant (or of none) must not be written
GRANT_IDENTITY = ("app_id", "via", "client_key", "open_id")


def store_refreshed(account_id: int, values: Mapping[str, Any], actor_label: str = "system:token-refresh") -> bool:
    """An adapter's refreshed credentials (``Credentials.to_dict()``), merged into what is stored
    now (row locked): fields the adapter does not carry (``push_token``) are kept, and nothing is
    written when the grant was removed or replaced meanwhile (a withdrawn 第三方平台 grant is never
    brought back). True when written."""
    ciphertext = db.session.scalar(
        sa.select(AccountCredential.ciphertext).where(AccountCredential.account_id == account_id).with_for_update()
    )
    try:
        stored = credentials.decrypt(account_id, ciphertext)
    except credentials.CredentialsUnavailable:
        return False
    if any(str(stored.get(k) or "") != str(values.get(k) or "") for k in GRANT_IDENTITY):
        return False
    set_credentials(account_id, {**stored, **values}, actor_label=actor_label)
    return True


_BYTEDANCE_REQUIRED = ("client_key", "client_secret", "access_token", "refresh_token", "open_id")
_BYTEDANCE_OPTIONAL = ("expires_at", "refresh_expires_at", "renewals")

#: platform → (required fields, optional fields); mirrors ``Credentials`` in adapters/base.py.
PLATFORM_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "wechat": (("app_id", "app_secret"), ()),
    "weibo": (("access_token",), ()),
    "douyin": (_BYTEDANCE_REQUIRED, _BYTEDANCE_OPTIONAL),
    "toutiao": (_BYTEDANCE_REQUIRED, _BYTEDANCE_OPTIONAL),
}

#: Typed as passwords in the form and prompted without echo in the CLI.
SECRET_FIELDS = frozenset({"app_secret", "access_token", "refresh_token", "client_secret"})
TIME_FIELDS = ("expires_at", "refresh_expires_at")

FIELD_LABELS = {
    "app_id": "AppID（开发者ID）",
    "app_secret": "AppSecret（开发者密码）",
    "access_token": "访问令牌 access_token",
    "refresh_token": "刷新令牌 refresh_token",
    "open_id": "授权用户 open_id",
    "client_key": "应用 client_key",
    "client_secret": "应用密钥 client_secret",
    "expires_at": "访问令牌到期时间",
    "refresh_expires_at": "刷新令牌到期时间",
    "renewals": "刷新令牌已续期次数",
    "via": "授权方式",
}

FIELD_HELP = {
    "expires_at": "unix 秒或 ISO 时间（如 2026-12-31T00:00:00+08:00），可留空",
    "refresh_expires_at": "unix 秒或 ISO 时间，可留空",
    "renewals": "整数，可留空（新授权为 0）",
}


#: A WeChat grant to the office's 第三方平台 (publishers/wechat_authorize.py): no AppSecret.
COMPONENT_REQUIRED = ("app_id", "refresh_token")


def required_fields(platform: str, values: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields stored credentials must have: the platform's, or a 第三方平台 grant's."""
    if values.get("via") == "component":
        return COMPONENT_REQUIRED
    spec = fields_for(platform)
    return spec[0] if spec else ()


def fields_for(platform: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(required, optional) field names of a platform, or None if it has no publishing API."""
    return PLATFORM_FIELDS.get(platform)


def form_fields(platform: str) -> list[dict[str, Any]]:
    """The fields of the admin form, in order; the time/counter extras only as optional."""
    spec = fields_for(platform)
    if spec is None:
        return []
    required, optional = spec
    return [
        {
            "name": name,
            "label": FIELD_LABELS[name],
            "secret": name in SECRET_FIELDS,
            "required": name in required,
            "help": FIELD_HELP.get(name),
        }
        for name in (*required, *optional)
    ]


def clean(platform: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Strip, drop blanks, and check a full set of credentials for ``platform``.

    The result replaces whatever is stored, so every required field must be present.
    Raises ``Invalid`` whose message and details name fields only, never values.
    """
    spec = fields_for(platform)
    if spec is None:
        raise Invalid("该平台没有发布接口，无需配置平台凭据", code="no_adapter", details={"platform": platform})
    required, optional = spec
    allowed = set(required) | set(optional)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        text = value.strip() if isinstance(value, str) else value
        if text is None or text == "":
            continue
        values[str(key).strip()] = text
    if not values:
        raise Invalid("未填写任何凭据字段", code="empty_credentials")
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise Invalid(
            f"该平台不使用这些凭据字段：{'、'.join(unknown)}（可用：{'、'.join((*required, *optional))}）",
            details={"fields": unknown},
        )
    missing = [name for name in required if name not in values]
    if missing:
        raise Invalid(
            "缺少必填的凭据字段：" + "、".join(f"{FIELD_LABELS[n]}" for n in missing), details={"missing": missing}
        )
    for key in TIME_FIELDS:
        if key in values:
            epoch = to_epoch(values[key])
            if epoch is None:
                raise Invalid(f"{FIELD_LABELS[key]}须为 unix 秒或 ISO 时间", details={"fields": [key]})
            values[key] = int(epoch) if epoch == int(epoch) else epoch
    if "renewals" in values:
        try:
            values["renewals"] = int(values["renewals"])
        except (TypeError, ValueError):
            raise Invalid(f"{FIELD_LABELS['renewals']}须为整数", details={"fields": ["renewals"]}) from None
        if values["renewals"] < 0:
            raise Invalid(f"{FIELD_LABELS['renewals']}不能为负数", details={"fields": ["renewals"]})
    return {k: v if k in TIME_FIELDS or k == "renewals" else str(v) for k, v in values.items()}


def status(account: Account) -> dict[str, Any]:
    """Whether credentials are stored, which field NAMES, needs_reauth — never a value."""
    row = db.session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id))
    values: dict[str, Any] = {}
    readable = True
    if row is not None:
        try:
            values = credentials.get_credentials(account.id)
        except credentials.CredentialsUnavailable:
            readable = False
    fields = sorted(values)
    required = required_fields(account.platform.value, values)
    return {
        "account_id": account.id,
        "configured": row is not None,
        "needs_reauth": bool(row and row.needs_reauth),
        "fields": fields,
        "readable": readable,
        "missing": [name for name in required if row is not None and readable and name not in fields],
        "updated_at": row.updated_at if row is not None else None,
    }

"""Platform credentials per account, Fernet-encrypted at rest; never logged or returned."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import fields
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from common.db import db
from common.errors import Invalid
from platforms.models import AccountCredential
from platforms.types import Credentials

#: Stored beside the platform credentials but no way to call the platform with: the WeChat 消息推送
#: Token of the account's server URL (互动回应).
NOT_PLATFORM_FIELDS = frozenset({"push_token"})
#: What may be stored: the ``Credentials`` fields (platforms/types.py; ``via`` = "component" for a
#: WeChat grant to the office's 第三方平台) and those above.
ALLOWED_FIELDS = {f.name for f in fields(Credentials)} - {"account_ref"} | NOT_PLATFORM_FIELDS


def callable_with(values: dict[str, Any] | None) -> bool:
    """Whether stored ``values`` hold anything to call the platform with (not only a push_token)."""
    return bool(values and set(values) - NOT_PLATFORM_FIELDS)


class CredentialsUnavailable(RuntimeError):
    """No credentials stored, or they cannot be decrypted with the configured key."""


def _key() -> str:
    key: str | None = current_app.config.get("FERNET_KEY")
    if not key:
        # Development default: derived from SECRET_KEY. Production sets FERNET_KEY (README).
        digest = hashlib.sha256(("fernet:" + current_app.config["SECRET_KEY"]).encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return key


def _fernet() -> Fernet:
    return Fernet(_key())


#: (key, ciphertext) → plaintext of the last few decrypted credentials: a publishing worker
#: decrypts the same few accounts' ciphertexts for every post (a stored ciphertext changes
#: whenever its credentials do, so a hit is always the current value). Process memory only —
#: the adapters hold the same secrets while they call; cleared when full.
_DECRYPTED: dict[tuple[str, bytes], bytes] = {}
_DECRYPTED_MAX = 256


def fernet() -> Fernet:
    """The app's Fernet key (FERNET_KEY, else derived from SECRET_KEY), for other secrets kept at
    rest too (notify's robot webhooks)."""
    return _fernet()


def store_credentials(
    account_id: int, values: dict[str, Any], updated_by_id: int | None = None
) -> tuple[AccountCredential, list[str]]:
    """Encrypt and store ``values`` for the account; returns the row and the stored field names.

    Flushes, records no audit entry: the layer above does (``publishers.credential_admin.set_credentials``).
    """
    values = {k: v for k, v in values.items() if k != "account_ref"}
    unknown = set(values) - ALLOWED_FIELDS
    if unknown:
        raise Invalid("含有不支持的凭据字段", details={"fields": sorted(unknown)})
    clean = {k: v for k, v in values.items() if v not in (None, "")}
    token = _fernet().encrypt(json.dumps(clean, sort_keys=True).encode("utf-8"))
    row = db.session.query(AccountCredential).filter_by(account_id=account_id).one_or_none()
    if row is None:
        row = AccountCredential(account_id=account_id, ciphertext=token)
        db.session.add(row)
    else:
        row.ciphertext = token
    row.needs_reauth = False
    row.updated_by_id = updated_by_id
    db.session.flush()
    return row, sorted(clean)


def ciphertext_of(account_id: Any) -> sa.ScalarSelect[bytes]:
    """The stored ciphertext as a scalar subquery, so a caller that loads the account's rows
    anyway reads it in the same statement (``account_id`` may be a correlated column)."""
    return sa.select(AccountCredential.ciphertext).where(AccountCredential.account_id == account_id).scalar_subquery()


def get_credentials(account_id: int) -> dict[str, Any]:
    return decrypt(account_id, db.session.scalar(sa.select(ciphertext_of(account_id))))


def decrypt(account_id: int, ciphertext: bytes | None) -> dict[str, Any]:
    """The credentials in ``ciphertext`` (read with ``ciphertext_of``), or CredentialsUnavailable."""
    if ciphertext is None:
        raise CredentialsUnavailable(f"账号 {account_id} 未配置平台凭据")
    key = _key()
    cached = (key, bytes(ciphertext))
    plain = _DECRYPTED.get(cached)
    if plain is None:
        try:
            plain = Fernet(key).decrypt(ciphertext)
        except InvalidToken as exc:
            raise CredentialsUnavailable(f"账号 {account_id} 的凭据无法用当前密钥解密") from exc
        if len(_DECRYPTED) >= _DECRYPTED_MAX:
            _DECRYPTED.clear()
        _DECRYPTED[cached] = plain
    credentials: dict[str, Any] = json.loads(plain)
    return credentials


def has_credentials(account_id: int) -> bool:
    return db.session.query(AccountCredential.id).filter_by(account_id=account_id).first() is not None

"""Users and API tokens. Services flush; the request or the CLI commits."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterable

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from audit import service as audit
from auth.models import ApiToken, Role, User, UserRole
from common.db import utcnow
from common.errors import Conflict, Invalid, NotFound
from extensions import db

_hasher = PasswordHasher()
# Verifying against a real hash for unknown users keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("not-a-password")
TOKEN_PREFIX = "gm_"  # noqa: S105 - a public prefix, not a secret


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise Invalid("密码至少 8 位", details={"password": ["密码至少 8 位"]})
    return _hasher.hash(password)


def create_user(
    username: str,
    *,
    unit_id: int,
    roles: Iterable[Role | str],
    password: str,
    display_name: str | None = None,
    actor: User | None = None,
) -> User:
    role_set = {Role(r) for r in roles}
    if not role_set:
        raise Invalid("至少需要一个角色", details={"roles": ["至少需要一个角色"]})
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise Conflict(f"用户名 {username} 已存在", code="username_taken")
    user = User(
        username=username,
        display_name=display_name or username,
        unit_id=unit_id,
        password_hash=hash_password(password),
    )
    user.role_rows = [UserRole(role=r) for r in sorted(role_set)]
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user:create",
        user,
        after={"username": username, "unit_id": unit_id, "roles": sorted(role_set)},
        actor=actor,
    )
    return user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.is_active:
        # Equalise timing for unknown users; the outcome is known to be a mismatch.
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user: User, name: str = "cli", actor: User | None = None) -> tuple[str, ApiToken]:
    """Create a token; the plaintext is returned once and only its hash is stored."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(plaintext), prefix=plaintext[:10])
    db.session.add(token)
    db.session.flush()
    audit.record("api_token:create", token, after={"user": user.username, "name": name}, actor=actor or user)
    return plaintext, token


def revoke_token(token_id: int, actor: User | None = None) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("api_token:revoke", token, after={"user_id": token.user_id}, actor=actor)
    return token


def user_for_token(plaintext: str) -> User | None:
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == _digest(plaintext), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    return token.user

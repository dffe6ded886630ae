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


# ----------------------------------------------------------------------------- administration


def set_roles(user: User, roles: Iterable[Role | str], actor: User | None = None) -> bool:
    """Replace the user's roles; True when they changed (audited)."""
    new = {Role(r) for r in roles}
    if not new:
        raise Invalid("至少需要一个角色", details={"roles": ["至少需要一个角色"]})
    old = user.roles
    if new == old:
        return False
    _guard_last_admin(user, losing=Role.admin in old and Role.admin not in new)
    user.role_rows = [UserRole(role=r) for r in sorted(new)]
    user.end_sessions()  # pages and menus follow the roles of the session's user: start afresh
    db.session.flush()
    audit.record("user:roles", user, before={"roles": sorted(old)}, after={"roles": sorted(new)}, actor=actor)
    return True


def reset_password(user: User, password: str, actor: User | None = None) -> None:
    """A new password; every session of the user ends (the password_hash listener bumps it)."""
    user.password_hash = hash_password(password)
    db.session.flush()
    audit.record("user:password_reset", user, after={"username": user.username}, actor=actor)


def revoke_all_tokens(user: User, actor: User | None = None) -> int:
    """Revoke every live API token of ``user``; the number revoked."""
    tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        revoke_token(token.id, actor=actor)
    return len(tokens)


def deactivate_user(user: User, actor: User | None = None) -> None:
    """停用: no login, every session cookie and every API token stops working at once."""
    if not user.is_active:
        return
    if actor is not None and actor.id == user.id:
        raise Conflict("不能停用自己的账号", code="self_deactivation")
    _guard_last_admin(user, losing=Role.admin in user.roles)
    user.is_active = False  # the is_active listener bumps session_generation
    revoked = revoke_all_tokens(user, actor=actor)
    db.session.flush()
    audit.record("user:deactivate", user, after={"username": user.username, "tokens_revoked": revoked}, actor=actor)


def reactivate_user(user: User, actor: User | None = None) -> None:
    if user.is_active:
        return
    user.is_active = True
    db.session.flush()
    audit.record("user:reactivate", user, after={"username": user.username}, actor=actor)


def _guard_last_admin(user: User, *, losing: bool) -> None:
    """Never leave the system without an active administrator."""
    if not losing:
        return
    others = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.admin, User.is_active.is_(True), User.id != user.id)
    )
    if not others:
        raise Conflict("这是最后一个在用的管理员，不能取消其管理员角色或停用", code="last_admin")

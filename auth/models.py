"""Users with roles and hashed API tokens."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.base import NO_VALUE

from common.db import TimestampMixin, utcnow
from extensions import db


class Role(enum.StrEnum):
    operator = "operator"
    reviewer_1 = "reviewer_1"
    reviewer_2 = "reviewer_2"
    reviewer_3 = "reviewer_3"
    auditor = "auditor"
    admin = "admin"


ROLE_LABELS = {
    Role.operator: "运营人员",
    Role.reviewer_1: "初审",
    Role.reviewer_2: "复审",
    Role.reviewer_3: "终审",
    Role.auditor: "网信办",
    Role.admin: "管理员",
}


class User(TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    # Stored in the session cookie at login and compared on every request; logout, a new
    # password and deactivation bump it, so every cookie issued before stops working.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    unit = relationship("Unit")
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> set[Role]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def end_sessions(self) -> None:
        """Invalidate every session cookie of this user (API tokens are revoked separately)."""
        self.session_generation = (self.session_generation or 0) + 1

    def __repr__(self) -> str:
        return f"<User {self.username}>"


@sa.event.listens_for(User.password_hash, "set", active_history=True)
@sa.event.listens_for(User.is_active, "set", active_history=True)
def _end_sessions_on_change(user: User, value: object, old: object, _initiator: object) -> None:
    """A changed password or a (de)activation ends every session cookie issued before it."""
    if old is not value and old is not NO_VALUE and value != old:
        user.end_sessions()


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    role: Mapped[Role] = mapped_column(primary_key=True)


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="cli")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


def unit_model() -> type[Any]:
    """The unit class (``registry.models.Unit``) as ``User.unit`` maps it.

    Units belong to the registry, which sits above auth: auth reaches the class through the
    mapper instead of importing registry.
    """
    return sa.inspect(User).relationships["unit"].mapper.class_

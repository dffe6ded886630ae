"""Who is asking, what they may do, and which units they may see.

Operators and reviewers see their own unit and its sub-units; auditors (网信办) and admins
see every unit. Objects outside the caller's scope answer 404, so their existence is not
revealed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g

from auth.models import Role, User, unit_model
from common.errors import ApiError, Forbidden, NotFound
from extensions import db

F = TypeVar("F", bound=Callable[..., Any])

GLOBAL_ROLES = (Role.auditor, Role.admin)


def current_user() -> User:
    user = getattr(g, "user", None)
    if user is None:
        raise ApiError(status=401, code="unauthorized")
    return user


def unit_subtree_ids(unit_id: int) -> set[int]:
    Unit = unit_model()  # the mapped class, named as everywhere else
    tree = sa.select(Unit.id).where(Unit.id == unit_id).cte("tree", recursive=True)
    tree = tree.union_all(sa.select(Unit.id).where(Unit.parent_id == tree.c.id))
    return set(db.session.scalars(sa.select(tree.c.id)))


def visible_unit_ids(user: User) -> set[int] | None:
    """None means every unit."""
    if user.has_role(*GLOBAL_ROLES):
        return None
    cache = g.setdefault("_visible_units", {})
    if user.id not in cache:
        cache[user.id] = unit_subtree_ids(user.unit_id)
    return cache[user.id]


def can_see_unit(user: User, unit_id: int | None) -> bool:
    scope = visible_unit_ids(user)
    return scope is None or unit_id in scope


def ensure_visible(user: User, unit_id: int | None) -> None:
    if not can_see_unit(user, unit_id):
        raise NotFound()


def scope_filter(user: User, column: Any) -> Any:
    """A WHERE clause restricting ``column`` (a unit id column) to the user's scope."""
    scope = visible_unit_ids(user)
    return sa.true() if scope is None else column.in_(scope)


def require_roles(*roles: Role) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if not user.has_role(*roles):
                raise Forbidden("您的角色无权执行此操作", details={"required_roles": [r.value for r in roles]})
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def get_scoped(model: Any, object_id: int, unit_attr: str = "unit_id") -> Any:
    """Load ``model`` by id or 404 if missing or outside the caller's scope."""
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound()
    ensure_visible(current_user(), getattr(obj, unit_attr))
    return obj

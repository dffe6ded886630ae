"""List responses: ``{"items": [...], "total": N, "page": P, "per_page": K}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from apiflask import Schema
from apiflask.validators import Range

from common.db import db
from common.fields import Integer

MAX_PER_PAGE = 200


class PageOut(Schema):
    """A list response; subclasses add ``items = List(Nested(ItemOut))``."""

    total = Integer()
    page = Integer()
    per_page = Integer()


class PageQuery(Schema):
    page = Integer(load_default=1, validate=Range(min=1))
    per_page = Integer(load_default=50, validate=Range(min=1, max=MAX_PER_PAGE))


def paginate(
    stmt: sa.Select[Any], page: int, per_page: int, dump: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    items = [dump(r) for r in rows] if dump else list(rows)
    return {"items": items, "total": total or 0, "page": page, "per_page": per_page}

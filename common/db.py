"""The db handle, declarative base, naming convention, enum storage and the bind-aware session.

The handle lives here (not in ``extensions``) so the bottom layer, ``platforms/``, can keep its
models without importing anything of ours but ``common``."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm import registry as orm_registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now in UTC (stored as naive UTC for SQLite/PostgreSQL parity)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    registry = orm_registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            enum.Enum: sa.Enum(
                enum.Enum,
                native_enum=False,
                length=32,
                values_callable=lambda e: [m.value for m in e],
                validate_strings=True,
                # A CHECK constraint per enum column, named by NAMING_CONVENTION (ck_contents_contentstatus).
                # A new member needs a migration that rewrites the constraint (docs/architecture.md).
                create_constraint=True,
            ),
            dict[str, Any]: sa.JSON,
            list[Any]: sa.JSON,
        },
    )


def one_of(column: str, values: Iterable[str]) -> sa.CheckConstraint:
    """A CHECK that a string column holding an enum in practice keeps to ``values`` (NULL passes).

    Named ``ck_<table>_<column>`` by NAMING_CONVENTION, like the enum columns' constraints."""
    return sa.CheckConstraint(sa.column(column).in_(list(values)), name=column)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BindAwareSession(FlaskSession):
    """Honour an explicit ``bind`` set through ``session.configure(bind=...)``.

    Flask-SQLAlchemy 3.1 routes every query through its own engine lookup and silently
    ignores a configured bind (pallets-eco/flask-sqlalchemy#1167). Tests bind the session to
    one connection inside an outer transaction; this makes that binding effective.
    """

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        if bind is not None:
            return bind
        if self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": BindAwareSession})

if TYPE_CHECKING:  # Flask-SQLAlchemy builds db.Model at run time; type checkers see its declarative base
    Model = Base
else:
    Model = db.Model

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from common.db import utcnow
from extensions import db


class Heartbeat(db.Model):
    """Liveness rows written by long-running processes (scheduler, workers); read by /healthz."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    info: Mapped[dict[str, Any] | None]


class JobRun(db.Model):
    """A long operation (import, export, discovery run) with progress for the user."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(50))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    message: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

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

"""Encrypted platform credentials per account (table ``account_credentials``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from common.db import Model, TimestampMixin


class AccountCredential(TimestampMixin, Model):
    """Platform secrets for one account, Fernet-encrypted at rest; never returned by the API."""

    __tablename__ = "account_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), unique=True)
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    needs_reauth: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

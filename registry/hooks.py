"""What other packages hook into the ledger, without registry importing them.

Registry sends these blinker signals (Flask ships blinker); oversight connects its receivers in
``oversight.init_app``, so the ledger findings (duplicate, subject mismatch) are raised in the
same transaction as the change, and the account page shows an account's open findings. With
nothing connected, the ledger works alone and shows no findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blinker import Namespace

_signals = Namespace()

accounts_changed = _signals.signal("registry.accounts-changed")
"""Accounts were opened, moved through their lifecycle or imported (flushed, not committed).

Keyword ``accounts``: Account rows, or rows just bulk-inserted by an import with the same
``id, unit_id, platform, platform_uid, status, verified_subject`` attributes.
"""

unit_renamed = _signals.signal("registry.unit-renamed")
"""A unit's name changed. Keywords ``accounts`` (the unit's accounts) and ``extra`` (account id →
what the rename proposes, for the evidence of a subject-mismatch finding)."""

account_findings = _signals.signal("registry.account-findings")
"""Asked for one account's open findings (keyword ``account``); each receiver returns a list of
dicts ``{id, kind, kind_label, status, message, evidence}``."""

subject_mismatches = _signals.signal("registry.subject-mismatches")
"""Asked for the open subject-mismatch findings the ledger page lists (keywords ``user``,
``limit``); each receiver returns rows with ``account_id`` and ``evidence``."""

SENDER = "registry"


def send(signal: Any, **kwargs: Any) -> None:
    signal.send(SENDER, **kwargs)


def collect(signal: Any, **kwargs: Any) -> list[Any]:
    """Send a question and concatenate the receivers' answers (empty when nobody listens)."""
    return [item for _receiver, answer in signal.send(SENDER, **kwargs) for item in answer or ()]


def accounts_touched(accounts: Sequence[Any]) -> None:
    send(accounts_changed, accounts=list(accounts))

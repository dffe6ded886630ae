"""The ledger's own findings: duplicate accounts, 认证主体 ≠ 主办单位, overdue filings.

Registry never imports this module: it sends the signals of :mod:`registry.hooks` when
accounts change, and :func:`connect` (called by ``oversight.init_app``) hooks the receivers
below to them, so the findings are raised in the same transaction as the change. Findings go
through oversight.findings (the finding lifecycle): upsert by fingerprint, and a system resolve
(audited) when the condition is gone. A dismissed finding stays dismissed unless its material
evidence changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Protocol

import sqlalchemy as sa

from auth.models import User
from auth.scoping import scope_filter
from extensions import db
from oversight import findings
from oversight.models import FINDING_LABELS, Finding, FindingKind, FindingStatus
from oversight.reconcile import normalise_name
from platforms.types import PLATFORM_LABELS
from registry import hooks, ledger
from registry import service as registry
from registry.models import STATUS_LABELS, Account, AccountStatus, Platform
from registry.service import LIVE_STATUSES, overdue_clause

S = AccountStatus


SYSTEM_LABEL = "system:registry"


def _duplicate_fp(unit_id: int, platform: Platform | str) -> str:
    return f"duplicate:unit:{unit_id}:{Platform(platform).value}"


def _subject_fp(account_id: int) -> str:
    return f"subject_mismatch:account:{account_id}"


def _settle(finding: Finding | None, reason: str) -> None:
    if finding is not None and finding.status in findings.ACTIVE_STATUSES:
        findings.resolve_by_system(finding, reason, actor_label=SYSTEM_LABEL)


def refresh_duplicates(pairs: Iterable[tuple[int, Platform]]) -> None:
    """Raise or resolve the ``duplicate`` finding of each (unit, platform) from the ledger itself."""
    wanted = sorted({(unit_id, Platform(platform)) for unit_id, platform in pairs})
    if not wanted:
        return
    live: dict[tuple[int, Platform], list[int]] = {}
    unit_ids = sorted({u for u, _ in wanted})
    for start in range(0, len(unit_ids), 500):
        rows = db.session.execute(
            sa.select(Account.unit_id, Account.platform, Account.id).where(
                Account.unit_id.in_(unit_ids[start : start + 500]), Account.status.in_(LIVE_STATUSES)
            )
        )
        for unit_id, platform, account_id in rows:
            live.setdefault((unit_id, Platform(platform)), []).append(account_id)
    names = ledger.unit_names_for_ids(unit_ids)
    inputs: list[findings.FindingInput] = []
    settle: list[str] = []
    for unit_id, platform in wanted:
        ids = sorted(live.get((unit_id, platform), []))
        if len(ids) < 2:
            settle.append(_duplicate_fp(unit_id, platform))
            continue
        message = (
            f"{names[unit_id]}在{PLATFORM_LABELS[platform]}有 {len(ids)} 个在用账号（原则上一个单位一个平台一个账号）"
        )
        evidence = {
            "message": message,
            "platform": platform.value,
            "unit_name": names[unit_id],
            "account_ids": ids,
            "source_of_duplicate": "ledger",
        }
        inputs.append(
            findings.FindingInput(
                FindingKind.duplicate, _duplicate_fp(unit_id, platform), evidence, account_id=ids[-1], unit_id=unit_id
            )
        )
    findings.upsert_many(inputs)
    existing = findings.load_by_fingerprints(settle)
    for fp in settle:
        _settle(existing.get(fp), "系统复核：该单位在此平台只剩一个在用账号")


def subject_matches(subject: str | None, unit_name: str) -> bool:
    """认证主体 vs 主办单位 after normalisation (full/half width, spaces, 人民政府=政府 …)."""
    if not subject:
        return True
    return normalise_name(subject) == normalise_name(unit_name)


class AccountLike(Protocol):
    """What the flags read: an Account, or a row just bulk-inserted by an import."""

    id: int
    unit_id: int
    platform: Platform
    platform_uid: str | None
    status: AccountStatus
    verified_subject: str | None


def refresh_subjects(accounts: Sequence[AccountLike], extra: dict[int, dict[str, Any]] | None = None) -> None:
    """Raise or resolve the ``subject_mismatch`` finding of each account (live accounts only)."""
    if not accounts:
        return
    names = ledger.unit_names_for_ids(a.unit_id for a in accounts)
    inputs: list[findings.FindingInput] = []
    settle: list[str] = []
    for account in accounts:
        unit_name = names[account.unit_id]
        if account.status not in LIVE_STATUSES or subject_matches(account.verified_subject, unit_name):
            settle.append(_subject_fp(account.id))
            continue
        evidence = {
            "message": f"认证主体“{account.verified_subject}”与主办单位“{unit_name}”不一致",
            "platform": account.platform.value,
            "uid": account.platform_uid,
            "registered_subject": account.verified_subject,
            "unit_name": unit_name,
            **((extra or {}).get(account.id, {})),
        }
        inputs.append(
            findings.FindingInput(
                FindingKind.subject_mismatch,
                _subject_fp(account.id),
                evidence,
                account_id=account.id,
                unit_id=account.unit_id,
            )
        )
    findings.upsert_many(inputs)
    if settle:
        existing = findings.load_by_fingerprints(settle)
        for fp in settle:
            _settle(existing.get(fp), "系统复核：认证主体与主办单位一致")


def flag_overdue_filings(day: date | None = None) -> tuple[int, int]:
    """Open a ``filing_overdue`` finding per overdue account, resolve those filed since.

    Returns (overdue accounts, findings resolved).
    """
    day = day or registry.today()
    overdue = db.session.execute(
        sa.select(Account.id, Account.unit_id, Account.filing_due_on, Account.status).where(overdue_clause(day))
    ).all()
    inputs = [
        findings.FindingInput(
            FindingKind.filing_overdue,
            f"filing_overdue:account:{account_id}:{due.isoformat()}",
            {
                "message": f"备案时限 {due.isoformat()} 已过仍未备案（状态：{STATUS_LABELS[S(status)]}）",
                "filing_due_on": due.isoformat(),
                "status": S(status).value,
            },
            account_id=account_id,
            unit_id=unit_id,
        )
        for account_id, unit_id, due, status in overdue
    ]
    findings.upsert_many(inputs)
    wanted = {i.fingerprint for i in inputs}
    current = db.session.scalars(
        sa.select(Finding).where(
            Finding.kind == FindingKind.filing_overdue, Finding.status.in_(findings.ACTIVE_STATUSES)
        )
    ).all()
    stale = [f for f in current if f.fingerprint not in wanted]
    for finding in stale:
        _settle(finding, "系统复核：已备案或备案时限已更新")
    return len(inputs), len(stale)


# ----------------------------------------------------------------------------- reads


def open_findings(account: Account) -> list[Finding]:
    return list(
        db.session.scalars(
            sa.select(Finding)
            .where(
                Finding.account_id == account.id,
                Finding.status.in_((FindingStatus.open, FindingStatus.confirmed)),
            )
            .order_by(Finding.id)
        )
    )


def finding_dicts(rows: Iterable[Finding]) -> list[dict[str, Any]]:
    return [
        {
            "id": f.id,
            "kind": f.kind.value,
            "kind_label": FINDING_LABELS[f.kind],
            "status": f.status.value,
            "message": (f.evidence or {}).get("message"),
            "evidence": f.evidence or {},
        }
        for f in rows
    ]


def open_subject_mismatches(user: User, limit: int) -> list[Finding]:
    return list(
        db.session.scalars(
            sa.select(Finding)
            .where(
                Finding.kind == FindingKind.subject_mismatch,
                Finding.status.in_((FindingStatus.open, FindingStatus.confirmed)),
                scope_filter(user, Finding.unit_id),
            )
            .order_by(Finding.id.desc())
            .limit(limit)
        )
    )


# ----------------------------------------------------------------------------- receivers


def _on_accounts_changed(_sender: Any, *, accounts: Sequence[AccountLike]) -> None:
    refresh_duplicates({(a.unit_id, a.platform) for a in accounts})
    refresh_subjects(accounts)


def _on_unit_renamed(_sender: Any, *, accounts: Sequence[AccountLike], extra: dict[int, dict[str, Any]]) -> None:
    refresh_subjects(accounts, extra)


def _on_account_findings(_sender: Any, *, account: Account) -> list[dict[str, Any]]:
    return finding_dicts(open_findings(account))


def _on_subject_mismatches(_sender: Any, *, user: User, limit: int) -> list[Finding]:
    return open_subject_mismatches(user, limit)


def connect() -> None:
    """Hook the receivers to registry's signals (idempotent: blinker keeps one per receiver)."""
    hooks.accounts_changed.connect(_on_accounts_changed)
    hooks.unit_renamed.connect(_on_unit_renamed)
    hooks.account_findings.connect(_on_account_findings)
    hooks.subject_mismatches.connect(_on_subject_mismatches)

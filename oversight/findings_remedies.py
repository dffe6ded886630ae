"""Resolve a finding by doing something about it (处置), through the registry's own services.

* ``register`` 登记入台账 — an ``unregistered`` finding (体外运行): an application to open the
  account (:func:`registry.service.create_account`, status ``applying``) pre-filled from what
  the platform showed (platform, uid, name, 认证主体, verified, profile link) and the unit the
  reconciliation resolved; the finding is linked to the new account. The application is then
  approved (or rejected) in the registry like any other — never by the same person (四眼原则).
* ``close`` 发起注销 — ``zombie_90d`` / ``inactive_14d`` / ``closed_but_active``: the account's
  closure request (``request_close``: 停更公告 link and reason, → ``closing``) through
  :func:`registry.service.advance`. The service decides whether the account's status allows it
  (an account already closed in the registry does not: 409).

Either way the finding becomes ``resolved`` with the remedy recorded in its decision and in the
``finding:status:resolve`` audit entry; the service writes its own account event and audit
entry. Refusals (422 input, 409 state, 403 role, 404 scope) change nothing. Flushes only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import ValidationError

from auth.models import User
from common.errors import ApiError, Conflict, Invalid
from extensions import db
from oversight import findings
from oversight.models import Finding, FindingKind
from registry import service
from registry.models import Account, Platform, Unit
from registry.schemas import AccountIn
from registry.schemas import ActionIn as AccountActionIn

REGISTER = "register"
CLOSE = "close"
REMEDIES = (REGISTER, CLOSE)
REMEDY_LABELS = {REGISTER: "登记入台账", CLOSE: "发起注销"}
REMEDY_KINDS: dict[str, tuple[FindingKind, ...]] = {
    REGISTER: (FindingKind.unregistered,),
    CLOSE: (FindingKind.closed_but_active, FindingKind.zombie_90d, FindingKind.inactive_14d),
}
# Fields a caller may set or override for each remedy (the rest comes from the evidence).
REGISTER_FIELDS = ("unit_id", "name", "duplicate_reason")
CLOSE_FIELDS = ("closure_notice_url", "closure_notice_on")


def applicable(finding: Finding) -> list[str]:
    """The remedies that fit the finding's kind."""
    return [r for r in REMEDIES if finding.kind in REMEDY_KINDS[r]]


# ----------------------------------------------------------------------------- register


def _unit_guess(finding: Finding) -> int | None:
    """The unit reconciliation resolved, else the only candidate unit it named."""
    if finding.unit_id is not None:
        return finding.unit_id
    candidates = [c for c in (finding.evidence or {}).get("candidate_units") or [] if isinstance(c, dict)]
    if len(candidates) == 1 and isinstance(candidates[0].get("id"), int):
        return int(candidates[0]["id"])
    return None


def _url(value: Any) -> str | None:
    text = str(value or "").strip()
    return text[:500] if text.startswith(("http://", "https://")) else None


def register_prefill(finding: Finding) -> dict[str, Any]:
    """The application as the platform showed the account (what the page form starts from)."""
    evidence = finding.evidence or {}
    d = finding.discovered
    platform = d.platform.value if d is not None else evidence.get("platform")
    subject = d.subject if d is not None else evidence.get("subject")
    verified = d.verified if d is not None else evidence.get("verified")
    return {
        "platform": platform,
        "platform_uid": d.platform_uid if d is not None else evidence.get("uid"),
        "name": ((d.name if d is not None else evidence.get("name")) or "")[:200] or None,
        "verified_subject": (subject or "")[:200] or None,
        "verified": bool(verified) if verified is not None else None,
        "profile_url": _url(d.profile_url if d is not None else evidence.get("profile_url")),
        "unit_id": _unit_guess(finding),
        "candidate_units": [
            {"id": c.get("id"), "name": c.get("name")}
            for c in evidence.get("candidate_units") or []
            if isinstance(c, dict) and c.get("id") is not None
        ],
    }


def _register(finding: Finding, actor: User, reason: str, data: dict[str, Any]) -> dict[str, Any]:
    prefill = register_prefill(finding)
    if finding.account_id is not None:
        raise Conflict(
            "该问题线索已关联台账账号，不能再登记",
            code="remedy_not_applicable",
            details={"account_id": finding.account_id},
        )
    if not prefill["platform"] or prefill["platform"] not in {p.value for p in Platform}:
        raise Conflict("证据中没有可识别的平台，无法登记", code="remedy_not_applicable")
    application: dict[str, Any] = {k: v for k, v in prefill.items() if k != "candidate_units" and v is not None} | {
        k: data[k] for k in REGISTER_FIELDS if data.get(k) not in (None, "")
    }
    if application.get("unit_id") is None:
        message = "无法确定主办单位，请选择"
        raise Invalid(message, details={"unit_id": [message], "candidate_units": prefill["candidate_units"]})
    application["reason"] = f"问题线索 #{finding.id}（未备案/体外运行）登记入台账：{reason}"[:2000]
    try:
        loaded = AccountIn().load(application)
    except ValidationError as exc:
        raise Invalid("登记信息有误", details=exc.messages) from exc
    if db.session.get(Unit, loaded["unit_id"]) is None:
        raise Invalid("主办单位不存在", details={"unit_id": ["主办单位不存在"]})
    account = service.create_account(loaded, actor)
    finding.account_id = account.id
    finding.unit_id = account.unit_id
    return {
        "remedy": REGISTER,
        "label": REMEDY_LABELS[REGISTER],
        "account_id": account.id,
        "account_name": account.name,
        "account_status": account.status.value,
        "unit_id": account.unit_id,
    }


# ----------------------------------------------------------------------------- close


def _close(finding: Finding, actor: User, reason: str, data: dict[str, Any]) -> dict[str, Any]:
    account = finding.account
    if account is None:
        raise Conflict("该问题线索没有关联台账账号，无法发起注销", code="remedy_not_applicable")
    values: dict[str, Any] = {"reason": f"问题线索 #{finding.id}：{reason}"[:2000]}
    for key in CLOSE_FIELDS:
        value = data.get(key)
        if value not in (None, ""):
            values[key] = value.isoformat() if isinstance(value, date) else value
    try:
        loaded = AccountActionIn().load(values)
    except ValidationError as exc:
        raise Invalid("注销申请信息有误", details=exc.messages) from exc
    event = service.advance(account, service.AccountAction.request_close, actor, **loaded)
    return {
        "remedy": CLOSE,
        "label": REMEDY_LABELS[CLOSE],
        "account_id": account.id,
        "account_name": account.name,
        "account_status": account.status.value,
        "event_id": event.id,
    }


# ----------------------------------------------------------------------------- resolve


def resolve(finding: Finding, remedy: str, actor: User, reason: str | None, data: dict[str, Any]) -> Finding:
    """``resolve`` with a remedy: 422 (unknown remedy, reason, input) → 409 (state, kind) → the
    service's own checks; the finding changes only when the remedy succeeded."""
    if remedy not in REMEDIES:
        raise Invalid(f"未知处置：{remedy}", details={"remedy": [f"可选：{', '.join(REMEDIES)}"]})
    checked = findings.check_reason("resolve", reason) or ""
    if finding.kind not in REMEDY_KINDS[remedy]:
        kinds = "、".join(k.value for k in REMEDY_KINDS[remedy])
        raise Conflict(
            f"“{REMEDY_LABELS[remedy]}”只适用于以下类型的问题线索：{kinds}",
            code="remedy_not_applicable",
            details={"kind": finding.kind.value, "remedy": remedy},
        )

    def run(f: Finding) -> dict[str, Any]:
        if remedy == REGISTER:
            return _register(f, actor, checked, data)
        return _close(f, actor, checked, data)

    return findings.act(finding, "resolve", actor, checked, remedy=run)


def remedies_for(user: User, finding: Finding, *, can_work: bool) -> list[dict[str, Any]]:
    """What the detail page and the API offer: each fitting remedy, whether it can be done now
    (and why not), and the pre-filled values."""
    if not can_work or finding.status not in findings.ACTIVE_STATUSES:
        return []
    out: list[dict[str, Any]] = []
    for remedy in applicable(finding):
        entry: dict[str, Any] = {"remedy": remedy, "label": REMEDY_LABELS[remedy], "available": True, "why_not": None}
        if remedy == REGISTER:
            entry["prefill"] = register_prefill(finding)
            if finding.account_id is not None:
                entry.update(available=False, why_not="已关联台账账号")
        else:
            account: Account | None = finding.account
            if account is None:
                entry.update(available=False, why_not="没有关联台账账号")
            else:
                entry["prefill"] = {"account_id": account.id, "account_name": account.name}
                try:
                    service.ensure_can(account, service.AccountAction.request_close, user)
                except ApiError as exc:  # the service's refusal, shown instead of the button
                    entry.update(available=False, why_not=exc.message)
        out.append(entry)
    return out

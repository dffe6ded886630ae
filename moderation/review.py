"""The three reviews (三审) as one state machine: ``advance(content, action, actor, **data)``.

Transitions (``TRANSITIONS``)::

    submit     draft | rejected  → review_1     operator/admin; checks pass; only 主动公开
               draft | rejected  → review_3     the same, when a registered decider grants the
                                                lighter review (moderation.light_review, event
                                                submit_light): stages 1–2 recorded as ``skipped``
    approve_1  review_1          → review_2     reviewer_1
    approve_2  review_2          → review_3     reviewer_2; acknowledges warn findings
    approve_3  review_3          → approved     reviewer_3 (→ scheduled if publish_at is ahead)
    reject     review_1|2|3      → rejected     that stage's reviewer; comment required

The moves themselves belong to the content lifecycle (``moderation.lifecycle``): this module
decides whether a review step may happen and asks the lifecycle to make the move, which checks
it against the one table, assigns the status and records the audit entry. Editing
(``moderation.service.update_content``) returns any of these to ``draft``. A refusal
raises before anything changes: other unit → 404, wrong role or person → 403, wrong state →
409, bad input → 422. Each step writes a Review row and an audit entry: submit writes one
with decision ``submit`` at stage 0 (the submitter, the hash that was submitted), approve and
reject one at the stage decided. Submit rows are never voided: they record who sent which
version into review.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context

from auth.models import ROLE_LABELS, Role, User
from auth.scoping import ensure_visible, unit_subtree_ids
from common.db import utcnow
from common.errors import Conflict, Forbidden, Invalid
from common.timefmt import waited
from extensions import db
from moderation import lifecycle, light_review, service, target_checks
from moderation.checks import BLOCK, WARN, CheckFinding, has_blocking
from moderation.models import (
    CONTENT_STATUS_LABELS,
    DISCLOSURE_LABELS,
    SUBMIT_STAGE,
    Content,
    ContentKind,
    ContentStatus,
    ContentVersion,
    Disclosure,
    Review,
    ReviewDecision,
)

# Re-exported: the platform-limit hook is part of the review's submit step.
register_target_checker = target_checks.register_target_checker
unregister_target_checker = target_checks.unregister_target_checker


class ReviewAction(enum.StrEnum):
    submit = "submit"
    approve_1 = "approve_1"
    approve_2 = "approve_2"
    approve_3 = "approve_3"
    reject = "reject"


STAGES = (1, 2, 3)
STAGE_LABELS = {1: "初审", 2: "复审", 3: "终审"}
STAGE_DUTIES = {
    1: "文字关：错别字、语法、人名地名、日期、职务、结构完整",
    2: "事实关：发布依据、事实数据、保密与个人信息（确认自动检查提示项）",
    3: "政治关：政治方向、社会效果、与法律政策一致，决定是否发布",
}
STAGE_STATUS = {1: ContentStatus.review_1, 2: ContentStatus.review_2, 3: ContentStatus.review_3}
STAGE_ROLES = {1: Role.reviewer_1, 2: Role.reviewer_2, 3: Role.reviewer_3}
APPROVE_ACTIONS = {1: ReviewAction.approve_1, 2: ReviewAction.approve_2, 3: ReviewAction.approve_3}
SUBMIT_ROLES = service.AUTHOR_ROLES

# Each action's moves, read from the one content transition table (moderation.lifecycle);
# approve_3 goes to approved, or scheduled when publish_at is still ahead (see _final_status).
TRANSITIONS: dict[ReviewAction, dict[ContentStatus, ContentStatus]] = {
    a: lifecycle.by_event(a.value) for a in ReviewAction
}

#: The lighter review's submit (moderation.light_review): draft|rejected → review_3.
LIGHT_SUBMIT = lifecycle.by_event("submit_light")

COMMENT_MIN = 2


def stage_of(status: ContentStatus | None) -> int | None:
    for stage, stage_status in STAGE_STATUS.items():
        if status is stage_status:
            return stage
    return None


# ----------------------------------------------------------------------------- settings


def superior_unit_stages() -> frozenset[int]:
    """Stages a reviewer of an ancestor unit may decide (REVIEW_SUPERIOR_UNIT_STAGES, default all).

    A list/tuple of stage numbers or a string like "2,3"; empty means own unit only.
    """
    value: Any = current_app.config.get("REVIEW_SUPERIOR_UNIT_STAGES", STAGES) if has_app_context() else STAGES
    if isinstance(value, str):
        value = [v for v in value.replace("，", ",").split(",") if v.strip()]
    return frozenset(int(v) for v in value)


def overdue_hours(stage: int) -> float:
    """REVIEW_OVERDUE_HOURS: a number for every stage, or per stage ({1: 24, …}, [24, 24, 48], "24,24,48")."""
    value: Any = current_app.config.get("REVIEW_OVERDUE_HOURS", 24) if has_app_context() else 24
    if isinstance(value, str) and "," in value:
        value = [v.strip() for v in value.split(",")]
    if isinstance(value, Mapping):
        value = value.get(stage, value.get(str(stage), 24))
    elif isinstance(value, list | tuple):
        value = value[stage - 1] if stage - 1 < len(value) else value[-1]
    return float(value)


def is_overdue(content: Content, now: datetime | None = None) -> bool:
    stage = stage_of(content.status)
    if stage is None or content.stage_entered_at is None:
        return False
    now = now or utcnow()
    return now - content.stage_entered_at > timedelta(hours=overdue_hours(stage))


# ----------------------------------------------------------------------------- guards


def _require_transition(content: Content, action: ReviewAction) -> ContentStatus:
    target = TRANSITIONS[action].get(content.status)
    if target is None:
        label = CONTENT_STATUS_LABELS[content.status]
        if action is ReviewAction.submit:
            message = f"稿件处于“{label}”状态，不能提交审核"
        else:
            message = f"稿件处于“{label}”状态，不在本环节的审核中"
        raise Conflict(message, code="invalid_state", details={"status": content.status.value, "action": action.value})
    return target


def _submitter_id(content: Content) -> int | None:
    return db.session.scalar(
        sa.select(ContentVersion.created_by_id).where(
            ContentVersion.content_id == content.id, ContentVersion.version == content.version
        )
    )


def reviewer_refusal(content: Content, stage: int, actor: User) -> Forbidden | None:
    """Why ``actor`` may not decide ``stage`` of the content's current version (None: they may)."""
    role = STAGE_ROLES[stage]
    if not actor.has_role(role):
        return Forbidden(
            f"{STAGE_LABELS[stage]}须由具有“{ROLE_LABELS[role]}”角色的审核人员完成",
            code="wrong_role",
            details={"required_roles": [role.value]},
        )
    if actor.id in {content.author_id, _submitter_id(content)}:
        return Forbidden("您是本稿件的作者（或提交人），不能审核自己的稿件", code="author_cannot_review")
    if content.unit_id not in unit_subtree_ids(actor.unit_id):
        return Forbidden("该稿件不属于您所在单位及下属单位，不能审核", code="out_of_review_scope")
    if content.unit_id != actor.unit_id and stage not in superior_unit_stages():
        return Forbidden(f"{STAGE_LABELS[stage]}须由稿件所属单位的审核人员完成", code="out_of_review_scope")
    earlier = db.session.scalars(
        sa.select(Review).where(
            Review.content_id == content.id,
            Review.version == content.version,
            Review.reviewer_id == actor.id,
            Review.decision == ReviewDecision.approve,  # a skipped stage was nobody's review
            Review.voided.is_(False),
            Review.stage < stage,
        )
    ).first()
    if earlier is not None:
        return Forbidden(
            f"同一版本的各审核环节须由不同人员完成：您已通过本版本的{STAGE_LABELS[earlier.stage]}",
            code="same_reviewer",
        )
    return None


def _check_integrity(content: Content) -> str:
    """The content still says what was submitted for this version; returns its hash."""
    current = service.content_hash(content)
    submitted = db.session.scalar(
        sa.select(ContentVersion.content_hash).where(
            ContentVersion.content_id == content.id, ContentVersion.version == content.version
        )
    )
    if submitted is None or submitted != current:
        raise Conflict("稿件内容与提交审核的版本不一致，请退回后重新提交", code="content_changed")
    return current


def _warnings(content: Content) -> list[dict[str, Any]]:
    report = service.latest_report(content)
    if report is None:
        return []
    return [f for f in report.findings if f.get("severity") == WARN]


# ----------------------------------------------------------------------------- submit


def submission_problems(content: Content) -> tuple[dict[str, Any], list[CheckFinding]]:
    """Field problems (422 details) and the check findings for a submission of ``content``."""
    details: dict[str, Any] = {}
    if content.disclosure is not Disclosure.active:
        details["disclosure"] = [f"只有“主动公开”的稿件可以提交发布（当前为“{DISCLOSURE_LABELS[content.disclosure]}”）"]
    if not (content.title or "").strip():
        details["title"] = ["标题不能为空"]
    if not (content.body_text or "").strip() and not content.media:
        details["body"] = ["正文不能为空"]
    target_ids = [a.id for a in content.targets]
    if not target_ids:
        details["target_ids"] = ["请至少选择一个发布账号"]
    else:
        _, problems = service.target_problems(content.unit_id, target_ids)
        if problems:
            details["target_ids"] = problems
    if content.kind is ContentKind.interpretation:
        if content.policy_id is None:
            details["policy_id"] = ["政策解读必须关联所解读的政策文件（三同步）"]
        else:
            problem = service.policy_problem(content.policy_id, content.unit_id, content)
            if problem:
                details["policy_id"] = [problem]
    return details, service.run_checks(content)


def _submit(content: Content, actor: User, data: Mapping[str, Any]) -> dict[str, Any]:
    if not actor.has_role(*SUBMIT_ROLES):
        raise Forbidden("只有运营人员可以提交稿件审核", code="wrong_role")
    target = _require_transition(content, ReviewAction.submit)
    details, findings = submission_problems(content)
    if details:
        first = next(iter(details.values()))
        message = first[0] if isinstance(first, list) else next(iter(first.values()))
        code = "disclosure_not_public" if "disclosure" in details else "validation_error"
        if set(details) == {"target_ids"} and isinstance(details["target_ids"], dict):
            code = "invalid_targets"
        raise Invalid(message, code=code, details=details)
    if has_blocking(findings):
        blocking = [f for f in findings if f.severity == BLOCK]
        raise Invalid(
            f"自动检查发现 {len(blocking)} 处必须修改的问题，不能提交审核",
            code="checks_blocked",
            details={"findings": [service.finding_dict(f, content) for f in findings]},
        )

    grant = light_review.grant_for(content, actor)
    if grant is not None:
        target = LIGHT_SUBMIT[content.status]
    before = {"status": content.status.value, "version": content.version}
    if service.needs_new_version(content):
        content.version += 1
    voided = service.void_approvals(content)
    content.stage_entered_at = utcnow()
    content.warnings_acknowledged = False
    content.approved_hash = None
    content.approved_version = None
    content.content_hash = service.content_hash(content)
    service.write_version(content, actor)
    report = service.store_report(content, findings)
    row = Review(
        content_id=content.id,
        version=content.version,
        stage=SUBMIT_STAGE,
        reviewer_id=actor.id,
        decision=ReviewDecision.submit,
        comment=None,
        content_hash=content.content_hash,
        at=utcnow(),
    )
    db.session.add(row)
    skipped = [
        Review(
            content_id=content.id,
            version=content.version,
            stage=stage,
            reviewer_id=actor.id,
            decision=ReviewDecision.skipped,
            comment=grant.notice,
            content_hash=content.content_hash,
            at=row.at,
        )
        for stage in (light_review.SKIPPED_STAGES if grant is not None else ())
    ]
    db.session.add_all(skipped)
    db.session.flush()
    after: dict[str, Any] = {
        "version": content.version,
        "hash": content.content_hash,
        "check_report_id": report.id,
        "review_id": row.id,
        "warnings": sum(1 for f in findings if f.severity == WARN),
        "voided_reviews": voided,
    }
    if grant is not None:
        after["light_review"] = {
            "notice": grant.notice,
            "skipped_stages": list(light_review.SKIPPED_STAGES),
            "skipped_review_ids": [r.id for r in skipped],
            **grant.basis,
        }
    return {"to": target, "before": before, "after": after}


# ----------------------------------------------------------------------------- approve / reject


def _decide(content: Content, action: ReviewAction, actor: User, data: Mapping[str, Any]) -> dict[str, Any]:
    if action is ReviewAction.reject:
        target = _require_transition(content, action)  # 409 outside the review stages
        stage = int(stage_of(content.status) or 0)
    else:
        stage = int(action.value[-1])
        role = STAGE_ROLES[stage]
        if not actor.has_role(role):
            raise Forbidden(
                f"{STAGE_LABELS[stage]}须由具有“{ROLE_LABELS[role]}”角色的审核人员完成",
                code="wrong_role",
                details={"required_roles": [role.value]},
            )
        target = _require_transition(content, action)
    refusal = reviewer_refusal(content, stage, actor)
    if refusal is not None:
        raise refusal
    expected_version = data.get("version")
    if expected_version is not None and int(expected_version) != content.version:
        raise Conflict(
            f"稿件已更新为第 {content.version} 版，请刷新后重新审核",
            code="version_changed",
            details={"version": content.version},
        )
    current_hash = _check_integrity(content)
    comment = (data.get("comment") or "").strip() or None

    if action is ReviewAction.reject and (comment is None or len(comment) < COMMENT_MIN):
        raise Invalid("退回稿件时必须填写退回意见", details={"comment": ["退回稿件时必须填写退回意见"]})
    warnings = _warnings(content) if stage == 2 and action is not ReviewAction.reject else []
    if warnings and not data.get("acknowledge_warnings"):
        raise Invalid(
            f"自动检查有 {len(warnings)} 条提示，复审通过前须逐条核实并勾选确认",
            code="warnings_not_acknowledged",
            details={
                "acknowledge_warnings": ["请确认已核实自动检查的提示项"],
                "findings": [service.finding_dict(f, content) for f in warnings],
            },
        )

    before = {"status": content.status.value, "version": content.version, "stage": stage}
    review = Review(
        content_id=content.id,
        version=content.version,
        stage=stage,
        reviewer_id=actor.id,
        decision=ReviewDecision.reject if action is ReviewAction.reject else ReviewDecision.approve,
        comment=comment,
        content_hash=current_hash,
        at=utcnow(),
    )
    db.session.add(review)
    voided: list[int] = []
    if action is ReviewAction.reject:
        voided = service.void_approvals(content)
        content.stage_entered_at = None
        content.approved_hash = None
        content.approved_version = None
    elif stage == 3:
        target = _final_status(content)
        content.approved_hash = current_hash
        content.approved_version = content.version
        content.stage_entered_at = None
    else:
        if stage == 2 and warnings:
            content.warnings_acknowledged = True
        content.stage_entered_at = utcnow()
    db.session.flush()
    after: dict[str, Any] = {
        "version": content.version,
        "review_id": review.id,
        "hash": current_hash,
    }
    if comment:
        after["comment"] = comment
    if warnings:
        after["acknowledged_warnings"] = len(warnings)
    if voided:
        after["voided_reviews"] = voided
    return {"to": target, "before": before, "after": after}


def _final_status(content: Content) -> ContentStatus:
    if content.publish_at is not None and content.publish_at > utcnow():
        return ContentStatus.scheduled
    return ContentStatus.approved


# ----------------------------------------------------------------------------- the one entry point


def advance(content: Content, action: ReviewAction | str, actor: User, **data: Any) -> Content:
    """Move ``content`` one step through the review; validates everything before changing anything.

    ``data``: ``comment`` (reject: required), ``acknowledge_warnings`` (stage 2 with warn
    findings: must be true), ``version`` (optional guard: the version the reviewer saw).
    """
    try:
        action = ReviewAction(action)
    except ValueError:
        choices = ", ".join(a.value for a in ReviewAction)
        raise Invalid(f"未知的审核操作：{action}", details={"action": [f"可选：{choices}"]}) from None
    ensure_visible(actor, content.unit_id)
    service.lock(content)
    if action is ReviewAction.submit:
        change = _submit(content, actor, data)
    else:
        change = _decide(content, action, actor, data)
    lifecycle.transition(content, change["to"], actor=actor, before=change["before"], after=change["after"])
    db.session.flush()
    return content


def review(
    content: Content,
    actor: User,
    decision: str,
    *,
    comment: str | None = None,
    acknowledge_warnings: bool = False,
    stage: int | None = None,
    version: int | None = None,
) -> Content:
    """A reviewer's decision on the content's current stage (POST /contents/{id}/reviews)."""
    ensure_visible(actor, content.unit_id)
    current = stage_of(content.status)
    if current is None:
        raise Conflict(
            f"稿件处于“{CONTENT_STATUS_LABELS[content.status]}”状态，不在审核中",
            code="invalid_state",
            details={"status": content.status.value},
        )
    if stage is not None and stage != current:
        raise Conflict(
            f"稿件当前处于{STAGE_LABELS[current]}环节，不是{STAGE_LABELS.get(stage, stage)}",
            code="stage_changed",
            details={"stage": current},
        )
    if decision == ReviewDecision.reject.value:
        action = ReviewAction.reject
    elif decision == ReviewDecision.approve.value:
        action = APPROVE_ACTIONS[current]
    else:
        raise Invalid("审核结论应为 approve 或 reject", details={"decision": ["审核结论应为 approve 或 reject"]})
    return advance(content, action, actor, comment=comment, acknowledge_warnings=acknowledge_warnings, version=version)


def submit(content: Content, actor: User) -> Content:
    return advance(content, ReviewAction.submit, actor)


# ----------------------------------------------------------------------------- queue


def reviewer_stages(user: User) -> list[int]:
    return [s for s in STAGES if user.has_role(STAGE_ROLES[s])]


def queue_statement(user: User, stages: Iterable[int]) -> sa.Select[Any]:
    """Content waiting at ``stages`` that ``user`` may review, oldest in its stage first."""
    own_subtree = unit_subtree_ids(user.unit_id)
    superior = superior_unit_stages()
    clauses = []
    for stage in stages:
        units = Content.unit_id.in_(own_subtree) if stage in superior else Content.unit_id == user.unit_id
        clauses.append(sa.and_(Content.status == STAGE_STATUS[stage], units))
    if not clauses:
        return sa.select(Content).where(sa.false())
    return sa.select(Content).where(sa.or_(*clauses)).order_by(Content.stage_entered_at, Content.id)


@dataclass(frozen=True)
class QueueEntry:
    content: Content
    stage: int
    overdue: bool
    waiting_hours: float
    can_review: bool
    refusal: str | None

    @property
    def waiting_label(self) -> str:
        return waited(self.waiting_hours)


def queue_entry(content: Content, user: User, now: datetime | None = None) -> QueueEntry:
    now = now or utcnow()
    stage = stage_of(content.status) or 0
    refusal = reviewer_refusal(content, stage, user) if stage else None
    entered = content.stage_entered_at or now
    return QueueEntry(
        content=content,
        stage=stage,
        overdue=is_overdue(content, now),
        waiting_hours=round((now - entered).total_seconds() / 3600, 1),
        can_review=refusal is None and stage != 0,
        refusal=refusal.message if refusal is not None else None,
    )


def open_rejections(content_ids: Iterable[int]) -> dict[int, Review]:
    """Per content: the reviewer's 退回 its author has not answered yet by submitting again (the
    reason to show where they edit, on the post's page and in 待办). One query for them all."""
    ids = sorted(set(content_ids))
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(Review)
        .where(Review.content_id.in_(ids), Review.decision.in_((ReviewDecision.submit, ReviewDecision.reject)))
        .order_by(Review.content_id, Review.at, Review.id)
    )
    last: dict[int, Review] = {}
    for row in rows:
        last[row.content_id] = row
    return {cid: r for cid, r in last.items() if r.decision is ReviewDecision.reject}


def open_rejection(content: Content) -> Review | None:
    return open_rejections([content.id]).get(content.id) if content.id is not None else None

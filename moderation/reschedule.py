"""改期: move a content's publish time (the calendar's drag and its 改期 button, and the API).

The review rules for a time change (docs/review.md「改期」):

* The publish time is not part of what reviewers approve: ``content_hash`` covers title, body,
  media, targets… but not ``publish_at``. Changing *only* the time is therefore a recorded
  reschedule — an audit entry ``content:reschedule`` with the old and new time — never a new
  version, and no approval is voided: nothing needs to be reviewed again. A change of anything
  else goes through the editor (``service.update_content``: new version, back to draft).
* Allowed while the content has not started publishing: 草稿、已退回、初审/复审/终审中、已排期
  (stays 已排期), and 已终审 not yet claimed (moves to 已排期 through the lifecycle table).
  Once 发布中/已发布/撤回… the time is history and a change is refused (409 ``not_reschedulable``).
* The new time must lie ahead (422 ``publish_at_past``, in Chinese with the current Beijing time).
* Operators and admins of the content's unit (the caller checks the unit scope); reviewers and
  auditors may not (403 ``wrong_role``).
* 三同步: a policy and its 解读 go out together when every member is due; moving one member
  is allowed and the answer names the others, which keep their own time.

Services flush; the request commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audit import service as audit
from auth.models import User
from common.db import utcnow
from common.errors import Conflict, Forbidden, Invalid
from common.fields import LATEST
from common.timefmt import bj
from moderation import lifecycle
from moderation.models import CONTENT_STATUS_LABELS, Content, ContentStatus
from moderation.service import AUTHOR_ROLES, linked_group, lock

S = ContentStatus
ACTION = "content:reschedule"
#: statuses whose time may still change (the content keeps its status, except approved → scheduled)
RESCHEDULABLE = frozenset({S.draft, S.rejected, S.review_1, S.review_2, S.review_3, S.approved, S.scheduled})


@dataclass
class Rescheduled:
    content: Content
    before: datetime | None
    after: datetime
    changed: bool
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "content_id": self.content.id,
            "status": self.content.status.value,
            "status_label": CONTENT_STATUS_LABELS[self.content.status],
            "version": self.content.version,
            "publish_at_before": self.before,
            "publish_at": self.after,
            "changed": self.changed,
            "new_version": False,
            "needs_review": False,
            "notes": self.notes,
        }


def check_time(when: datetime | None, now: datetime | None = None) -> datetime:
    """The new time (naive UTC) or Invalid with a Chinese message a person can act on."""
    now = now or utcnow()
    if when is None:
        raise Invalid("请填写新的发布时间", code="publish_at_missing", details={"publish_at": ["请填写新的发布时间"]})
    if when <= now:
        message = f"发布时间 {bj(when)} 已经过去（现在是北京时间 {bj(now)}），请选择将来的时间"
        raise Invalid(message, code="publish_at_past", details={"publish_at": [message]})
    if when > LATEST:
        raise Invalid("发布时间须早于 2100 年", code="validation_error", details={"publish_at": ["超出范围"]})
    return when


def reschedule(content: Content, when: datetime | None, actor: User, *, now: datetime | None = None) -> Rescheduled:
    """Move ``content`` to publish at ``when`` (naive UTC): a recorded reschedule, no new version."""
    if not actor.has_role(*AUTHOR_ROLES):
        raise Forbidden(
            "只有运营人员或管理员可以调整发布时间",
            code="wrong_role",
            details={"required_roles": [r.value for r in AUTHOR_ROLES]},
        )
    lock(content)  # the scheduler claims with SKIP LOCKED: it cannot claim this content meanwhile
    if content.status not in RESCHEDULABLE:
        raise Conflict(
            f"稿件处于“{CONTENT_STATUS_LABELS[content.status]}”状态，已开始发布或已结束，不能改期",
            code="not_reschedulable",
            details={"status": content.status.value},
        )
    when = check_time(when, now)
    before = content.publish_at
    result = Rescheduled(content, before, when, changed=before != when)
    others = [m for m in linked_group(content) if m.id != content.id and m.status is not S.withdrawn]
    if others:
        names = "、".join(f"#{m.id}" for m in others)
        result.notes.append(f"三同步：同组稿件（{names}）保留各自的发布时间，整组在最晚的时间一起发布")
    if not result.changed:
        return result
    content.publish_at = when
    values = {
        "before": {"publish_at": before.isoformat() if before else None, "status": content.status.value},
        "after": {"publish_at": when.isoformat(), "version": content.version, "new_version": False},
    }
    if content.status is S.approved:
        # 终审通过 waiting for the scheduler: with a time ahead it is 已排期 now (one audit entry)
        lifecycle.transition(content, S.scheduled, actor=actor, before=values["before"], after=values["after"])
    else:
        audit.record(ACTION, content, before=values["before"], after=values["after"], actor=actor)
    if content.status in (S.review_1, S.review_2, S.review_3, S.scheduled):
        result.notes.append("只改了发布时间：审核内容未变，无需重新审核，已有审核意见继续有效")
    return result

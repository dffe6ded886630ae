"""Role-based navigation entries; each page blueprint lists itself here."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from auth.models import Role, User
from notify.todo import total


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: tuple[Role, ...]


ALL_ROLES = tuple(Role)
NAV: tuple[NavItem, ...] = (
    NavItem("notify.todo_page", "待办", ALL_ROLES),
    NavItem("registry.ledger", "台账", (Role.operator, Role.auditor, Role.admin)),
    NavItem("registry.matrix", "矩阵", (Role.operator, Role.auditor, Role.admin)),
    NavItem("registry.inbox", "审批", (Role.auditor, Role.admin)),
    NavItem("moderation.contents", "稿件", (Role.operator, Role.admin)),
    NavItem("moderation.queue", "审核", (Role.reviewer_1, Role.reviewer_2, Role.reviewer_3)),
    NavItem("moderation.review_history_page", "我审核过的", (Role.reviewer_1, Role.reviewer_2, Role.reviewer_3)),
    NavItem("intake.feeds_page", "网站订阅", (Role.operator, Role.auditor, Role.admin)),
    NavItem("publishers.calendar", "发布日历", (Role.operator, Role.auditor, Role.admin)),
    NavItem("findings.workbench", "问题线索", (Role.operator, Role.auditor, Role.admin)),
    NavItem("workorders.board", "整改工单", (Role.operator, Role.auditor, Role.admin)),
    NavItem("reposts.index", "转载任务", (Role.operator, Role.auditor, Role.admin)),
    NavItem("inspection.coverage_page", "巡检覆盖", (Role.operator, Role.auditor, Role.admin)),
    NavItem("interaction.inbox", "互动回应", (Role.operator, Role.auditor, Role.admin)),
    NavItem("scoring.index", "考评", (Role.operator, Role.auditor, Role.admin)),
    NavItem("reports.index", "报表", (Role.auditor, Role.admin)),
    NavItem("jobs.index", "后台任务", (Role.operator, Role.auditor, Role.admin)),
    NavItem("admin.index", "系统管理", (Role.admin,)),
)


def nav_items(user: User) -> list[dict[str, str]]:
    items = []
    for item in NAV:
        if not user.has_role(*item.roles):
            continue
        label = item.label
        if item.endpoint == "notify.todo_page":
            label = f"{label}（{total(user)}）"
        items.append({"url": url_for(item.endpoint), "label": label})
    return items

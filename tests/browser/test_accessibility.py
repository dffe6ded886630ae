"""Every page passes axe-core (WCAG 2 A/AA: no serious or critical violation), in the normal
and the 高对比度 display, with no script error or CSP violation, and gets a screenshot.

Pages are listed by name in PAGES. A page whose route is not in this build yet (404) is
skipped locally and FAILS under CI=true. Add a page by adding a PageSpec; its path comes from
the endpoint when the blueprint is registered, else from the literal fallback path.
Every link in the navigation bar of every role is checked too (test_navigation_pages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests import services
from tests.browser.conftest import LiveStack, axe, js_errors, login, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def a11y_world(live_stack: LiveStack) -> dict[str, int]:
    """Non-empty pages for axe: a content waiting at 初审, a published content with a sent and a
    failed delivery, an open finding, and accounts with varied last-post dates."""
    import sqlalchemy as sa

    from auth.models import User
    from common.db import utcnow
    from common.jobs import JobRun
    from moderation import review, service
    from moderation.models import ContentStatus
    from publishers.models import Delivery, DeliveryStatus
    from registry.findings import FindingInput, upsert_many
    from registry.models import Account, FindingKind

    with live_stack.db() as session:
        operator = session.scalar(sa.select(User).where(User.username == "operator"))
        accounts = list(
            session.scalars(sa.select(Account).where(Account.unit_id == operator.unit_id).order_by(Account.id))
        )
        now = utcnow()
        for account, days in zip(accounts, (1, 9, 40, 120), strict=False):
            account.last_post_at = now - timedelta(days=days)
        weibo = next(a for a in accounts if a.platform.value == "weibo")
        wechat = next(a for a in accounts if a.platform.value == "wechat")

        waiting = service.create_content(
            {"title": "无障碍测试：待初审稿件", "body": "<p>本县召开防汛工作会议。</p>", "target_ids": [weibo.id]},
            operator,
        )
        review.submit(waiting, operator)
        waiting.stage_entered_at = now - timedelta(hours=30)  # overdue

        published = service.create_content(
            {
                "title": "无障碍测试：已发布稿件",
                "body": "<p>本县秋季招生工作顺利完成。</p>",
                "target_ids": [weibo.id, wechat.id],
            },
            operator,
        )
        published.status = ContentStatus.published
        for account, status in ((weibo, DeliveryStatus.sent), (wechat, DeliveryStatus.failed)):
            delivery = Delivery(
                content_id=published.id,
                version=published.version,
                account_id=account.id,
                status=status,
                attempts=1 if status is DeliveryStatus.sent else 6,
                idempotency_key=f"a11y-{published.id}-{account.id}",
                content_hash=published.content_hash or "",
            )
            if status is DeliveryStatus.sent:
                delivery.platform_post_id = "a11y-1"
                delivery.platform_url = "https://example.invalid/a11y-1"
                delivery.sent_at = now
            else:
                delivery.last_error_code = "45009"
                delivery.last_error_message = "接口调用超过限额（测试数据）"
                delivery.retryable = False
            session.add(delivery)
        report = upsert_many(
            [
                FindingInput(
                    kind=FindingKind.inactive_14d,
                    fingerprint=f"a11y:inactive:{accounts[2].id}",
                    evidence={"message": "超过14天未更新（无障碍测试数据）"},
                    account_id=accounts[2].id,
                    unit_id=accounts[2].unit_id,
                )
            ]
        )
        auditor = session.scalar(sa.select(User).where(User.username == "auditor"))
        rejected = JobRun(
            kind="ledger_import",
            user_id=auditor.id,
            status="failed",
            params={"filename": "台账补录.xlsx", "dry_run": False},
            message="导入失败：共 2 处错误，未写入任何数据",
            result={
                "rows": 12,
                "total_errors": 2,
                "errors": [
                    {"row": 3, "column": "开设日期", "reason": "日期不存在"},
                    {"row": 7, "column": "主办单位", "reason": "系统中没有名为“某某局”的单位"},
                ],
            },
            finished_at=now,
        )
        running = JobRun(
            kind="ledger_export",
            user_id=auditor.id,
            status="running",
            progress=3000,
            total=10000,
            message="已导出 3000 / 10000 行…",
            started_at=now,
            heartbeat_at=now + timedelta(days=1),
        )
        session.add_all([rejected, running])
        session.flush()
        finding = (report.created or report.updated or report.reopened or report.unchanged_closed)[0]
        return {
            "waiting": waiting.id,
            "published": published.id,
            "account": weibo.id,
            "finding": finding.id,
            "job_failed": rejected.id,
            "job_running": running.id,
        }


Resolve = Callable[[LiveStack, dict[str, int]], "str | None"]


def endpoint(name: str, fallback: str | None, **ids: str) -> Resolve:
    """The page's path from its endpoint if registered, else ``fallback`` (formatted with the ids)."""

    def resolve(stack: LiveStack, world: dict[str, int]) -> str | None:
        values = {arg: world[key] for arg, key in ids.items()}
        path = stack.url_for(name, **values)
        if path is None and fallback is not None:
            path = fallback.format(**values)
        return path

    return resolve


@dataclass(frozen=True)
class PageSpec:
    name: str
    user: str | None
    resolve: Resolve
    #: the page reloads itself (static/js/autorefresh.js): pause it so axe is not cut off
    autorefresh: bool = False

    def __str__(self) -> str:
        return self.name


PAGES = [
    PageSpec("login", None, lambda stack, world: "/login"),
    PageSpec("dashboard-auditor", "auditor", endpoint("dashboard.index", "/")),
    PageSpec("dashboard-operator", "operator", endpoint("dashboard.index", "/")),
    PageSpec("dashboard-reviewer", "reviewer1", endpoint("dashboard.index", "/")),
    PageSpec("registry", "auditor", endpoint("registry.ledger", "/registry")),
    PageSpec("calendar", "operator", endpoint("publishers.calendar", "/publishing/calendar")),
    PageSpec(
        "account",
        "auditor",
        endpoint("registry.account_page", "/registry/accounts/{account_id}", account_id="account"),
    ),
    PageSpec("matrix", "auditor", endpoint("registry.matrix", "/registry/matrix")),
    PageSpec("approvals", "auditor", endpoint("registry.inbox", "/registry/inbox")),
    PageSpec("apply", "operator", endpoint("registry.apply_page", "/registry/apply")),
    PageSpec("editor", "operator", endpoint("moderation.new_content", "/contents/new")),
    PageSpec(
        "content", "operator", endpoint("moderation.content_detail", "/contents/{content_id}", content_id="waiting")
    ),
    PageSpec("contents", "operator", endpoint("moderation.contents", "/contents")),
    PageSpec("review-queue", "reviewer1", endpoint("moderation.queue", "/review")),
    PageSpec(
        "review-page", "reviewer1", endpoint("moderation.review_page", "/review/{content_id}", content_id="waiting")
    ),
    PageSpec(
        "delivery-status",
        "operator",
        endpoint("publishers.deliveries_page", "/publishing/contents/{content_id}", content_id="published"),
        autorefresh=True,
    ),
    PageSpec("findings", "auditor", endpoint("findings.workbench", "/findings")),
    PageSpec("finding", "auditor", endpoint("findings.detail", "/findings/{finding_id}", finding_id="finding")),
    PageSpec("reports", "auditor", endpoint("reports.index", "/reports")),
    PageSpec("jobs", "auditor", endpoint("jobs.index", "/jobs")),
    PageSpec("job-import-errors", "auditor", endpoint("jobs.detail", "/jobs/{job_id}", job_id="job_failed")),
    PageSpec("job-progress", "auditor", endpoint("jobs.detail", "/jobs/{job_id}", job_id="job_running")),
]


def missing(message: str) -> None:
    if services.in_ci():
        pytest.fail(message + " (CI=true: every listed page must exist)", pytrace=False)
    pytest.skip(message)


def check_page(page: Any, name: str) -> None:
    """axe in the normal and in the high-contrast display; a screenshot of each."""
    shot(page, f"a11y-{name}")
    axe(page, name)
    page.get_by_role("button", name="高对比度").click()
    assert page.evaluate("() => document.documentElement.classList.contains('gm-high-contrast')")
    shot(page, f"a11y-{name}-high-contrast")
    axe(page, f"{name}-high-contrast")
    page.get_by_role("button", name="高对比度").click()
    assert not js_errors(page), f"script errors or CSP violations on {name}: {js_errors(page)}"


@pytest.mark.parametrize("spec", PAGES, ids=str)
def test_page_accessible(page: Any, live_stack: LiveStack, a11y_world: dict[str, int], spec: PageSpec) -> None:
    path = spec.resolve(live_stack, a11y_world)
    if path is None:
        missing(f"page {spec.name!r} is not part of this build")
    if spec.user:
        login(page, spec.user)
    response = page.goto(path)
    assert response is not None
    if response.status == 404:
        missing(f"page {spec.name!r} ({path}) answers 404")
    assert response.status == 200, f"{spec.name} ({path}) answered {response.status}"
    assert page.locator("h1").count() >= 1, f"{spec.name} has no <h1>"
    if spec.autorefresh:
        page.evaluate("() => document.dispatchEvent(new Event('input'))")  # its own 'user is typing' pause
    check_page(page, spec.name)


@pytest.mark.parametrize("user", ["operator", "reviewer1", "auditor", "admin", "edu_operator"])
def test_navigation_pages(page: Any, live_stack: LiveStack, a11y_world: dict[str, int], user: str) -> None:
    """Every page in the navigation bar of each role (pages appear here as they are built)."""
    login(page, user)
    links = page.locator('nav[aria-label="主导航"] a').evaluate_all("(as) => as.map((a) => a.getAttribute('href'))")
    assert links, f"{user} has no navigation"
    for href in dict.fromkeys(links):
        response = page.goto(href)
        assert response is not None and response.status == 200, (
            f"{user}: {href} answered {response and response.status}"
        )
        axe(page, f"nav-{user}-{href}")
        assert not js_errors(page), f"script errors or CSP violations on {href}: {js_errors(page)}"


@pytest.mark.parametrize(("path", "user"), [("/login", None), ("/", "auditor"), ("/", "reviewer1")])
def test_reflow_at_320_css_pixels(page: Any, live_stack: LiveStack, path: str, user: str | None) -> None:
    """WCAG 1.4.10: at 320 px wide nothing but a table's own scroll region scrolls sideways
    (checked on the pages whose templates and CSS are base.html/app.css/dashboard.html)."""
    if user:
        login(page, user)
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(path)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    shot(page, f"reflow-320-{user or 'anonymous'}{path.replace('/', '-')}")
    assert widths[0] <= widths[1], f"{path} scrolls sideways at 320 px: content {widths[0]} px wide"
    page.get_by_role("button", name="大字模式").click()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{path} in 大字模式 scrolls sideways at 320 px: content {widths[0]} px wide"

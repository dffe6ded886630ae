"""Every page passes axe-core (WCAG 2.0/2.1 A+AA, WCAG 2.2 AA and best practices: no serious or
critical violation), in the normal, the 高对比度 and the 大字模式 display, with no script error
or CSP violation, and gets a screenshot of each.

Pages are listed by name in PAGES. A page whose route is not in this build yet (404) is
skipped locally and FAILS under CI=true. Add a page by adding a PageSpec; its path comes from
the endpoint when the blueprint is registered, else from the literal fallback path.
Every link in the navigation bar of every role is checked too (test_navigation_pages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from devkit import services
from tests.browser.conftest import LiveStack, axe, js_errors, login, shot

pytestmark = pytest.mark.browser


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
    PageSpec("calendar-month", "operator", lambda stack, world: stack.url_for("publishers.calendar", view="month")),
    PageSpec("calendar-day", "operator", lambda stack, world: stack.url_for("publishers.calendar", view="day")),
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
    PageSpec(
        "live-post", "operator", endpoint("inspection.post_page", "/inspection/posts/{post_id}", post_id="live_post")
    ),
    PageSpec("reports", "auditor", endpoint("reports.index", "/reports")),
    PageSpec("jobs", "auditor", endpoint("jobs.index", "/jobs")),
    PageSpec("job-import-errors", "auditor", endpoint("jobs.detail", "/jobs/{job_id}", job_id="job_failed")),
    PageSpec("job-progress", "auditor", endpoint("jobs.detail", "/jobs/{job_id}", job_id="job_running")),
]


def missing(message: str) -> None:
    if services.in_ci():
        pytest.fail(message + " (CI=true: every listed page must exist)", pytrace=False)
    pytest.skip(message)


#: the display switches in the header: (button label, class on <html>, suffix of the screenshot/report)
DISPLAYS = (("高对比度", "gm-high-contrast", "high-contrast"), ("大字模式", "gm-large-font", "large-font"))


def check_page(page: Any, name: str) -> None:
    """axe in the normal, the 高对比度 and the 大字模式 display; a screenshot of each."""
    shot(page, f"a11y-{name}")
    axe(page, name)
    for label, css_class, suffix in DISPLAYS:
        has_class = f"() => document.documentElement.classList.contains('{css_class}')"
        page.get_by_role("button", name=label).click()
        assert page.evaluate(has_class), f"{label} did not switch on for {name}"
        shot(page, f"a11y-{name}-{suffix}")
        axe(page, f"{name}-{suffix}")
        page.get_by_role("button", name=label).click()
        assert not page.evaluate(has_class), f"{label} did not switch off again for {name}"
    assert not js_errors(page), f"script errors or CSP violations on {name}: {js_errors(page)}"


def open_page(page: Any, stack: LiveStack, world: dict[str, int], spec: PageSpec) -> None:
    path = spec.resolve(stack, world)
    if path is None:
        missing(f"page {spec.name!r} is not part of this build")
    if spec.user:
        login(page, spec.user)
    response = page.goto(path)
    assert response is not None
    if response.status == 404:
        missing(f"page {spec.name!r} ({path}) answers 404")
    assert response.status == 200, f"{spec.name} ({path}) answered {response.status}"
    if spec.autorefresh:
        page.evaluate("() => document.dispatchEvent(new Event('input'))")  # its own 'user is typing' pause


@pytest.mark.parametrize("spec", PAGES, ids=str)
def test_page_accessible(page: Any, live_stack: LiveStack, a11y_world: dict[str, int], spec: PageSpec) -> None:
    open_page(page, live_stack, a11y_world, spec)
    assert page.locator("h1").count() >= 1, f"{spec.name} has no <h1>"
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

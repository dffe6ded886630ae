"""Browser tests: the real stack as processes, driven by Playwright in Debian's Chromium.

What is here, for every browser test (and the end-to-end journeys to come):

* ``live_stack`` (session): a fresh SQLite database and SQLite broker under /tmp, ``flask db
  upgrade`` + ``flask seed-demo``, then gunicorn, a Celery worker, the scheduler and the sandbox
  platforms as real processes (tests/processes.ProcessGroup) on free 127.0.0.1 ports, waited
  for until /healthz is green. ``start_live_stack(dir)`` gives a private one to a test that needs
  a clean world.
* ``browser`` (session) and ``page`` (per test: a new context, so new cookies and storage);
  ``as_user(name)`` opens a further signed-in page per person for multi-user journeys.
  Chromium is /usr/bin/chromium (``make browser-deps`` installs it); it is never downloaded.
* On the stack: ``stack.api(method, path, token=stack.token("operator"))`` for the JSON API,
  ``stack.sandbox_posts()`` / ``stack.sandbox("POST", "/_sandbox/faults", json=…)`` for the
  simulated platforms, ``with stack.db() as session:`` to arrange or read state,
  ``stack.url_for(endpoint)``, ``stack.flask(...)`` for the CLI, ``wait_until(fn)`` to poll.

A journey is a module of tests marked ``browser`` that uses these; one that needs a world of
its own takes ``start_live_stack(dir)`` in a module-scoped fixture instead of ``live_stack``.
* ``a11y_world`` (session): ids of non-empty pages (a post at 初审, a published post, a finding…)
  for the accessibility and keyboard tests.
* ``login(page, username)``, ``shot(page, name)`` (test-output/screenshots/NAME.png) and
  ``axe(page)`` (axe-core from node_modules: WCAG 2.0/2.1 A/AA, WCAG 2.2 AA and best practices;
  fails on serious/critical).

Without Chromium or axe-core the tests skip locally and FAIL under CI=true.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import url_for
from playwright.sync_api import sync_playwright
from werkzeug.routing import BuildError

from app import create_app
from auth.models import User
from common.db import utcnow
from common.timefmt import CN_TZ
from devkit import processes, services
from extensions import db
from jobs import JobRun
from moderation import review, service
from moderation.models import ContentStatus
from oversight.findings import FindingInput, upsert_many
from oversight.inspection import service as inspection
from oversight.inspection import sources as inspection_sources
from oversight.inspection.models import LivePost
from oversight.models import FindingKind
from oversight.scoring import service as scoring
from oversight.scoring.models import AccountScore
from publishers.models import Delivery, DeliveryStatus
from registry.models import Account

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
OUTPUT = ROOT / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
AXE_REPORTS = OUTPUT / "axe"
DEMO_PASSWORD = "demo12345"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
AXE_FAIL_IMPACTS = ("serious", "critical")
STACK_TIMEOUT = 120


def unavailable(message: str) -> None:
    """Skip locally; under CI=true a missing browser test prerequisite is a failure."""
    if services.in_ci():
        pytest.fail(message + " (CI=true: browser tests are required)", pytrace=False)
    pytest.skip(message)


# ----------------------------------------------------------------------------- the live stack


@dataclass
class LiveStack:
    """The app as real processes: web (gunicorn), worker, scheduler, sandbox."""

    url: str
    sandbox_url: str
    env: dict[str, str]
    group: processes.ProcessGroup
    workdir: Path
    _app: Any = field(default=None, repr=False)

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def sandbox(self, method: str, path: str, **kw: Any) -> Any:
        response = requests.request(method, self.sandbox_url + path, timeout=30, **kw)
        response.raise_for_status()
        return response.json() if response.content else None

    def sandbox_posts(self, platform: str | None = None) -> list[dict[str, Any]]:
        return self.sandbox("GET", "/_sandbox/posts", params={"platform": platform} if platform else {})["posts"]

    def flask(self, *args: str) -> str:
        """Run ``flask --app app ARGS`` against this stack's database; returns stdout."""
        result = processes.flask_cli(self.env, *args)
        assert result.returncode == 0, f"flask {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def token(self, username: str) -> str:
        return self.flask("users", "token", username).strip().splitlines()[-1].strip()

    @property
    def app(self) -> Any:
        """A Flask app on the same database, for reading or arranging state from the test."""
        if self._app is None:
            self._app = create_app(
                {
                    "SQLALCHEMY_DATABASE_URI": self.env["DATABASE_URL"],
                    "BROKER_URL": self.env["BROKER_URL"],
                    "SECRET_KEY": self.env["SECRET_KEY"],
                    "SANDBOX_URL": self.sandbox_url,
                    "MEDIA_DIR": self.env["MEDIA_DIR"],
                }
            )
        return self._app

    @contextmanager
    def db(self) -> Iterator[Any]:
        """``with stack.db() as session:`` — commits on success."""

        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
            finally:
                db.session.remove()

    def url_for(self, endpoint: str, **values: Any) -> str | None:
        """The path of ``endpoint`` in this build, or None if no such page is registered."""

        with self.app.test_request_context():
            try:
                return url_for(endpoint, **values)
            except BuildError:
                return None

    def logs(self) -> str:
        return self.group.logs()


#: (seed, SECRET_KEY, FERNET_KEY, day) → a directory with a migrated (and seeded) database and its
#: media: made once per test process, copied for every stack (two `flask` runs fewer per stack)
_TEMPLATES: dict[tuple[bool, str, str, str], Path] = {}
#: the sandbox the template is seeded for (the demo's website feed is stored with its address);
#: each copy gets its own stack's sandbox instead (_copy_database). Nothing listens on port 9.
TEMPLATE_SANDBOX = "http://127.0.0.1:9"


def _database_template(env: dict[str, str], seed: bool) -> Path:
    """``flask db upgrade`` (+ ``flask seed-demo``) once per test process and kind of database; the
    demo's dates are whole days back from today, so a template is made again on another day."""
    key = (seed, env["SECRET_KEY"], env.get("FERNET_KEY", ""), time.strftime("%Y-%m-%d"))
    if key in _TEMPLATES:
        return _TEMPLATES[key]
    template = Path(tempfile.mkdtemp(prefix="govmedia-template-", dir="/tmp"))
    atexit.register(shutil.rmtree, template, True)
    template_env = {
        **env,
        "DATABASE_URL": f"sqlite:///{template / 'govmedia.sqlite'}",
        "MEDIA_DIR": str(template / "media"),
        "SANDBOX_URL": TEMPLATE_SANDBOX,
    }
    for args in (("db", "upgrade"), ("seed-demo",)) if seed else (("db", "upgrade"),):
        result = processes.flask_cli(template_env, *args)
        if result.returncode != 0:
            pytest.fail(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    _TEMPLATES[key] = template
    return template


def _copy_database(template: Path, workdir: Path, sandbox_url: str) -> None:
    """The template's database and media into ``workdir``, with every stored address of the
    template's sandbox (TEMPLATE_SANDBOX) pointing at this stack's sandbox, as seeding it here
    would have stored it."""
    for file in template.glob("govmedia.sqlite*"):
        shutil.copyfile(file, workdir / file.name)
    if (template / "media").is_dir():
        shutil.copytree(template / "media", workdir / "media", dirs_exist_ok=True)
    old, new = f"{TEMPLATE_SANDBOX}/", f"{sandbox_url}/"
    with contextlib.closing(sqlite3.connect(workdir / "govmedia.sqlite", timeout=30)) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for _cid, column, kind, *_rest in conn.execute(f'PRAGMA table_info("{table}")').fetchall():
                if any(t in str(kind).upper() for t in ("CHAR", "TEXT", "CLOB", "JSON")):
                    # the names come from sqlite_master, the values are bound
                    update = f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) WHERE "{column}" LIKE ?'  # noqa: S608
                    conn.execute(update, (old, new, f"%{old}%"))
        conn.commit()


@contextmanager
def start_live_stack(workdir: Path, *, seed: bool = True, **extra_env: str) -> Iterator[LiveStack]:
    """A fresh migrated + seeded SQLite database in ``workdir`` (a copy of this test process's
    template, see _database_template) and every process started on it (``seed=False``: an empty
    database, as a production install starts)."""
    workdir.mkdir(parents=True, exist_ok=True)
    web_port, sandbox_port = services.free_port(), services.free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'govmedia.sqlite'}",  # absolute path: sqlite:////tmp/…
        # the default run's broker: Kombu's SQLAlchemy transport on a second SQLite file
        "BROKER_URL": f"sqla+sqlite:///{workdir / 'broker.sqlite'}",
        "REDIS_URL": "",
        "SECRET_KEY": "browser-test-secret",
        "PORT": str(web_port),
        "SANDBOX_PORT": str(sandbox_port),
        "SANDBOX_URL": sandbox_url,
        "MEDIA_DIR": str(workdir / "media"),
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "SCHEDULER_INTERVAL_SECONDS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra_env,
    }
    for name in ("CELERY_BROKER_URL", "GOVMEDIA_TEST_DB"):
        env.pop(name, None)
    _copy_database(_database_template(env, seed), workdir, sandbox_url)
    made = processes.flask_cli(env, "broker-init")  # as `make run` does: no race for the queue rows
    assert made.returncode == 0, made.stderr
    (workdir / "logs").mkdir(exist_ok=True)
    group = processes.ProcessGroup(env, workdir / "logs")
    stack = LiveStack(f"http://127.0.0.1:{web_port}", sandbox_url, env, group, workdir)
    try:
        group.start_sandbox(sandbox_port, "--state", str(workdir / "sandbox.json"))
        group.start_web(web_port)
        group.start_worker()
        group.start_scheduler()
        health = processes.wait_http(f"{stack.url}/healthz", timeout=STACK_TIMEOUT, expect=200)
        if health is None or health.status_code != 200:
            body = health.text if health is not None else "no answer"
            pytest.fail(f"the live stack did not become healthy: {body}\n{group.logs()}", pytrace=False)
        yield stack
    finally:
        group.stop_all()
        if stack._app is not None:
            with stack._app.app_context():
                db.engine.dispose()


@pytest.fixture(scope="session")
def live_stack() -> Iterator[LiveStack]:
    """One stack for the whole browser session — one per xdist worker — (tests that change data must
    not assume a clean world)."""
    workdir = Path(tempfile.mkdtemp(prefix="govmedia-browser-", dir="/tmp"))
    try:
        with start_live_stack(workdir) as stack:
            yield stack
    finally:
        keep = OUTPUT / "live-stack-logs"
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:  # `make test` runs the browser tests on two xdist workers, each with a stack of its own
            keep = keep / worker
        shutil.rmtree(keep, ignore_errors=True)
        if (workdir / "logs").is_dir():
            shutil.copytree(workdir / "logs", keep)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def a11y_world(live_stack: LiveStack) -> dict[str, int]:
    """Non-empty pages for the accessibility and keyboard tests: a content waiting at 初审, a
    published content with a sent and a failed delivery, an open finding, accounts with
    varied last-post dates, and this quarter's scores (考评), computed by the scoring service as
    the office's 计算本期得分 does (the demo has none), so the scores pages have rows."""

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
        # a post made in the platform's app with a check hit, read as the daily inspection reads it
        reading = inspection_sources.Reading(
            account_id=weibo.id,
            source="import",
            at=now,
            ok=True,
            posts=(
                inspection_sources.SeenPost(
                    post_id="a11y-app-1",
                    published_at=now - timedelta(hours=3),
                    text="本县今冬供暖季正式开始，庆祝中华人民共合国成立七十七周年。供暖热线请见官网。" * 3,
                ),
            ),
            complete_since=datetime.max,  # an export: it covers only what it lists
        )
        inspection.apply(reading, now)
        live_post = session.scalar(sa.select(LivePost.id).where(LivePost.platform_post_id == "a11y-app-1"))
        period = scoring.parse_period(scoring.current_quarter())
        scoring.compute(period, auditor)
        score = session.scalar(
            sa.select(sa.func.max(AccountScore.id)).where(
                AccountScore.account_id == weibo.id, AccountScore.period == period.key
            )
        )
        return {
            "live_post": live_post,
            "waiting": waiting.id,
            "published": published.id,
            "account": weibo.id,
            "finding": finding.id,
            "job_failed": rejected.id,
            "job_running": running.id,
            "score": score,
        }


# ----------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (run `make browser-deps`)")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """Debian's Chromium, headless; Playwright gives every launch a new empty user-data dir."""

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Any, live_stack: LiveStack, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh context (cookies, localStorage) and page on the live stack; screenshot on failure."""
    context = browser.new_context(
        base_url=live_stack.url, locale="zh-CN", viewport={"width": 1280, "height": 900}, timezone_id=CN_TZ.key
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" and "Content Security Policy" in msg.text else None,
    )
    page.js_errors = errors  # type: ignore[attr-defined]
    try:
        yield page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            shot(page, "FAILED-" + safe_name(request.node.name))
    finally:
        context.close()


@contextmanager
def signed_in_people(
    browser: Any,
    base_url: str,
    request: pytest.FixtureRequest,
    *,
    viewport: tuple[int, int] = (1280, 900),
    timeout_ms: int = 20_000,
    csp_errors: bool = True,
    failed_prefix: str | None = None,
) -> Iterator[Callable[[str], Any]]:
    """``open_as("reviewer1")``: a signed-in page of that demo user in its own context (own cookies,
    downloads allowed); script errors (and, with ``csp_errors``, Content-Security-Policy violations)
    collect on ``page.js_errors``. Every context is closed at the end, and each page is
    screenshotted when the test failed. The journeys' ``people`` fixtures and ``as_user`` share it."""
    contexts: list[tuple[str, Any]] = []

    def open_as(username: str) -> Any:
        context = browser.new_context(
            base_url=base_url,
            locale="zh-CN",
            viewport={"width": viewport[0], "height": viewport[1]},
            timezone_id=CN_TZ.key,
            accept_downloads=True,
        )
        context.set_default_timeout(timeout_ms)
        contexts.append((username, context))
        user_page = context.new_page()
        errors: list[str] = []
        user_page.on("pageerror", lambda exc: errors.append(str(exc)))
        if csp_errors:
            user_page.on(
                "console",
                lambda msg: (
                    errors.append(msg.text) if msg.type == "error" and "Content Security Policy" in msg.text else None
                ),
            )
        user_page.js_errors = errors
        login(user_page, username)
        return user_page

    prefix = failed_prefix or f"FAILED-{safe_name(request.node.name)}"
    try:
        yield open_as
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for username, context in contexts:
                for i, open_page in enumerate(context.pages):
                    shot(open_page, f"{prefix}-{username}-{i}")
    finally:
        for _, context in contexts:
            context.close()


@pytest.fixture
def as_user(browser: Any, live_stack: LiveStack, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Any]]:
    """For journeys with several people: ``reviewer = as_user("reviewer1")`` is a signed-in page
    in its own context (own cookies), all closed at the end; screenshots of each on failure."""
    with signed_in_people(browser, live_stack.url, request, timeout_ms=15_000, csp_errors=False) as open_as:
        yield open_as


# ----------------------------------------------------------------------------- helpers


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_")[:120]


def login(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form; lands on the dashboard (or the page asked for)."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    if "/login" in page.url:
        flash = page.locator(".flash").all_inner_texts()
        raise AssertionError(f"login as {username} failed: {flash}")


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot to test-output/screenshots/NAME.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{safe_name(name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def axe_source() -> str:
    if not AXE_JS.exists():
        unavailable(f"axe-core is not installed at {AXE_JS} (run `npm ci`)")
    return AXE_JS.read_text(encoding="utf-8")


def format_violations(violations: list[dict[str, Any]], where: str) -> str:
    lines = [f"{len(violations)} serious/critical accessibility violation(s) on {where}:"]
    for v in violations:
        lines.append(f"\n[{v['impact']}] {v['id']}: {v['help']}  ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            target = " ".join(str(t) for t in node.get("target", []))
            lines.append(f"  - {target}")
            lines.append(f"    html: {node.get('html', '')[:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            if summary:
                lines.append(f"    why:  {summary}")
        if len(v["nodes"]) > 10:
            lines.append(f"  … and {len(v['nodes']) - 10} more")
    return "\n".join(lines)


def axe(
    page: Any, name: str | None = None, *, tags: tuple[str, ...] = AXE_TAGS, fail: bool = True
) -> list[dict[str, Any]]:
    """Run axe-core (AXE_TAGS: WCAG 2.0/2.1 A+AA, 2.2 AA, best practices) on the page; fail on
    serious/critical violations.

    axe is evaluated through the DevTools protocol, so the page's CSP (no inline scripts)
    stays in force. The full result goes to test-output/axe/NAME.json. Returns all violations.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        "async (opts) => await window.axe.run(document, opts)",
        {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]},
    )
    violations = result["violations"]
    name = name or page.url
    AXE_REPORTS.mkdir(parents=True, exist_ok=True)
    (AXE_REPORTS / f"{safe_name(name)}.json").write_text(
        json.dumps({"url": page.url, "violations": violations}, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    serious = [v for v in violations if v.get("impact") in AXE_FAIL_IMPACTS]
    if fail and serious:
        pytest.fail(format_violations(serious, f"{name} ({page.url})"), pytrace=False)
    return violations


def js_errors(page: Any) -> list[str]:
    return list(getattr(page, "js_errors", []))


@pytest.fixture(scope="session", autouse=True)
def _output_dirs() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def unregistered_findings(stack: LiveStack, n: int, label: str = "体外运行") -> tuple[list[int], str]:
    """``n`` new open findings of unregistered accounts, as discovery reports them: no unit in the
    ledger, so confirming asks for a 责任单位; and the name of a unit the office may choose
    (edu_operator's)."""
    uids = [f"unreg{uuid.uuid4().hex[:8]}" for _ in range(n)]
    with stack.db() as session:
        unit_name = session.scalar(sa.select(User).where(User.username == "edu_operator")).unit.name
        report = upsert_many(
            [
                FindingInput(
                    kind=FindingKind.unregistered,
                    fingerprint=f"test:{uid}",
                    evidence={"message": f"发现未备案账号“{label}{uid[-4:]}”", "platform": "douyin", "uid": uid},
                )
                for uid in uids
            ]
        )
        return [finding.id for finding in report.new], unit_name


def sqlite_path(stack: LiveStack) -> Path:
    return Path(stack.env["DATABASE_URL"].removeprefix("sqlite:///"))


def sqlite_rows(stack: LiveStack, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """A quick read of the stack's database without an app (e.g. to poll a status)."""
    with sqlite3.connect(sqlite_path(stack), timeout=30) as conn:
        return conn.execute(sql, params).fetchall()


def wait_until(
    predicate: Callable[[], Any], timeout: float = 60, message: str = "", stack: LiveStack | None = None
) -> Any:
    """Poll ``predicate`` until it returns something truthy (e.g. deliveries reaching the sandbox)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = f"\n{stack.logs()}" if stack is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message or predicate}{logs}")
        time.sleep(0.5)

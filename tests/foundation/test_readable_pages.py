"""Every page (as each demo role) and every export shows Beijing time and Chinese.

The pages are every GET page of the app without URL parameters, plus the detail pages of the
demo seed's first objects; the exports are the 台账 (CSV and XLSX). A time a person reads must not
be a UTC/ISO string (``T08:32``, ``+00:00``, ``…Z``); machine attributes (``datetime="…"``) are
fine. Words in Latin letters must be in a short allowed list (brand names, units, file types).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from auth.models import User
from auth.service import issue_token
from demo import seed
from moderation.models import Content
from oversight.models import Finding, FindingKind, FindingStatus
from registry.models import Account, Unit

UTC_TIME = re.compile(r"\d[T ]?\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z\b|[+-]00:?00)|\dT\d\d:\d\d")
#: A run of Latin letters, digits and joiners; only runs of letters alone are words (a run with
#: a digit, "_", "-", "." or "/" is an identifier, a link or a number: data, not language).
TOKEN = re.compile(r"[A-Za-z0-9_.\-/:@#]+")
LETTERS = re.compile(r"[A-Za-z]{2,}")
#: Latin words a Chinese county official reads without trouble: brand and product names,
#: units, file types, the platform's own short names.
ALLOWED_WORDS = {
    "govmedia",  # the product
    "AppID",
    "AppSecret",
    "UID",  # the platforms' own term for an account number is shown as 账号ID; kept for imports
    "ID",
    "API",
    "URL",
    "CSV",
    "XLSX",
    "YAML",  # the format of the scoring rules file
    "csv",
    "xlsx",
    "txt",
    "tsv",
    "json",
    "JSON",  # feed formats (政府网站订阅) and the media archive (批量排期)
    "RSS",
    "Atom",
    "zip",
    "doc",
    "docx",
    "UTF",  # file encodings, as the import page names them
    "GBK",
    "pdf",
    "PDF",
    "Excel",
    "WPS",
    "WCAG",
    "MB",
    "KB",
    "px",
    "AA",
    "CSRF",
    "Word",
    "App",
    "HTTPS",
    "http",
    "https",
    "www",
    "gov",
    "cn",
    "com",
}
ROLES = ("operator", "edu_operator", "reviewer1", "reviewer2", "reviewer3", "auditor", "admin")


class _Text(HTMLParser):
    """The text a person reads: no script/style, no <code>, no element marked translate="no"."""

    SKIP = frozenset({"script", "style", "code", "textarea"})
    VOID = frozenset(
        {"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr", "area", "base", "embed", "track"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        skip = tag in self.SKIP or dict(attrs).get("translate") == "no"
        self.stack.append(skip or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def readable_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def problems(where: str, text: str) -> list[str]:
    out = [f"{where}: UTC/ISO time {m.group(0)!r}" for m in UTC_TIME.finditer(text)]
    words = {t for t in TOKEN.findall(text) if LETTERS.fullmatch(t)}
    for word in sorted(words - ALLOWED_WORDS):
        out.append(f"{where}: English {word!r}")
    return out


@pytest.fixture
def demo_world(db_session: Any) -> dict[str, Any]:
    seed()
    account = db_session.scalar(sa.select(Account).order_by(Account.id))
    account.last_post_at = datetime(2026, 12, 5, 19, 33)
    # evidence as monitoring writes it: codes, ISO times, an empty list, a decision by login name
    finding = Finding(
        kind=FindingKind.closed_but_active,
        status=FindingStatus.dismissed,
        fingerprint="scan:closed_but_active",
        account_id=account.id,
        unit_id=account.unit_id,
        evidence={
            "platform": "weibo",
            "uid": account.platform_uid,
            "registered_status": "closed",
            "source": "search",
            "data_source": "probe:search",
            "last_post_at": "2026-12-05T19:33:00Z",
            "candidate_units": [],
            "accounts": [{"platform": "weibo", "uid": "x1", "status": "active"}],
            "decision": {"status": "dismissed", "at": "2026-12-05T08:00:00+00:00", "by": "auditor", "reason": "测试"},
        },
    )
    db_session.add(finding)
    db_session.commit()
    return {"finding": finding.id}


def _pages(app: Any) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.arguments or rule.rule.startswith(("/api/", "/static", "/_")):
            continue
        if rule.endpoint in {"health.healthz", "interaction_push.wechat_push"} or rule.rule.startswith("/docs"):
            continue
        paths.append(rule.rule)
    return sorted(paths)


def _detail_pages(db_session: Any) -> list[str]:
    paths = []
    account = db_session.scalar(sa.select(Account.id).order_by(Account.id))
    if account:
        paths.append(f"/registry/accounts/{account}")
    for content in db_session.scalars(sa.select(Content.id).order_by(Content.id)).all()[:3]:
        paths += [f"/contents/{content}", f"/review/{content}", f"/contents/{content}/deliveries"]

    paths += [f"/findings/{i}" for i in db_session.scalars(sa.select(Finding.id))]
    unit = db_session.scalar(sa.select(Unit.id).order_by(Unit.id))
    user = db_session.scalar(sa.select(User.id).order_by(User.id))
    paths += [f"/admin/units/{unit}", f"/admin/users/{user}", "/admin/dictionaries/leaders.tsv"]
    return paths


def _scan_as(app: Any, username: str, paths: list[str]) -> list[str]:
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": "demo12345"}).status_code == 302
    found = []
    for path in paths:
        response = client.get(path)
        if response.status_code >= 500:
            found.append(f"{username} {path}: HTTP {response.status_code}")
            continue
        if "text/html" not in response.content_type or 300 <= response.status_code < 400:
            continue
        found += problems(f"{username} {path}", readable_text(response.get_data(as_text=True)))
    return found


@pytest.mark.parametrize("username", ROLES)
def test_every_page_in_beijing_time_and_chinese(app: Any, db_session: Any, demo_world: Any, username: str) -> None:
    paths = _pages(app) + _detail_pages(db_session)
    found = _scan_as(app, username, paths)
    assert not found, "\n".join(found)


def test_ledger_exports_in_beijing_time(app: Any, db_session: Any, demo_world: Any) -> None:
    # the demo world's first account posted at 19:33 stored naive UTC: 03:33 next day in Beijing
    account = db_session.scalar(sa.select(Account).order_by(Account.id))

    auditor = db_session.scalar(sa.select(User).where(User.username == "auditor"))
    token, _ = issue_token(auditor)
    db_session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()

    text = client.get("/api/v1/reports/accounts.csv", headers=headers).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = rows[0]
    column = next(i for i, h in enumerate(header) if h.startswith("最后发布时间"))
    row = next(r for r in rows[1:] if r[header.index("系统ID")] == str(account.id))
    assert row[column].startswith("2026-12-06 03:33"), row[column]
    for r in rows:
        for cell in r:
            assert not UTC_TIME.search(cell), cell

    book = load_workbook(io.BytesIO(client.get("/api/v1/reports/accounts.xlsx", headers=headers).data))
    sheet = book.active
    header = [c.value for c in sheet[3]]  # the filed form: title, 制表单位 line, then the header
    column = next(i for i, h in enumerate(header) if str(h).startswith("最后发布时间"))
    ids = header.index("系统ID")
    [value] = [r[column].value for r in sheet.iter_rows(min_row=4) if str(r[ids].value) == str(account.id)]
    assert value == datetime(2026, 12, 6, 3, 33)


def test_finding_evidence_reads_as_chinese(app: Any, db_session: Any, demo_world: Any) -> None:
    client = app.test_client()
    client.post("/login", data={"username": "auditor", "password": "demo12345"})
    text = readable_text(client.get(f"/findings/{demo_world['finding']}").get_data(as_text=True))
    for expected in (
        "平台搜索",
        "平台探测·平台搜索",
        "已关停备案",
        "运行中",
        "2026-12-06 03:33",
        "候选单位 无",
        "网信办-刘审计",
    ):
        assert expected in " ".join(text.split()), expected

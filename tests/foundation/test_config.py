"""config.from_env(): parsing of the settings that are more than one number, and bad values
failing at startup with a message that names the variable."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from celery import current_app as celery_default

import config
from common import workdays
from config import ConfigError
from devkit.apps import make_test_app
from extensions import db
from moderation import review
from platforms import channels

VARIABLES = (
    "REVIEW_OVERDUE_HOURS",
    "REVIEW_SUPERIOR_UNIT_STAGES",
    "TOUTIAO_LEGACY_ARTICLES",
    "TOUTIAO_LEGACY_BASE_URL",
    "TOUTIAO_BASE_URL",
    "SANDBOX_URL",
    "SANDBOX_PORT",
    "EXTRA_HOLIDAYS_FILE",
    "REDIS_URL",
    "SESSION_HOURS",
    "RECONCILE_THRESHOLDS",
    "GOVMEDIA_CHECKS_DATA_DIR",
    "DISCOVERY_IMPORT_MAX_ROWS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def session_engine_disposed(app):
    """Close the session app's pooled connections at the end of the session.

    tests/conftest.py's ``app`` fixture leaves them to the garbage collector; the extra apps
    built here shift when it runs, and a PostgreSQL connection collected before pytest's
    unraisable-exception check fails the run (ResourceWarning is an error in pytest.ini).
    """
    yield

    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def new_app(session_engine_disposed):
    """create_app() on the current environment; the session's Celery app stays the default."""

    before = celery_default._get_current_object()
    yield lambda: make_test_app("sqlite://")
    before.set_default()


# ----------------------------------------------------------------------------- REVIEW_OVERDUE_HOURS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 24),
        ("", 24),
        ("36", 36),
        (" 12 ", 12),
        ("0.5", 0.5),
        ("24,24,48", (24, 24, 48)),
        ("24, 24 ,48", (24, 24, 48)),
        ("24，24，48", (24, 24, 48)),  # full-width commas typed on a Chinese keyboard
        ("8,12.5,24", (8, 12.5, 24)),
    ],
)
def test_review_overdue_hours(monkeypatch, raw, expected):
    if raw is not None:
        monkeypatch.setenv("REVIEW_OVERDUE_HOURS", raw)
    assert config.from_env()["REVIEW_OVERDUE_HOURS"] == expected


@pytest.mark.parametrize("raw", ["abc", "24,48", "24,24,48,96", "0", "-1", "24,,48", "24,0,48", "inf", "nan", "1d"])
def test_bad_review_overdue_hours_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("REVIEW_OVERDUE_HOURS", raw)
    with pytest.raises(ConfigError) as err:
        config.from_env()
    message = str(err.value)
    assert message.startswith("REVIEW_OVERDUE_HOURS=") and "24,24,48" in message


# ----------------------------------------------------------------------------- REVIEW_SUPERIOR_UNIT_STAGES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, (1, 2, 3)),  # the default: a superior unit's reviewers may take every stage (as before)
        ("", (1, 2, 3)),
        ("3", (3,)),
        ("2,3", (2, 3)),
        ("3, 2, 3", (2, 3)),
        ("2，3", (2, 3)),
        ("1,2,3", (1, 2, 3)),
        ("none", ()),
        (" None ", ()),
    ],
)
def test_review_superior_unit_stages(monkeypatch, raw, expected):
    if raw is not None:
        monkeypatch.setenv("REVIEW_SUPERIOR_UNIT_STAGES", raw)
    assert config.from_env()["REVIEW_SUPERIOR_UNIT_STAGES"] == expected


@pytest.mark.parametrize("raw", ["4", "0", "1,4", "初审", "2,,3", "all", "1;2"])
def test_bad_review_superior_unit_stages_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("REVIEW_SUPERIOR_UNIT_STAGES", raw)
    with pytest.raises(ConfigError, match=r"^REVIEW_SUPERIOR_UNIT_STAGES="):
        config.from_env()


def test_review_settings_reach_the_review_rules(monkeypatch, new_app):
    monkeypatch.setenv("REVIEW_OVERDUE_HOURS", "12,24,48")
    monkeypatch.setenv("REVIEW_SUPERIOR_UNIT_STAGES", "3")
    app = new_app()
    with app.app_context():
        assert [review.overdue_hours(s) for s in review.STAGES] == [12, 24, 48]
        assert review.superior_unit_stages() == frozenset({3})
    monkeypatch.setenv("REVIEW_SUPERIOR_UNIT_STAGES", "none")
    with new_app().app_context():
        assert review.superior_unit_stages() == frozenset()


def test_config_stages_match_the_review_stages():
    assert config.REVIEW_STAGES == review.STAGES


# ----------------------------------------------------------------------------- startup


def test_a_bad_value_stops_the_app_at_startup(monkeypatch, new_app):
    monkeypatch.setenv("REVIEW_OVERDUE_HOURS", "24h")
    with pytest.raises(ConfigError, match="REVIEW_OVERDUE_HOURS"):
        new_app()


def test_integers_name_the_variable(monkeypatch):
    monkeypatch.setenv("SESSION_HOURS", "eight")
    with pytest.raises(ConfigError, match=r"^SESSION_HOURS='eight'"):
        config.from_env()


# ----------------------------------------------------------------------------- Toutiao adapter options


def test_toutiao_legacy_is_off_by_default_and_points_at_the_sandbox():
    options = config.from_env()["ADAPTER_OPTIONS"]["toutiao"]
    assert options == {"legacy_articles": False, "legacy_base_url": "http://127.0.0.1:5100/toutiao-mp"}


def test_toutiao_legacy_default_host_follows_the_real_platform(monkeypatch):
    monkeypatch.setenv("TOUTIAO_BASE_URL", "https://open.snssdk.com")
    assert config.from_env()["ADAPTER_OPTIONS"]["toutiao"]["legacy_base_url"] == "https://mp.toutiao.com"


def test_toutiao_env_variables_reach_the_adapter(monkeypatch, new_app):
    monkeypatch.setenv("TOUTIAO_LEGACY_ARTICLES", "true")
    monkeypatch.setenv("TOUTIAO_LEGACY_BASE_URL", "https://mp.example.cn/")
    app = new_app()
    with app.app_context():
        adapter = channels.adapter_for("toutiao")
        assert adapter.options["legacy_articles"] is True
        assert adapter.options["legacy_base_url"] == "https://mp.example.cn"
        assert "publish_article" in adapter.capabilities
        # the other adapters keep their own options
        assert channels.adapter_for("wechat").options["thumb_material_type"] == "image"
    monkeypatch.setenv("TOUTIAO_LEGACY_ARTICLES", "off")
    with new_app().app_context():
        adapter = channels.adapter_for("toutiao")
        assert adapter.options["legacy_articles"] is False
        assert "publish_article" not in adapter.capabilities


@pytest.mark.parametrize(
    ("name", "raw"), [("TOUTIAO_LEGACY_ARTICLES", "maybe"), ("TOUTIAO_LEGACY_BASE_URL", "mp.toutiao.com")]
)
def test_bad_toutiao_settings_name_the_variable(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=rf"^{name}="):
        config.from_env()


# ----------------------------------------------------------------------------- EXTRA_HOLIDAYS_FILE


def test_extra_holidays_file_defaults_to_the_shipped_file():
    assert config.from_env()["EXTRA_HOLIDAYS_FILE"] == str(workdays.DEFAULT_EXTRA_FILE)
    assert workdays.DEFAULT_EXTRA_FILE.is_file()


def test_extra_holidays_file_is_checked_at_startup(monkeypatch, tmp_path, new_app):
    monkeypatch.setenv("EXTRA_HOLIDAYS_FILE", str(tmp_path / "missing.csv"))
    with pytest.raises(ConfigError, match=r"^EXTRA_HOLIDAYS_FILE：找不到"):
        config.from_env()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind\n2030-02-30,holiday\n", encoding="utf-8")
    monkeypatch.setenv("EXTRA_HOLIDAYS_FILE", str(bad))
    with pytest.raises(ConfigError, match="第 2 行"):
        new_app()
    monkeypatch.setenv("EXTRA_HOLIDAYS_FILE", "")  # empty: no extra file
    assert config.from_env()["EXTRA_HOLIDAYS_FILE"] == ""


# ----------------------------------------------------------------------------- settings read elsewhere before


def test_settings_once_read_by_their_modules_come_from_config(monkeypatch, tmp_path):
    assert config.from_env()["RECONCILE_THRESHOLDS"] == {}
    assert config.from_env()["CHECKS_DATA_DIR"] == ""
    assert config.from_env()["DISCOVERY_IMPORT_MAX_ROWS"] == 100_000
    monkeypatch.setenv("RECONCILE_THRESHOLDS", '{"flag_reachable_closed": false}')
    monkeypatch.setenv("GOVMEDIA_CHECKS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DISCOVERY_IMPORT_MAX_ROWS", "500")
    settings = config.from_env()
    assert settings["RECONCILE_THRESHOLDS"] == {"flag_reachable_closed": False}
    assert settings["CHECKS_DATA_DIR"] == str(tmp_path)
    assert settings["DISCOVERY_IMPORT_MAX_ROWS"] == 500


@pytest.mark.parametrize("raw", ["flag_reachable_closed=false", "[1, 2]", "{bad"])
def test_reconcile_thresholds_must_be_a_json_object(monkeypatch, raw):
    monkeypatch.setenv("RECONCILE_THRESHOLDS", raw)
    with pytest.raises(ConfigError, match=r"^RECONCILE_THRESHOLDS=.*JSON 对象"):
        config.from_env()


def test_only_config_reads_the_environment():
    """Settings are resolved in config.py; other app modules read current_app.config."""

    root = Path(config.__file__).resolve().parent
    # Separate programs and process launchers, not app settings: the sandbox's own command
    # line, the dev launcher passing the environment on, requests' CA-bundle convention, benches
    # and the test/bench helpers (devkit/) that find the local PostgreSQL and Redis.
    allowed = {"config.py", "devserver.py", "sandbox/__main__.py", "platforms/session.py"}
    readers = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0] in {"tests", "bench", "devkit", "node_modules", "migrations"} or rel in allowed:
            continue
        if rel.startswith(".") or "/." in rel:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                readers.append(f"{rel}:{node.lineno}")
    assert readers == []


# ----------------------------------------------------------------------------- upload limits


LIMIT_SETTINGS = ("IMPORT_MAX_ROWS", "IMPORT_MAX_COLUMNS", "IMPORT_MAX_UNPACKED_MB", "MEDIA_MAX_MB")
LIMIT_SETTINGS += ("MEDIA_MAX_PER_CONTENT", "MEDIA_RETENTION_DAYS", "DISCOVERY_IMPORT_MAX_ROWS")


@pytest.mark.parametrize("name", LIMIT_SETTINGS)
def test_limits_are_positive_integers(monkeypatch, name):
    monkeypatch.setenv(name, "7")
    assert config.from_env()[name] == 7
    for raw in ("0", "-3", "many"):
        monkeypatch.setenv(name, raw)
        with pytest.raises(ConfigError, match=rf"^{name}="):
            config.from_env()


# ----------------------------------------------------------------------------- NOTIFY_DIGEST_HOUR


@pytest.mark.parametrize(("raw", "expected"), [(None, 8), ("", 8), ("0", 0), ("23", 23), (" 7 ", 7)])
def test_notify_digest_hour(monkeypatch, raw, expected):
    if raw is not None:
        monkeypatch.setenv("NOTIFY_DIGEST_HOUR", raw)
    assert config.from_env()["NOTIFY_DIGEST_HOUR"] == expected


@pytest.mark.parametrize("raw", ["24", "-1", "8:30", "八点"])
def test_bad_notify_digest_hour_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("NOTIFY_DIGEST_HOUR", raw)
    with pytest.raises(ConfigError, match=r"^NOTIFY_DIGEST_HOUR="):
        config.from_env()

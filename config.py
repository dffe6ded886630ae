"""Configuration from environment variables only (docker-compose is the source of truth).

This is the one module that reads ``os.environ`` for the app: everything else reads
``current_app.config`` or is handed the value. README.md lists every variable.

Every setting has a documented default so that `make run` works on a fresh machine with
nothing but Python: a SQLite file under instance/, a broker that needs no server (the
SQLAlchemy transport on a second SQLite file) and the sandbox platforms on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common import workdays

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"


class ConfigError(ValueError):
    """A bad environment variable. The message names the variable; create_app() fails with it."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def _flag(name: str, default: bool) -> bool:
    """A strict boolean: 1/true/yes/on or 0/false/no/off; anything else is a ConfigError."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    word = raw.strip().lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        raise ConfigError(f"{name}={raw!r}：须为 true/false（也可 1/0、yes/no、on/off）")
    return word in TRUE_WORDS


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r}：须为整数") from None


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value <= 0:
        raise ConfigError(f"{name}={value!r}：须为正整数")
    return value


def _hour(name: str, default: int) -> int:
    value = _int(name, default)
    if not 0 <= value <= 23:
        raise ConfigError(f"{name}={value!r}：须为 0–23 之间的整点（北京时间）")
    return value


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.replace("，", ",").split(",")]


# The three reviews (moderation.review.STAGES), repeated here so config imports nothing of the app.
REVIEW_STAGES = (1, 2, 3)


def _review_overdue_hours(name: str = "REVIEW_OVERDUE_HOURS", default: int = 24) -> float | tuple[float, ...]:
    """One number for every stage ("24") or one per stage ("24,24,48" = 初审,复审,终审); hours > 0."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    usage = f"{name}={raw!r}：须为一个小时数（各环节相同，如 24）或按初审,复审,终审的三个小时数（如 24,24,48）"
    parts = _split(raw)
    if len(parts) not in (1, len(REVIEW_STAGES)):
        raise ConfigError(usage)
    hours: list[float] = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ConfigError(usage) from None
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{usage}；每个值须大于 0")
        hours.append(int(value) if value.is_integer() else value)
    return hours[0] if len(hours) == 1 else tuple(hours)


def _review_superior_unit_stages(name: str = "REVIEW_SUPERIOR_UNIT_STAGES") -> tuple[int, ...]:
    """Stages a reviewer of an ancestor unit may decide: "1,2,3" (default), "3", or "none"."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return REVIEW_STAGES
    if raw.strip().lower() == "none":
        return ()
    usage = f"{name}={raw!r}：须为逗号分隔的审核环节 1、2、3（如 3 或 2,3），或 none（只由本单位审核）"
    stages: set[int] = set()
    for part in _split(raw):
        if part not in {str(s) for s in REVIEW_STAGES}:
            raise ConfigError(usage)
        stages.add(int(part))
    return tuple(sorted(stages))


def _url(name: str, default: str) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}={raw!r}：须为 http:// 或 https:// 开头的地址")
    return raw.strip().rstrip("/")


def _json_object(name: str) -> dict[str, Any]:
    """A JSON object such as ``{"flag_reachable_closed": false}``; empty means ``{}``."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ConfigError(f'{name}={raw!r}：须为 JSON 对象，如 {{"flag_reachable_closed": false}}')
    return value


def _holidays_file(name: str = "EXTRA_HOLIDAYS_FILE") -> str:
    """The office's extra holidays/adjusted workdays; read now so a bad file fails at startup."""
    raw = os.environ.get(name)
    path = str(workdays.DEFAULT_EXTRA_FILE) if raw is None else raw.strip()
    if path:
        try:
            workdays.load_extra(path)
        except workdays.HolidayFileError as exc:
            raise ConfigError(f"{name}：{exc}") from None
    return path


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name}={raw!r}：须为 {' / '.join(choices)} 之一")
    return value


def _quiet_hours(name: str, default: str) -> str:
    """ "HH:MM-HH:MM" in Beijing time (may wrap midnight), or "" for none."""
    raw = os.environ.get(name)
    value = default if raw is None else raw.strip()
    if value == "":
        return ""
    parts = value.replace("～", "-").split("-")
    ok = len(parts) == 2 and all(len(p.split(":")) == 2 for p in parts)
    if ok:
        try:
            hh = [(int(p.split(":")[0]), int(p.split(":")[1])) for p in parts]
        except ValueError:
            ok = False
        else:
            ok = all(0 <= h < 24 and 0 <= m < 60 for h, m in hh)
    if not ok:
        raise ConfigError(f"{name}={value!r}：须为 HH:MM-HH:MM（北京时间，如 22:00-07:00），或留空表示不设免打扰")
    return value


def from_env() -> dict[str, Any]:
    """Read the configuration now (not at import time); a bad value raises ConfigError naming it."""
    env = os.environ.get
    sandbox_port = _int("SANDBOX_PORT", 5100)
    sandbox_base = env("SANDBOX_URL", f"http://127.0.0.1:{sandbox_port}")
    toutiao_base = env("TOUTIAO_BASE_URL", f"{sandbox_base}/toutiao")
    # The 2018 article call lives on mp.toutiao.com; the sandbox serves it under /toutiao-mp.
    toutiao_legacy_default = (
        f"{sandbox_base}/toutiao-mp" if toutiao_base.startswith(sandbox_base) else "https://mp.toutiao.com"
    )
    return {
        "SECRET_KEY": env("SECRET_KEY", "dev-only-change-me"),
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL", f"sqlite:///{INSTANCE / 'govmedia.sqlite'}"),
        "BROKER_URL": env("BROKER_URL", f"sqla+sqlite:///{INSTANCE / 'broker.sqlite'}"),
        "REDIS_URL": env("REDIS_URL", ""),
        # Put in front of every Redis key the app uses (the Celery broker's queues, tokens, rate
        # limits), so that two installations — or two test runs — can share one Redis. Empty: none.
        "REDIS_KEY_PREFIX": env("REDIS_KEY_PREFIX", ""),
        "FERNET_KEY": env("FERNET_KEY", ""),
        "SESSION_COOKIE_SECURE": _bool(env("SESSION_COOKIE_SECURE"), False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": _int("SESSION_HOURS", 8) * 3600,
        "LOGIN_RATE_LIMIT": env("LOGIN_RATE_LIMIT", "10 per minute"),
        # Shared by every web worker: Redis when there is one, else a counter in its own SQLite
        # file beside the database (auth/ratelimit_storage.py), never per-process memory.
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI")
        or env("REDIS_URL")
        or f"db+sqlite:///{INSTANCE / 'ratelimit.sqlite'}",
        "RATELIMIT_KEY_PREFIX": env("REDIS_KEY_PREFIX", ""),
        # Any request body; never below one media file of MEDIA_MAX_MB plus the form around it.
        "MAX_CONTENT_LENGTH": max(_int("MAX_BODY_MB", 32), _positive("MEDIA_MAX_MB", 30) + 1) * 1024 * 1024,
        "MAX_JSON_BYTES": _int("MAX_JSON_MB", 8) * 1024 * 1024,
        "SANDBOX_URL": sandbox_base,
        "PLATFORM_BASE_URLS": {
            "wechat": env("WECHAT_BASE_URL", f"{sandbox_base}/wechat"),
            "weibo": env("WEIBO_BASE_URL", f"{sandbox_base}/weibo"),
            "douyin": env("DOUYIN_BASE_URL", f"{sandbox_base}/douyin"),
            "toutiao": toutiao_base,
        },
        "PUBLIC_BASE_URL": env("PUBLIC_BASE_URL", "https://gov.example.cn"),
        "WEIBO_RIP": env("WEIBO_RIP", "127.0.0.1"),
        # The office's own open-platform apps for the OAuth flow from the account page (README).
        # The defaults are what the sandbox accepts; real apps come from the environment.
        "OAUTH_CLIENTS": {
            "weibo": {
                "client_id": env("WEIBO_APP_KEY", "sandbox-client"),
                "client_secret": env("WEIBO_APP_SECRET", "sandbox"),
            },
            "douyin": {
                "client_id": env("DOUYIN_CLIENT_KEY", "sandbox-client"),
                "client_secret": env("DOUYIN_CLIENT_SECRET", "sandbox"),
            },
            "toutiao": {
                "client_id": env("TOUTIAO_CLIENT_KEY", "sandbox-client"),
                "client_secret": env("TOUTIAO_CLIENT_SECRET", "sandbox"),
            },
        },
        # Credential health (publishers/credential_health.py): warn this many days before expiry.
        "CREDENTIAL_WARN_DAYS": _int("CREDENTIAL_WARN_DAYS", 7),
        # WeChat 群发 quotas per account (verified 订阅号: 1 a day; 服务号 followers get ≤ 4 a month).
        "WECHAT_MASS_PER_DAY": _int("WECHAT_MASS_PER_DAY", 1),
        "WECHAT_MASS_PER_MONTH": _int("WECHAT_MASS_PER_MONTH", 4),
        # Per-adapter options (docs/adapters.md). Covers go up as permanent "image" material,
        # which accepts PNG/JPEG up to 10 MB (a "thumb" must be a JPEG under 64 KB).
        # Toutiao articles through the unverified 2018 legacy call only when switched on.
        "ADAPTER_OPTIONS": {
            "wechat": {
                "thumb_material_type": env("WECHAT_THUMB_MATERIAL_TYPE", "image"),
                # stable_token force mode: the platform allows 20 a day, 30 s apart.
                "force_refresh_per_day": _int("WECHAT_FORCE_REFRESH_PER_DAY", 20),
                "force_refresh_spacing": _int("WECHAT_FORCE_REFRESH_SPACING", 30),
                # The office's 第三方平台 (open platform): 公众号 authorise it instead of handing over
                # an AppSecret, and it reads 主体名称 (api_get_authorizer_info);
                # empty = not used (docs/adapters.md).
                "component_appid": env("WECHAT_COMPONENT_APPID", ""),
                "component_appsecret": env("WECHAT_COMPONENT_APPSECRET", ""),
                "component_token": env("WECHAT_COMPONENT_TOKEN", ""),
                "component_aes_key": env("WECHAT_COMPONENT_AES_KEY", ""),
                # Where the 公众号 administrator scans (the PC page componentloginpage);
                # https://mp.weixin.qq.com in production.
                "component_login_base_url": env("WECHAT_COMPONENT_LOGIN_BASE_URL", f"{sandbox_base}/wechat"),
            },
            "douyin": {
                # 认证主体 from 获取用户的抖音身份认证标识 (cert_labels_info, scope user.cert.labels_info);
                # best effort, a refusal is "not said" (docs/adapters.md, 平台实况核对).
                "cert_labels": _flag("DOUYIN_CERT_LABELS", True),
                # 评论回复列表 requires the client's IP (not the server's) among its device parameters.
                "client_ip": env("DOUYIN_CLIENT_IP", "127.0.0.1"),
            },
            "toutiao": {
                "legacy_articles": _flag("TOUTIAO_LEGACY_ARTICLES", False),
                "legacy_base_url": _url("TOUTIAO_LEGACY_BASE_URL", toutiao_legacy_default),
            },
        },
        "SCHEDULER_INTERVAL_SECONDS": _int("SCHEDULER_INTERVAL_SECONDS", 3),
        # SQLite only: how long a connection waits for the one write lock (common/sqlite.py).
        "SQLITE_BUSY_TIMEOUT_MS": _int("SQLITE_BUSY_TIMEOUT_MS", 30_000),
        "SCHEDULER_HEARTBEAT_STALE_SECONDS": _int("SCHEDULER_HEARTBEAT_STALE_SECONDS", 60),
        # Local rules (DOMAIN.md [L]): settings, not constants.
        "FILING_DEADLINE_WORKDAYS": _int("FILING_DEADLINE_WORKDAYS", 5),
        "CLOSURE_NOTICE_WORKDAYS": _int("CLOSURE_NOTICE_WORKDAYS", 15),
        "INACTIVE_WARN_DAYS": _int("INACTIVE_WARN_DAYS", 7),
        "INACTIVE_VETO_DAYS": _int("INACTIVE_VETO_DAYS", 14),
        "ZOMBIE_DAYS": _int("ZOMBIE_DAYS", 90),
        # 互动回应 (DOMAIN.md §7.3): unanswered > N working days is overdue ([L] 5), > N days severe (3 months).
        "INTERACTION_REPLY_WORKDAYS": _int("INTERACTION_REPLY_WORKDAYS", 5),
        "INTERACTION_SEVERE_DAYS": _int("INTERACTION_SEVERE_DAYS", 90),
        "INTERACTION_POLL_HOURS": _int("INTERACTION_POLL_HOURS", 6),
        "INTERACTION_POLL_LIMIT": _int("INTERACTION_POLL_LIMIT", 200),
        "INTERACTION_WECHAT_ARTICLE_DAYS": _int("INTERACTION_WECHAT_ARTICLE_DAYS", 30),
        # Beijing days of 阅读统计 (datacube/getarticleread) read for 群发 articles sent outside govmedia; 0 = off.
        "INTERACTION_WECHAT_DATACUBE_DAYS": _int("INTERACTION_WECHAT_DATACUBE_DAYS", 7),
        # 考评 (oversight/scoring/): the monthly 抽查 share in percent (辽政办公开〔2019〕15号: ≥ 50%).
        "SPOT_CHECK_PERCENT": _positive("SPOT_CHECK_PERCENT", 50),
        # Scheduled 考评 (oversight/scoring/schedule.py): the daily run's hour (Beijing time) and the
        # day of the month from which the system draws that month's 抽查 sample.
        # The Word 通报's 公文 elements (reports/bulletin_doc.py): 发文机关 (empty = the exporter's unit),
        # the 发文字号 prefix (机关代字, e.g. "X网信通"; the form gives the number), 主送 and 抄送.
        "BULLETIN_ISSUER": env("BULLETIN_ISSUER", "").strip(),
        "BULLETIN_DOC_PREFIX": env("BULLETIN_DOC_PREFIX", "").strip(),
        "BULLETIN_ADDRESSEES": env("BULLETIN_ADDRESSEES", "各乡镇人民政府，县政府各部门，各有关单位").strip(),
        "BULLETIN_CC": env("BULLETIN_CC", "").strip(),
        # 密级 and 保密期限 printed at the top left of every Word 通报 unless the form gives others
        # (GB/T 9704-2012; empty = not classified, nothing printed). A 密级 needs a 份号 on the form.
        "BULLETIN_SECRECY": env("BULLETIN_SECRECY", "").strip(),
        "BULLETIN_SECRECY_TERM": env("BULLETIN_SECRECY_TERM", "").strip(),
        "SCORING_SCHEDULE_HOUR": _int("SCORING_SCHEDULE_HOUR", 1),
        "SPOT_CHECK_DRAW_DAY": _positive("SPOT_CHECK_DRAW_DAY", 1),
        "WECHAT_PUSH_TOKEN": env("WECHAT_PUSH_TOKEN", ""),
        "REVIEW_OVERDUE_HOURS": _review_overdue_hours(),
        "REVIEW_SUPERIOR_UNIT_STAGES": _review_superior_unit_stages(),
        "FINDING_DEADLINE_WORKDAYS": _int("FINDING_DEADLINE_WORKDAYS", 5),
        "EXTRA_HOLIDAYS_FILE": _holidays_file(),
        "MONITOR_INTERVAL_HOURS": _int("MONITOR_INTERVAL_HOURS", 24),
        "FIRST_SWEEP_MINUTES": _int("FIRST_SWEEP_MINUTES", 1),
        # Messages a worker holds per pool process (Celery's worker_prefetch_multiplier): a task
        # ready when a process frees (bench/fanout.py).
        "WORKER_PREFETCH_MULTIPLIER": _positive("WORKER_PREFETCH_MULTIPLIER", 4),
        "MONITOR_RATE_PER_MINUTE": _int("MONITOR_RATE_PER_MINUTE", 30),
        "MONITOR_RECENT_POSTS": _int("MONITOR_RECENT_POSTS", 50),
        "DISCOVERY_SEARCH_PER_MINUTE": _int("DISCOVERY_SEARCH_PER_MINUTE", 60),
        "DISCOVERY_MAX_KEYWORDS": _int("DISCOVERY_MAX_KEYWORDS", 500),
        "DISCOVERY_MAX_WAIT_SECONDS": _int("DISCOVERY_MAX_WAIT_SECONDS", 120),
        "DISCOVERY_EXTRA_KEYWORDS": env("DISCOVERY_EXTRA_KEYWORDS", ""),
        "RECONCILE_THRESHOLDS": _json_object("RECONCILE_THRESHOLDS"),
        # The check dictionaries' directory; empty = the shipped moderation/data (docs/checks.md).
        "CHECKS_DATA_DIR": env("GOVMEDIA_CHECKS_DATA_DIR", "").strip(),
        # The check automaton: empty = daachorse when installed, else pyahocorasick (docs/checks.md).
        "CHECKS_ENGINE": env("GOVMEDIA_CHECKS_ENGINE", "").strip().lower(),
        # Inspection (巡检, docs/monitoring.md): sources, pacing, windows.
        "INSPECTION_RATE_PER_MINUTE": _int("INSPECTION_RATE_PER_MINUTE", 30),
        "INSPECTION_RECENT_POSTS": _int("INSPECTION_RECENT_POSTS", 50),
        "INSPECTION_BATCH_SIZE": _int("INSPECTION_BATCH_SIZE", 20),
        "INSPECTION_STALE_HOURS": _int("INSPECTION_STALE_HOURS", 36),
        "INSPECTION_IMPORT_MAX_AGE_HOURS": _int("INSPECTION_IMPORT_MAX_AGE_HOURS", 48),
        "INSPECTION_RESCAN_DAYS": _int("INSPECTION_RESCAN_DAYS", 365),
        "INSPECTION_RESCAN_WORKERS": _int("INSPECTION_RESCAN_WORKERS", 2),
        "INSPECTION_UNREVIEWED_SINCE": env("INSPECTION_UNREVIEWED_SINCE", ""),
        "WEIBO_BIZ_ENABLED": _flag("WEIBO_BIZ_ENABLED", False),
        "WEIBO_BIZ_BASE_URL": _url("WEIBO_BIZ_BASE_URL", "https://c.api.weibo.com"),
        "WEIBO_BIZ_ACCESS_TOKEN": env("WEIBO_BIZ_ACCESS_TOKEN", ""),
        "DELIVERY_MAX_ATTEMPTS": _int("DELIVERY_MAX_ATTEMPTS", 6),
        "SENDING_LEASE_SECONDS": _int("SENDING_LEASE_SECONDS", 120),
        "ENQUEUE_STALE_SECONDS": _int("ENQUEUE_STALE_SECONDS", 60),
        # How long one deliver task goes on with the deliveries its account hands on, instead of
        # a message each (tasks/publishing.py run_line); 0: each handed on as a task of its own.
        "DELIVERY_CHAIN_SECONDS": _int("DELIVERY_CHAIN_SECONDS", 2),
        "JOB_REQUEUE_SECONDS": _int("JOB_REQUEUE_SECONDS", 60),
        "JOB_STALE_SECONDS": _int("JOB_STALE_SECONDS", 900),
        "RETRY_BASE_SECONDS": _int("RETRY_BASE_SECONDS", 5),
        "RETRY_MAX_SECONDS": _int("RETRY_MAX_SECONDS", 900),
        "STATUS_POLL_SECONDS": _int("STATUS_POLL_SECONDS", 3),
        "AMBIGUOUS_SETTLE_SECONDS": _int("AMBIGUOUS_SETTLE_SECONDS", 30),
        "ACCOUNT_BUSY_RETRY_SECONDS": _int("ACCOUNT_BUSY_RETRY_SECONDS", 20),
        "ADAPTER_TIMEOUT_SECONDS": _int("ADAPTER_TIMEOUT_SECONDS", 15),
        "MEDIA_DIR": env("MEDIA_DIR", str(INSTANCE / "media")),
        # Uploaded spreadsheets (台账 import, third-party lists): rows after the header, columns,
        # and the unpacked size of an XLSX (zip bombs). common/sheets.py applies them while reading.
        "IMPORT_MAX_ROWS": _positive("IMPORT_MAX_ROWS", 200_000),
        "IMPORT_MAX_COLUMNS": _positive("IMPORT_MAX_COLUMNS", 100),
        "IMPORT_MAX_UNPACKED_MB": _positive("IMPORT_MAX_UNPACKED_MB", 256),
        "DISCOVERY_IMPORT_MAX_ROWS": _positive("DISCOVERY_IMPORT_MAX_ROWS", 100_000),
        # Uploaded media (POST /api/v1/media, the editor): bytes per file, files per content, and
        # how long a file no content, version or job refers to is kept (flask media prune).
        "MEDIA_MAX_MB": _positive("MEDIA_MAX_MB", 30),
        "MEDIA_MAX_PER_CONTENT": _positive("MEDIA_MAX_PER_CONTENT", 20),
        "MEDIA_RETENTION_DAYS": _positive("MEDIA_RETENTION_DAYS", 30),
        "MEDIA_PRUNE_HOUR": _int("MEDIA_PRUNE_HOUR", 4),
        # The content editor saves a draft in the background every so many seconds (when changed).
        "EDITOR_AUTOSAVE_SECONDS": _positive("EDITOR_AUTOSAVE_SECONDS", 30),
        # 整改 work orders (docs/workorders.md): files per feedback, who an overdue order goes to
        # (superior = the unit's parent unit, office = 网信办, both), how often the sweep runs.
        "WORKORDER_MAX_FILES": _positive("WORKORDER_MAX_FILES", 10),
        "WORKORDER_ESCALATE_TO": _choice("WORKORDER_ESCALATE_TO", ("both", "superior", "office"), "both"),
        "WORKORDER_SWEEP_MINUTES": _positive("WORKORDER_SWEEP_MINUTES", 15),
        "REPOST_SWEEP_MINUTES": _positive("REPOST_SWEEP_MINUTES", 5),
        # Reminders (notify/, docs/workorders.md): quiet hours in Beijing time ("22:00-07:00", empty =
        # none), how soon before a deadline, how often the job runs, SMTP for e-mail.
        "NOTIFY_QUIET_HOURS": _quiet_hours("NOTIFY_QUIET_HOURS", "22:00-07:00"),
        "NOTIFY_DUE_SOON_WORKDAYS": _int("NOTIFY_DUE_SOON_WORKDAYS", 2),
        "NOTIFY_INTERVAL_MINUTES": _positive("NOTIFY_INTERVAL_MINUTES", 10),
        "NOTIFY_CREDENTIAL_EXPIRY_DAYS": _positive("NOTIFY_CREDENTIAL_EXPIRY_DAYS", 7),
        "NOTIFY_MAX_ATTEMPTS": _positive("NOTIFY_MAX_ATTEMPTS", 5),
        # 每日汇总: the Beijing hour (0–23) a digest user's e-mail reminders go out in one message.
        "NOTIFY_DIGEST_HOUR": _hour("NOTIFY_DIGEST_HOUR", 8),
        "NOTIFY_WEBHOOK_TIMEOUT_SECONDS": _positive("NOTIFY_WEBHOOK_TIMEOUT_SECONDS", 10),
        "SMTP_HOST": env("SMTP_HOST", "").strip(),
        "SMTP_PORT": _positive("SMTP_PORT", 25),
        "SMTP_USER": env("SMTP_USER", ""),
        "SMTP_PASSWORD": env("SMTP_PASSWORD", ""),
        "SMTP_SECURITY": _choice("SMTP_SECURITY", ("none", "starttls", "ssl"), "none"),
        "SMTP_FROM": env("SMTP_FROM", "govmedia@localhost"),
        "SMTP_TIMEOUT_SECONDS": _positive("SMTP_TIMEOUT_SECONDS", 15),
        # 批量排期 (intake/bulk.py, docs/intake.md): rows per file and the media zip's limits.
        "BULK_MAX_ROWS": _positive("BULK_MAX_ROWS", 10_000),
        "BULK_ZIP_MAX_MB": _positive("BULK_ZIP_MAX_MB", 200),
        "BULK_ZIP_MAX_FILES": _positive("BULK_ZIP_MAX_FILES", 1000),
        "BULK_ZIP_MAX_UNPACKED_MB": _positive("BULK_ZIP_MAX_UNPACKED_MB", 500),
        # Government website feeds (intake/feeds.py): how often, how long, how much; loopback only
        # refuses every host but 127.0.0.0/8 and ::1 (tests, the offline demo against the sandbox).
        "FEED_POLL_MINUTES": _positive("FEED_POLL_MINUTES", 30),
        "FEED_TIMEOUT_SECONDS": _positive("FEED_TIMEOUT_SECONDS", 10),
        "FEED_MAX_KB": _positive("FEED_MAX_KB", 2048),
        "FEED_LOOPBACK_ONLY": _flag("FEED_LOOPBACK_ONLY", False),
    }

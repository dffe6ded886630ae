"""Application factory: config, extensions, each package's init_app, error handlers.

Nothing here connects to anything or builds an app at import time.
"""

from __future__ import annotations

import importlib
from typing import Any

from apiflask import APIFlask
from flask import g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

import auth.ratelimit_storage  # noqa: F401 - defining its Storage registers db+sqlite:// with limits
import config as config_module
from auth.models import ROLE_LABELS
from auth.views import load_user, protect_api_session
from common import guards, pgpool, sqlite
from common.errors import CODE_BY_STATUS, MESSAGE_BY_STATUS, ApiError, error_body, readable_details
from common.timefmt import bj, keep_dates
from common.validation import http_url
from demo import seed_demo_command
from extensions import csrf, db, limiter, migrate
from health import bp as health_bp
from jobs import QueueUnavailable
from navigation import nav_items

API_PREFIX = "/api/v1"
PUBLIC_API_ENDPOINTS = {"openapi.spec", "openapi.docs", "health.healthz"}
# Pages are login-only unless listed here (secure by default).
PUBLIC_PAGE_ENDPOINTS = {
    "auth.login",
    "static",
    "health.healthz",
    "interaction_push.wechat_push",
    "interaction_push.wechat_component_push",
}


def create_app(config: dict[str, Any] | None = None) -> APIFlask:
    app = APIFlask(
        __name__,
        title="govmedia 政务新媒体台账与多渠道发布平台 API",
        version="1.0",
        spec_path=f"{API_PREFIX}/openapi.json",
        docs_path=f"{API_PREFIX}/docs",
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(config_module.from_env())
    app.config.update(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        VALIDATION_ERROR_DESCRIPTION="请求参数校验失败",
        AUTH_ERROR_DESCRIPTION="未登录或令牌无效",
        WTF_CSRF_TIME_LIMIT=None,
        JSON_AS_ASCII=False,
        SECURITY_SCHEMES={"BearerAuth": {"type": "http", "scheme": "bearer"}},
        INFO={"description": "政务新媒体台账、三审与多渠道发布的 JSON API。认证：Authorization: Bearer TOKEN。"},
    )
    if config:
        app.config.update(config)
    if str(app.config.get("SQLALCHEMY_DATABASE_URI") or "").startswith("postgresql"):
        # a socket check at checkout instead of a ping round trip (common/pgpool.py)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    guards.init_app(app)  # before any route: the bounded <int:…> converter, body and JSON limits

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"))
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    _configure_engine(app)

    _import_models()
    _init_packages(app)
    _register_app_pages(app)
    _register_error_handlers(app)
    _register_hooks(app)
    return app


MODEL_MODULES = (
    "registry.models",
    "oversight.models",
    "auth.models",
    "audit.models",
    "moderation.models",
    "platforms.models",
    "publishers.models",
    "tasks.models",
    "jobs.models",
    "oversight.inspection.models",
    "oversight.interaction.models",
    "oversight.scoring.models",
    "oversight.workorders.models",
    "notify.models",
    "reposts.models",
    "intake.models",
)


def _import_models() -> None:
    """Register every model on the metadata before mappers configure (and for Alembic)."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def _configure_engine(app: APIFlask) -> None:
    """SQLite: WAL, busy timeout, deferred reads and a late, brief write lock (common/sqlite.py);
    PostgreSQL: a socket check instead of a ping at checkout (common/pgpool.py)."""

    with app.app_context():
        sqlite.configure(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        pgpool.configure(db.engine)


#: Each package's ``init_app(app)``, in this order: its blueprints, CLI commands, job kinds and
#: hooks. Nothing registers itself on import, so this list is all the wiring there is.
PACKAGES = (
    "platforms",
    "jobs",
    "auth",
    "audit",
    "registry",
    "moderation",
    "publishers",
    "oversight",
    "oversight.inspection",
    "oversight.interaction",
    "oversight.scoring",
    "oversight.workorders",
    "reposts",
    "notify",
    "reports",
    "intake",
    "jobs.views",
    "tasks",
    "admin",
)


def _init_packages(app: APIFlask) -> None:
    for name in PACKAGES:
        importlib.import_module(name).init_app(app)


def _register_app_pages(app: APIFlask) -> None:
    """The app's own pieces: /healthz, navigation, ``flask seed-demo``."""

    csrf.exempt(health_bp)
    app.register_blueprint(health_bp)
    app.cli.add_command(seed_demo_command)
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.filters["bj"] = bj
    app.jinja_env.filters["keep_dates"] = keep_dates

    app.jinja_env.filters["http_url"] = http_url  # the only way a stored link reaches an href


def _register_hooks(app: APIFlask) -> None:
    @app.before_request
    def _authenticate() -> Any:
        load_user()
        if request.endpoint in PUBLIC_API_ENDPOINTS:
            return None
        if request.path.startswith(API_PREFIX):
            if g.user is None:
                raise ApiError(status=401, code="unauthorized")
            protect_api_session()
        elif g.user is None and request.endpoint not in PUBLIC_PAGE_ENDPOINTS and request.endpoint is not None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return None

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith(f"{API_PREFIX}/docs"):
            response.headers.setdefault(
                "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
            )
        return response


def _wants_json() -> bool:
    return request.path.startswith(API_PREFIX) or request.path == "/healthz" or request.is_json


def _register_error_handlers(app: APIFlask) -> None:
    @app.error_processor
    def _api_error(error: Any) -> Any:
        extra = error.extra_data or {}
        message = error.message
        if message == HTTP_STATUS_CODES.get(error.status_code):  # werkzeug's English reason phrase
            message = MESSAGE_BY_STATUS.get(error.status_code, message)
        body = error_body(error.status_code, message, error.detail or None, extra.get("code"))
        if not _wants_json():
            return _error_page(body, error.status_code)
        return body, error.status_code, error.headers

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        return _error_response(400, "表单已过期或缺少安全校验（CSRF），请刷新页面后重试", "csrf_failed")

    @app.errorhandler(429)
    def _too_many(error: HTTPException) -> Any:
        return _error_response(429, MESSAGE_BY_STATUS[429], CODE_BY_STATUS[429])

    @app.errorhandler(QueueUnavailable)
    def _queue_unavailable(error: QueueUnavailable) -> Any:
        # The job service only says the broker refused; answering 503 is the web layer's call.
        return _error_response(503, error.message, "unavailable")


def _error_response(status: int, message: str, code: str) -> Any:
    body = error_body(status, message, code=code)
    if _wants_json():
        return body, status
    return _error_page(body, status)


def _error_page(body: dict[str, Any], status: int) -> Any:
    """The Chinese error page: the message and the details as sentences, never raw JSON."""

    error = body["error"]
    notes = readable_details(error["details"], {role.value: label for role, label in ROLE_LABELS.items()})
    return render_template("error.html", error=error, status=status, notes=notes, back=_page_before()), status


def _page_before() -> str | None:
    """The page the person came from (the form they sent, the list they clicked in), to go back
    to: only a page of this site, and not this same address."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url) and referrer != request.url:
        return referrer
    return None

"""Application factory: config, extensions, blueprints, CLI, error handlers.

Nothing here connects to anything or builds an app at import time.
"""

from __future__ import annotations

import importlib
from typing import Any

import sqlalchemy as sa
from apiflask import APIFlask
from flask import g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

import config as config_module
from common.errors import CODE_BY_STATUS, MESSAGE_BY_STATUS, error_body
from extensions import csrf, db, limiter, migrate

API_PREFIX = "/api/v1"
PUBLIC_API_ENDPOINTS = {"openapi.spec", "openapi.docs", "health.healthz"}
# Pages are login-only unless listed here (secure by default).
PUBLIC_PAGE_ENDPOINTS = {"auth.login", "static", "health.healthz"}


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
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        SECURITY_SCHEMES={"BearerAuth": {"type": "http", "scheme": "bearer"}},
        INFO={"description": "政务新媒体台账、三审与多渠道发布的 JSON API。认证：Authorization: Bearer TOKEN。"},
    )
    if config:
        app.config.update(config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"))
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    _configure_engine(app)

    import oversight
    import platforms

    platforms.init_app(app)
    oversight.init_app(app)
    _import_models()
    _register_blueprints(app)
    _register_error_handlers(app)
    _register_hooks(app)
    _register_cli(app)

    from publishers import limits
    from tasks.celery_app import celery_init_app

    limits.register()  # platform limits become review findings (moderation → no publishers import)
    celery_init_app(app)
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
    "common.jobs",
)


def _import_models() -> None:
    """Register every model on the metadata before mappers configure (and for Alembic)."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def _configure_engine(app: APIFlask) -> None:
    """SQLite: WAL, foreign keys, and BEGIN IMMEDIATE so writers serialise instead of forking."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _register_blueprints(app: APIFlask) -> None:
    from auth.views import bp as auth_bp
    from health import bp as health_bp
    from jobs_views import api as jobs_api
    from jobs_views import pages as jobs_pages
    from moderation.views import api as moderation_api
    from moderation.views import pages as moderation_pages
    from oversight.findings_views import api as findings_api
    from oversight.findings_views import pages as findings_pages
    from publishers.views import api as publishers_api
    from publishers.views import pages as publishers_pages
    from registry.views import api as registry_api
    from registry.views import pages as registry_pages
    from reports.dashboard import bp as dashboard_bp
    from reports.views import api as reports_api
    from reports.views import pages as reports_pages

    for bp in (health_bp, registry_api, moderation_api, publishers_api, findings_api, reports_api, jobs_api):
        csrf.exempt(bp)
        app.register_blueprint(bp)
    for bp in (auth_bp, dashboard_bp, moderation_pages, publishers_pages, findings_pages, reports_pages, jobs_pages):
        app.register_blueprint(bp)
    app.register_blueprint(registry_pages)

    from navigation import nav_items

    app.jinja_env.globals["nav_items"] = nav_items
    from common.timefmt import bj

    app.jinja_env.filters["bj"] = bj


def _register_hooks(app: APIFlask) -> None:
    from auth.views import load_user, protect_api_session
    from common.errors import ApiError

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
    from flask_wtf.csrf import CSRFError

    @app.error_processor
    def _api_error(error: Any) -> Any:
        extra = error.extra_data or {}
        body = error_body(error.status_code, error.message, error.detail or None, extra.get("code"))
        if not _wants_json():
            return render_template("error.html", error=body["error"], status=error.status_code), error.status_code
        return body, error.status_code, error.headers

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        body = error_body(400, "表单已过期或缺少安全校验（CSRF），请刷新页面后重试", code="csrf_failed")
        if _wants_json():
            return body, 400
        return render_template("error.html", error=body["error"], status=400), 400

    @app.errorhandler(429)
    def _too_many(error: HTTPException) -> Any:
        body = error_body(429, MESSAGE_BY_STATUS[429], code=CODE_BY_STATUS[429])
        if _wants_json():
            return body, 429
        return render_template("error.html", error=body["error"], status=429), 429


def _register_cli(app: APIFlask) -> None:
    from audit.cli import audit_cli
    from auth.cli import users_cli
    from demo import seed_demo_command
    from publishers.cli import credentials_cli
    from registry.cli import registry_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(registry_cli)
    app.cli.add_command(credentials_cli)

    from oversight.discovery_cli import discovery_cli, monitoring_cli

    app.cli.add_command(discovery_cli)
    app.cli.add_command(monitoring_cli)

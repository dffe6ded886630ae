"""Login/logout pages and the per-request user loader for pages and the API."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from audit import service as audit
from auth import service
from auth.models import ROLE_LABELS, Role, User
from extensions import csrf, db, limiter

bp = Blueprint("auth", __name__)


def load_user() -> None:
    """Set ``g.user`` from a bearer token (API) or the session cookie."""
    g.user = None
    g.auth_via = None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        g.user = service.user_for_token(header[7:].strip())
        g.auth_via = "token" if g.user else "bad_token"
        return
    uid = session.get("uid")
    if isinstance(uid, int):
        user = db.session.get(User, uid)
        # The cookie is signed; the generation makes logout/password change/deactivation final.
        if user is not None and user.is_active and session.get("gen") == user.session_generation:
            g.user = user
            g.auth_via = "session"


def protect_api_session() -> None:
    """Cookie-authenticated API writes need the CSRF token like forms do."""
    if g.get("auth_via") == "session" and request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


#: Where each role lands after login, first match wins: its own daily work, not the statistics.
#: (One place to change it, e.g. to a to-do centre.) The dashboard stays in the menu for all.
LANDING: tuple[tuple[tuple[Role, ...], str], ...] = (
    ((Role.reviewer_1, Role.reviewer_2, Role.reviewer_3), "moderation.queue"),
    ((Role.operator,), "moderation.contents"),
    ((Role.auditor,), "findings.workbench"),
    ((Role.admin,), "admin.index"),
)


def home_for(user: User) -> str:
    """The page ``user`` lands on after login."""
    for roles, endpoint in LANDING:
        if user.has_role(*roles) and endpoint in current_app.view_functions:
            return url_for(endpoint)
    return url_for("dashboard.index")


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return None
    return target


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=lambda: "user:" + request.form.get("username", ""))
def login():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user = service.authenticate(username, password)
        if user is None:
            audit.record(
                "user:login_failed",
                object_type="users",
                after={"username": username},
                actor_label=username or "anonymous",
            )
            db.session.commit()
            flash("用户名或密码错误", "error")
            return render_template("auth/login.html", username=username), 401
        session.clear()
        session.permanent = True
        session["uid"] = user.id
        session["gen"] = user.session_generation
        audit.record("user:login", user, actor=user)
        db.session.commit()
        return redirect(_safe_next(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", username="")


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if g.get("user") is not None:
        g.user.end_sessions()  # a copy of this cookie (or any other of this user's) stops working too
        audit.record("user:logout", g.user, actor=g.user)
        db.session.commit()
    session.clear()
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))


@bp.app_context_processor
def inject_user() -> dict[str, object]:
    return {"current_user": g.get("user"), "ROLE_LABELS": ROLE_LABELS, "Role": Role}

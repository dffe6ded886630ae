"""Sessions end on the server (issue #19) and the login limit is shared by every web worker."""

from __future__ import annotations

import os

from flask.sessions import SecureCookieSessionInterface
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

import config
from auth.models import Role, User
from auth.service import hash_password
from tests.conftest import PASSWORD


def _login(app, user):
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client, client.get_cookie("session").value


def _with_cookie(app, cookie):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_cookie_copied_before_logout_stops_working(app, client, make_user):
    user = make_user(Role.operator)
    browser, cookie = _login(app, user)
    assert _signed_in(_with_cookie(app, cookie))
    assert browser.post("/logout").status_code == 302
    assert not _signed_in(_with_cookie(app, cookie))
    assert not _signed_in(browser)


def test_new_password_and_deactivation_end_existing_sessions(app, client, make_user, db_session):
    user = make_user(Role.operator)
    _, cookie = _login(app, user)
    user.password_hash = hash_password("another-password-1")
    db_session.flush()
    assert not _signed_in(_with_cookie(app, cookie))

    user.password_hash = hash_password(PASSWORD)
    db_session.flush()
    _, cookie = _login(app, user)
    assert _signed_in(_with_cookie(app, cookie))
    user.is_active = False
    db_session.flush()
    user.is_active = True  # reactivating does not bring old cookies back
    db_session.flush()
    assert not _signed_in(_with_cookie(app, cookie))


def test_cookie_carries_no_password_material(app, client, make_user):
    user = make_user(Role.operator)
    _, cookie = _login(app, user)
    data = SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie)
    assert "pwd" not in data
    flat = repr(data)
    for size in (8, 12, 16):
        assert user.password_hash[-size:] not in flat
    assert set(data) <= {"uid", "gen", "_permanent", "_flashes", "csrf_token"}


def test_session_generation_survives_a_commit(app, client, make_user, db_session):
    """The bump is seen on a user loaded fresh from the database (not only in-memory)."""

    user = make_user(Role.operator)
    before = user.session_generation
    db_session.expire_all()
    fresh = db_session.get(User, user.id)
    fresh.is_active = False
    db_session.flush()
    db_session.expire_all()
    assert db_session.get(User, user.id).session_generation == before + 1


def test_login_limit_is_shared_by_two_workers(tmp_path):
    """Two gunicorn workers are two processes: each builds its own storage from the same URI.

    With ``memory://`` each admitted 10 attempts (20 in all); the shared storage admits 10.
    """

    uri = f"db+sqlite:///{tmp_path / 'ratelimit.sqlite'}"
    workers = [FixedWindowRateLimiter(storage_from_string(uri)) for _ in range(2)]
    limit = parse("10 per minute")
    admitted = sum(workers[i % 2].hit(limit, "login", "203.0.113.9") for i in range(30))
    assert admitted == 10
    assert workers[0].hit(limit, "login", "198.51.100.1")  # another key is counted apart

    # And it is the default when there is no Redis (the embedded `make run`).

    saved = {k: os.environ.pop(k, None) for k in ("RATELIMIT_STORAGE_URI", "REDIS_URL")}
    try:
        assert config.from_env()["RATELIMIT_STORAGE_URI"].startswith("db+sqlite:///")
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/3"
        assert config.from_env()["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value
